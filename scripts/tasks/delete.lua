-- delete.lua: remove a task from Redis (hash, queue, assignment).
-- ARGV[2] task id
-- Leaves cb:deleted:{id} for 10 minutes (see restore.lua).
-- Returns {"ok": task-as-it-was} or -32004 when Redis does not have it.
local prev = replay()
if prev then return prev end
local id = ARGV[2]
local t = load_task(id)
if not t then return err(-32004, 'task ' .. id .. ' not found') end
redis.call('DEL', C.task .. id)
-- The store's row goes after this script: until then a restore (at start,
-- or repairing lost data) must not bring the task back.
redis.call('SET', C.deleted .. id, '1', 'EX', 600)
redis.call('ZREM', C.queue, id)
redis.call('ZREM', C.leases, id)
if t.assignedTo and t.assignedTo ~= '' then redis.call('SREM', C.assigned .. t.assignedTo, id) end
local ms = now_ms()
local js = task_json(t)
emit('task.deleted', js, ms)
return ok(js)
