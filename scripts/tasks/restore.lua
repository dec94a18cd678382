-- restore.lua: put a non-terminal task from the store back into Redis when
-- Redis lost it (it never overwrites a task Redis has).
-- ARGV[2] task JSON as the store has it: {id, text, status, priority,
-- attempts, assignedTo, createdAt, updatedAt, version, metadata?}
-- An in-progress task gets a fresh lease (C.leaseMs from now): Redis held
-- its lease, the store does not.
-- A task deleted a moment ago (cb:deleted:{id}, see delete.lua) is not
-- restored: its store row may just not be gone yet.
-- Returns {"ok": true} when restored, {"ok": false} when Redis had it or
-- it was deleted.
local t = cjson.decode(ARGV[2])
if redis.call('EXISTS', C.task .. t.id, C.deleted .. t.id) > 0 then return '{"ok":false}' end
local meta = ''
if t.metadata and t.metadata ~= cjson.null then meta = cjson.encode(t.metadata) end
local assigned = t.assignedTo or ''
redis.call('HSET', C.task .. t.id, 'id', t.id, 'text', t.text, 'status', t.status,
  'priority', tostring(t.priority), 'attempts', tostring(t.attempts or 0),
  'createdAt', t.createdAt, 'updatedAt', t.updatedAt, 'version', tostring(t.version),
  'metadata', meta, 'assignedTo', assigned, 'result', '', 'error', '')
if t.status == 'pending' then
  enqueue({id = t.id, priority = tostring(t.priority)})
else
  if assigned ~= '' then redis.call('SADD', C.assigned .. assigned, t.id) end
  if t.status == 'in_progress' then
    local f = lease_fields(t, now_ms(), nil, {})
    redis.call('HSET', C.task .. t.id, 'leaseUntil', f.leaseUntil)
  end
end
return '{"ok":true}'
