-- renew.lua: extend the lease of an in-progress task, by its assignee.
--
-- KEYS[1] cb:task:{id}                the task's hash
-- KEYS[2] cb:leases                   sorted set: in-progress ids by lease expiry
-- KEYS[3] cb:idem:task:{eventId}      the remembered answer to this request
-- ARGV[1] the context (see lib.lua)
-- ARGV[2] task id
-- ARGV[3] workerId ("" = not checked)
-- ARGV[4] lease in ms from now ("" = C.leaseMs)
--
-- The lease is hot state only: the task's version and the store are not
-- touched, and no event is emitted.
-- Returns {"ok": task}; -32004 not found; -32005 not in progress or
-- assigned to another worker (the lease already ran out and the task went
-- back to the queue, or it was finished).
K.leases, K.idem = KEYS[2], KEYS[3]
local prev = replay()
if prev then return prev end
local id, worker = ARGV[2], ARGV[3]
local t = load_task(KEYS[1])
if not t then return err(-32004, 'task ' .. id .. ' not found') end
if t.status ~= 'in_progress' then
  return err(-32005, 'task ' .. id .. ' is ' .. t.status .. ', not in_progress; its lease cannot be renewed')
end
if worker ~= '' and t.assignedTo ~= worker then
  return err(-32005, 'task ' .. id .. ' is assigned to ' .. t.assignedTo .. ', not ' .. worker)
end
local f = lease_fields(t, now_ms(), ARGV[4], {})
t.leaseUntil = f.leaseUntil
redis.call('HSET', KEYS[1], 'leaseUntil', f.leaseUntil)
return ok(task_json(t))
