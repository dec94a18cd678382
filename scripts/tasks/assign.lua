-- assign.lua: assign a pending task to a registered, live instance (it
-- becomes in_progress), or (ARGV[3] = "") unassign an in-progress task back
-- into the queue at its own priority and original position.
--
-- KEYS[1] cb:task:{id}                the task's hash
-- KEYS[2] cb:instance:{instanceId}    the instance's registration hash
--                                     (unused when unassigning)
-- KEYS[3] cb:assigned:{instanceId}    set: the instance's tasks in progress
--                                     (unused when unassigning)
-- KEYS[4] cb:queue:tasks              sorted set: pending task ids by -priority
-- KEYS[5] cb:queue:notify             list: a token per task made claimable
-- KEYS[6] cb:leases                   sorted set: in-progress ids by lease expiry
-- KEYS[7] cb:seq:events               counter: the sequence of event entry ids
-- KEYS[8] cb:stream:task.assigned     the event stream (task.unassigned
--                                     when unassigning)
-- KEYS[9] cb:idem:task:{eventId}      the remembered answer to this request
-- Run-time keys (when unassigning, the assignee is read from KEYS[1]):
--   cb:assigned:{assignee}            the assignee's tasks in progress
-- ARGV[1] the context (see lib.lua)
-- ARGV[2] task id
-- ARGV[3] instance id or ""
--
-- An assignment is a claim for the instance: it gets the default lease.
-- Returns {"ok": task}; -32004 not found; -32005 conflict.
K.queue, K.notify, K.leases, K.evseq, K.idem = KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[9]
local prev = replay()
if prev then return prev end
local id, inst = ARGV[2], ARGV[3]
local t = load_task(KEYS[1])
if not t then return err(-32004, 'task ' .. id .. ' not found') end
local ms = now_ms()
if inst ~= '' then
  if redis.call('EXISTS', KEYS[2]) == 0 then
    return err(-32004, 'instance ' .. inst .. ' is not registered or not alive')
  end
  if t.status ~= 'pending' then
    return err(-32005, 'task ' .. id .. ' is ' .. t.status .. '; only pending tasks can be assigned')
  end
  redis.call('ZREM', KEYS[4], id)
  touch(KEYS[1], t, ms, lease_fields(t, ms, nil, {status = 'in_progress', assignedTo = inst,
    attempts = tostring(tonumber(t.attempts or '0') + 1)}))
  redis.call('SADD', KEYS[3], id)
  local js = task_json(t)
  emit(KEYS[8], 'task.assigned', js, ms)
  return ok(js)
end
if t.status ~= 'in_progress' then
  return err(-32005, 'task ' .. id .. ' is ' .. t.status .. '; only in-progress tasks can be unassigned')
end
redis.call('SREM', C.assigned .. t.assignedTo, id)
touch(KEYS[1], t, ms, end_lease(t, {status = 'pending', assignedTo = ''}))
enqueue(t)
local js = task_json(t)
emit(KEYS[8], 'task.unassigned', js, ms)
return ok(js)
