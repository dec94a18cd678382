-- expire.lua: give back the in-progress tasks whose lease ran out, as
-- release.lua does for a dead worker: each goes back to the queue, or
-- becomes failed once it has had max attempts.
-- ARGV[2] max attempts, ARGV[3] most tasks to handle in one call
-- Returns {"ok": {"tasks": [task...], "more": bool}}: the tasks changed
-- (for the store), and whether expired leases are left for another call.
local max, limit = tonumber(ARGV[2]), tonumber(ARGV[3])
local ms = now_ms()
local due = redis.call('ZRANGEBYSCORE', C.leases, '-inf', ms, 'LIMIT', 0, limit)
local out = {}
for _, id in ipairs(due) do
  local t = load_task(id)
  local until_ms = t and tonumber(t.leaseUntil or '')
  if not t or t.status ~= 'in_progress' or not until_ms then
    redis.call('ZREM', C.leases, id) -- finished or gone: nothing to expire
  elseif until_ms > ms then
    redis.call('ZADD', C.leases, until_ms, id) -- renewed: keep the index true
  else
    local worker = t.assignedTo or ''
    if worker ~= '' then redis.call('SREM', C.assigned .. worker, id) end
    local why = 'lease expired at ' .. iso(until_ms)
    if worker ~= '' then why = 'lease of ' .. worker .. ' expired at ' .. iso(until_ms) end
    if tonumber(t.attempts or '0') >= max then
      touch(t, ms, end_lease(t, {status = 'failed', assignedTo = '',
        error = why .. '; gave up after ' .. t.attempts .. ' attempts'}))
      local js = task_json(t)
      emit('task.failed', js, ms)
      out[#out + 1] = js
    else
      touch(t, ms, end_lease(t, {status = 'pending', assignedTo = ''}))
      enqueue(t)
      local js = task_json(t)
      emit('task.requeued', js, ms)
      out[#out + 1] = js
    end
  end
end
local more = 'false'
if #due == limit then more = 'true' end
return '{"ok":{"tasks":[' .. table.concat(out, ',') .. '],"more":' .. more .. '}}'
