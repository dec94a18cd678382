-- update.lua: change text, status, priority and/or metadata (merged).
-- ARGV[2] task id, ARGV[3] updates JSON object {text?, status?, priority?, metadata?}
-- Returns {"ok": task}; -32004 not found; -32005 a completed task's status
-- cannot change. A priority change re-scores a pending task; a status
-- change moves the task into or out of the queue; a task that becomes
-- in_progress gets the default lease, one that leaves it loses its lease.
local prev = replay()
if prev then return prev end
local id = ARGV[2]
local u = cjson.decode(ARGV[3])
local t = load_task(id)
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
touch(t, ms, fields)
if t.status == 'pending' then
  enqueue(t)
elseif was == 'pending' then
  redis.call('ZREM', C.queue, id)
end
local js = task_json(t)
emit('task.updated', js, ms)
return ok(js)
