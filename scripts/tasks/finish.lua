-- finish.lua: complete or fail an in-progress task, once, by its assignee.
--
-- KEYS[1] cb:task:{id}                the task's hash
-- KEYS[2] cb:leases                   sorted set: in-progress ids by lease expiry
-- KEYS[3] cb:assigned:{workerId}      set: the worker's tasks in progress
--                                     (unused when ARGV[3] is "")
-- KEYS[4] cb:seq:events               counter: the sequence of event entry ids
-- KEYS[5] cb:stream:task.{status}     the event stream (status = ARGV[4])
-- KEYS[6] cb:idem:task:{eventId}      the remembered answer to this request
-- Run-time keys (when ARGV[3] is "", the assignee is read from KEYS[1]):
--   cb:assigned:{assignee}            the assignee's tasks in progress
-- ARGV[1] the context (see lib.lua)
-- ARGV[2] task id
-- ARGV[3] workerId ("" = not checked)
-- ARGV[4] "completed" or "failed"
-- ARGV[5] result JSON ("" = none) or error text
-- ARGV[6] seconds the finished task stays in Redis (then only in the store)
--
-- Returns {"ok": task} or an error: -32004 not found, -32005 conflict.
K.leases, K.evseq, K.idem = KEYS[2], KEYS[4], KEYS[6]
local prev = replay()
if prev then return prev end
local id, worker, status = ARGV[2], ARGV[3], ARGV[4]
local t = load_task(KEYS[1])
if not t then return err(-32004, 'task ' .. id .. ' not found') end
if t.status ~= 'in_progress' then
  return err(-32005, 'task ' .. id .. ' is ' .. t.status .. ', not in_progress')
end
if worker ~= '' and t.assignedTo ~= worker then
  return err(-32005, 'task ' .. id .. ' is assigned to ' .. t.assignedTo .. ', not ' .. worker)
end
local ms = now_ms()
local fields = end_lease(t, {status = status})
if status == 'completed' then fields.result = ARGV[5] else fields.error = ARGV[5] end
local assigned = KEYS[3]
if worker == '' then assigned = C.assigned .. t.assignedTo end
redis.call('SREM', assigned, id)
touch(KEYS[1], t, ms, fields)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]))
local js = task_json(t)
emit(KEYS[5], 'task.' .. status, js, ms)
return ok(js)
