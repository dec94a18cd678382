-- claim.lua: atomically claim the highest-priority pending tasks (FIFO within
-- a priority: the queue scores by -priority, ties ordered by id = age).
-- ARGV[2] workerId, ARGV[3] max tasks, ARGV[4] lease in ms ("" = C.leaseMs)
-- Every claimed task gets a lease (leaseUntil, and its entry in C.leases):
-- unless renewed, the reaper gives it back when the lease runs out.
-- Returns {"ok": {"tasks": [task...]}}.
local prev = replay()
if prev then return prev end
local worker, max = ARGV[2], tonumber(ARGV[3])
local ms = now_ms()
local out = {}
while #out < max do
  local popped = redis.call('ZPOPMIN', C.queue)
  if #popped == 0 then break end
  local t = load_task(popped[1])
  if t and t.status == 'pending' then
    touch(t, ms, lease_fields(t, ms, ARGV[4], {status = 'in_progress', assignedTo = worker,
      attempts = tostring(tonumber(t.attempts or '0') + 1)}))
    redis.call('SADD', C.assigned .. worker, t.id)
    local js = task_json(t)
    emit('task.claimed', js, ms)
    out[#out + 1] = js
  end
end
return ok('{"tasks":[' .. table.concat(out, ',') .. ']}')
