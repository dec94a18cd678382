-- assign.lua: assign a pending task to a registered, live instance (it
-- becomes in_progress), or (ARGV[3] = "") unassign an in-progress task back
-- into the queue at its own priority and original position.
-- ARGV[2] task id, ARGV[3] instance id or ""
-- An assignment is a claim for the instance: it gets the default lease.
-- Returns {"ok": task}; -32004 not found; -32005 conflict.
local prev = replay()
if prev then return prev end
local id, inst = ARGV[2], ARGV[3]
local t = load_task(id)
if not t then return err(-32004, 'task ' .. id .. ' not found') end
local ms = now_ms()
if inst ~= '' then
  if redis.call('EXISTS', C.instance .. inst) == 0 then
    return err(-32004, 'instance ' .. inst .. ' is not registered or not alive')
  end
  if t.status ~= 'pending' then
    return err(-32005, 'task ' .. id .. ' is ' .. t.status .. '; only pending tasks can be assigned')
  end
  redis.call('ZREM', C.queue, id)
  touch(t, ms, lease_fields(t, ms, nil, {status = 'in_progress', assignedTo = inst,
    attempts = tostring(tonumber(t.attempts or '0') + 1)}))
  redis.call('SADD', C.assigned .. inst, id)
  local js = task_json(t)
  emit('task.assigned', js, ms)
  return ok(js)
end
if t.status ~= 'in_progress' then
  return err(-32005, 'task ' .. id .. ' is ' .. t.status .. '; only in-progress tasks can be unassigned')
end
redis.call('SREM', C.assigned .. t.assignedTo, id)
touch(t, ms, end_lease(t, {status = 'pending', assignedTo = ''}))
enqueue(t)
local js = task_json(t)
emit('task.unassigned', js, ms)
return ok(js)
