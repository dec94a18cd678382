-- restore.lua: put a non-terminal task from the store back into Redis when
-- Redis lost it (it never overwrites a task Redis has).
--
-- KEYS[1] cb:task:{id}                the task's hash
-- KEYS[2] cb:deleted:{id}             the task's tombstone (see delete.lua)
-- KEYS[3] cb:assigned:{assignedTo}    set: the assignee's tasks in progress
--                                     (unused when the task has none)
-- KEYS[4] cb:queue:tasks              sorted set: pending task ids by -priority
-- KEYS[5] cb:queue:notify             list: a token per task made claimable
-- KEYS[6] cb:leases                   sorted set: in-progress ids by lease expiry
-- ARGV[1] the context (see lib.lua)
-- ARGV[2] task JSON as the store has it: {id, text, status, priority,
--         attempts, assignedTo, createdAt, updatedAt, version, metadata?}
--
-- An in-progress task gets a fresh lease (C.leaseMs from now): Redis held
-- its lease, the store does not.
-- A task deleted a moment ago (its tombstone KEYS[2] is set) is not
-- restored: its store row may just not be gone yet.
-- Returns {"ok": true} when restored, {"ok": false} when Redis had it or
-- it was deleted.
K.queue, K.notify, K.leases = KEYS[4], KEYS[5], KEYS[6]
local t = cjson.decode(ARGV[2])
if redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 then return '{"ok":false}' end
local meta = ''
if t.metadata and t.metadata ~= cjson.null then meta = cjson.encode(t.metadata) end
local assigned = t.assignedTo or ''
-- Empty fields are left out, as create.lua does (load_task reads them as
-- empty); a restored task is never finished, so it has no result or error.
local fields = {KEYS[1], 'id', t.id, 'text', t.text, 'status', t.status,
  'priority', tostring(t.priority), 'attempts', tostring(t.attempts or 0),
  'createdAt', t.createdAt, 'updatedAt', t.updatedAt, 'version', tostring(t.version)}
if meta ~= '' then
  fields[#fields + 1] = 'metadata'
  fields[#fields + 1] = meta
end
if assigned ~= '' then
  fields[#fields + 1] = 'assignedTo'
  fields[#fields + 1] = assigned
end
redis.call('HSET', unpack(fields))
if t.status == 'pending' then
  enqueue({id = t.id, priority = tostring(t.priority)})
else
  if assigned ~= '' then redis.call('SADD', KEYS[3], t.id) end
  if t.status == 'in_progress' then
    local f = lease_fields(t, now_ms(), nil, {})
    redis.call('HSET', KEYS[1], 'leaseUntil', f.leaseUntil)
  end
end
return '{"ok":true}'
