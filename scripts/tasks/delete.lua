-- delete.lua: remove a task from Redis (hash, queue, assignment).
--
-- KEYS[1] cb:task:{id}                the task's hash
-- KEYS[2] cb:deleted:{id}             the task's tombstone
-- KEYS[3] cb:queue:tasks              sorted set: pending task ids by -priority
-- KEYS[4] cb:leases                   sorted set: in-progress ids by lease expiry
-- KEYS[5] cb:seq:events               counter: the sequence of event entry ids
-- KEYS[6] cb:stream:task.deleted      the event stream
-- KEYS[7] cb:idem:task:{eventId}      the remembered answer to this request
-- Run-time keys (the assignee is read from KEYS[1]):
--   cb:assigned:{assignee}            the assignee's tasks in progress
-- ARGV[1] the context (see lib.lua)
-- ARGV[2] task id
--
-- Leaves the tombstone KEYS[2] for 10 minutes (see restore.lua).
-- Returns {"ok": task-as-it-was} or -32004 when Redis does not have it.
K.evseq, K.idem = KEYS[5], KEYS[7]
local prev = replay()
if prev then return prev end
local id = ARGV[2]
local t = load_task(KEYS[1])
if not t then return err(-32004, 'task ' .. id .. ' not found') end
redis.call('DEL', KEYS[1])
-- The store's row goes after this script: until then a restore (at start,
-- or repairing lost data) must not bring the task back.
redis.call('SET', KEYS[2], '1', 'EX', 600)
redis.call('ZREM', KEYS[3], id)
redis.call('ZREM', KEYS[4], id)
if t.assignedTo and t.assignedTo ~= '' then redis.call('SREM', C.assigned .. t.assignedTo, id) end
local ms = now_ms()
local js = task_json(t)
emit(KEYS[6], 'task.deleted', js, ms)
return ok(js)
