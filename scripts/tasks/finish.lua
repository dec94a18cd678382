-- finish.lua: complete or fail an in-progress task, once, by its assignee.
-- ARGV[2] task id, ARGV[3] workerId ("" = not checked), ARGV[4] "completed"
-- or "failed", ARGV[5] result JSON ("" = none) or error text,
-- ARGV[6] seconds the finished task stays in Redis (then only in the store)
-- Returns {"ok": task} or an error: -32004 not found, -32005 conflict.
local prev = replay()
if prev then return prev end
local id, worker, status = ARGV[2], ARGV[3], ARGV[4]
local t = load_task(id)
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
redis.call('SREM', C.assigned .. t.assignedTo, id)
touch(t, ms, fields)
redis.call('EXPIRE', C.task .. id, tonumber(ARGV[6]))
local js = task_json(t)
emit('task.' .. status, js, ms)
return ok(js)
