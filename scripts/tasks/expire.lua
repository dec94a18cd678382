-- expire.lua: give back the in-progress tasks whose lease ran out, as
-- release.lua does for a dead worker: each goes back to the queue, or
-- becomes failed once it has had max attempts.
--
-- KEYS[1] cb:leases                   sorted set: in-progress ids by lease expiry
-- KEYS[2] cb:queue:tasks              sorted set: pending task ids by -priority
-- KEYS[3] cb:queue:notify             list: a token per task made claimable
-- KEYS[4] cb:seq:events               counter: the sequence of event entry ids
-- KEYS[5] cb:stream:task.requeued     the event stream of requeued tasks
-- KEYS[6] cb:stream:task.failed       the event stream of failed tasks
-- Run-time keys (the ids are read from KEYS[1], each assignee from its task):
--   cb:task:{id}                      the hash of each task whose lease ran out
--   cb:assigned:{assignee}            the assignee's tasks in progress
-- ARGV[1] the context (see lib.lua)
-- ARGV[2] max attempts
-- ARGV[3] most tasks to handle in one call
--
-- Returns {"ok": {"tasks": [task...], "more": bool}}: the tasks changed
-- (for the store), and whether expired leases are left for another call.
K.leases, K.queue, K.notify, K.evseq = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local max, limit = tonumber(ARGV[2]), tonumber(ARGV[3])
local ms = now_ms()
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ms, 'LIMIT', 0, limit)
local out = {}
for _, id in ipairs(due) do
  local key = C.task .. id
  local t = load_task(key)
  local until_ms = t and tonumber(t.leaseUntil or '')
  if not t or t.status ~= 'in_progress' or not until_ms then
    redis.call('ZREM', KEYS[1], id) -- finished or gone: nothing to expire
  elseif until_ms > ms then
    redis.call('ZADD', KEYS[1], until_ms, id) -- renewed: keep the index true
  else
    local worker = t.assignedTo or ''
    if worker ~= '' then redis.call('SREM', C.assigned .. worker, id) end
    local why = 'lease expired at ' .. iso(until_ms)
    if worker ~= '' then why = 'lease of ' .. worker .. ' expired at ' .. iso(until_ms) end
    if tonumber(t.attempts or '0') >= max then
      touch(key, t, ms, end_lease(t, {status = 'failed', assignedTo = '',
        error = why .. '; gave up after ' .. t.attempts .. ' attempts'}))
      local js = task_json(t)
      emit(KEYS[6], 'task.failed', js, ms)
      out[#out + 1] = js
    else
      touch(key, t, ms, end_lease(t, {status = 'pending', assignedTo = ''}))
      enqueue(t)
      local js = task_json(t)
      emit(KEYS[5], 'task.requeued', js, ms)
      out[#out + 1] = js
    end
  end
end
local more = 'false'
if #due == limit then more = 'true' end
return '{"ok":{"tasks":[' .. table.concat(out, ',') .. '],"more":' .. more .. '}}'
