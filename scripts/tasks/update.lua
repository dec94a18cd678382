-- update.lua: change text, status, priority and/or metadata (merged).
--
-- KEYS[1] cb:task:{id}                the task's hash
-- KEYS[2] cb:queue:tasks              sorted set: pending task ids by -priority
-- KEYS[3] cb:queue:notify             list: a token per task made claimable
-- KEYS[4] cb:leases                   sorted set: in-progress ids by lease expiry
-- KEYS[5] cb:seq:events               counter: the sequence of event entry ids
-- KEYS[6] cb:stream:task.updated      the event stream
-- KEYS[7] cb:idem:task:{eventId}      the remembered answer to this request
-- Run-time keys (the assignee is read from KEYS[1]):
--   cb:assigned:{assignee}            the assignee's tasks, when the task
--                                     goes back to pending
-- ARGV[1] the context (see lib.lua)
-- ARGV[2] task id
-- ARGV[3] updates JSON object {text?, status?, priority?, metadata?}
--
-- Returns {"ok": task}; -32004 not found; -32005 a completed task's status
-- cannot change. A priority change re-scores a pending task; a status
-- change moves the task into or out of the queue; a task that becomes
-- in_progress gets the default lease, one that leaves it loses its lease.
K.queue, K.notify, K.leases, K.evseq, K.idem = KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[7]
local prev = replay()
if prev then return prev end
local id = ARGV[2]
local u = cjson.decode(ARGV[3])
local t = load_task(KEYS[1])
if not t then return err(-32004, 'task ' .. id .. ' not found') end
if u.status and u.status ~= t.status and t.status == 'completed' then
  return err(-32005, 'task ' .. id .. ' is completed; its status cannot change')
end
local fields = {}
if u.text then fields.text = u.text end
if u.priority then fields.priority = tostring(u.priority) end
if u.metadata then
  local m = {}
  if t.metadata and t.metadata ~= '' then m = cjson.decode(t.metadata) end
  for k, v in pairs(u.metadata) do m[k] = v end
  fields.metadata = cjson.encode(m)
end
local was = t.status
if u.status and u.status ~= was then
  fields.status = u.status
  if u.status == 'pending' then
    fields.assignedTo = ''
    if t.assignedTo and t.assignedTo ~= '' then redis.call('SREM', C.assigned .. t.assignedTo, id) end
  end
end
local ms = now_ms()
if fields.status == 'in_progress' then
  lease_fields(t, ms, nil, fields)
elseif fields.status and was == 'in_progress' then
  end_lease(t, fields)
end
touch(KEYS[1], t, ms, fields)
if t.status == 'pending' then
  enqueue(t)
elseif was == 'pending' then
  redis.call('ZREM', KEYS[2], id)
end
local js = task_json(t)
emit(KEYS[6], 'task.updated', js, ms)
return ok(js)
