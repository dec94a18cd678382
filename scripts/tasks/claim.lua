-- claim.lua: atomically claim the highest-priority pending tasks (FIFO within
-- a priority: the queue scores by -priority, ties ordered by id = age).
--
-- KEYS[1] cb:queue:tasks              sorted set: pending task ids by -priority
-- KEYS[2] cb:leases                   sorted set: in-progress ids by lease expiry
-- KEYS[3] cb:assigned:{workerId}      set: the worker's tasks in progress
-- KEYS[4] cb:seq:events               counter: the sequence of event entry ids
-- KEYS[5] cb:stream:task.claimed      the event stream
-- KEYS[6] cb:idem:task:{eventId}      the remembered answer to this request
-- Run-time keys (the ids are popped from KEYS[1] here):
--   cb:task:{id}                      the hash of each task claimed
-- ARGV[1] the context (see lib.lua)
-- ARGV[2] workerId
-- ARGV[3] max tasks
-- ARGV[4] lease in ms ("" = C.leaseMs)
--
-- Every claimed task gets a lease (leaseUntil, and its entry in KEYS[2]):
-- unless renewed, the reaper gives it back when the lease runs out.
-- Returns {"ok": {"tasks": [task...]}}.
K.queue, K.leases, K.evseq, K.idem = KEYS[1], KEYS[2], KEYS[4], KEYS[6]
local prev = replay()
if prev then return prev end
local worker, max = ARGV[2], tonumber(ARGV[3])
local ms = now_ms()
local out = {}
while #out < max do
  local popped = redis.call('ZPOPMIN', KEYS[1])
  if #popped == 0 then break end
  local key = C.task .. popped[1]
  local t = load_task(key)
  if t and t.status == 'pending' then
    touch(key, t, ms, lease_fields(t, ms, ARGV[4], {status = 'in_progress', assignedTo = worker,
      attempts = tostring(tonumber(t.attempts or '0') + 1)}))
    redis.call('SADD', KEYS[3], t.id)
    local js = task_json(t)
    emit(KEYS[5], 'task.claimed', js, ms)
    out[#out + 1] = js
  end
end
return ok('{"tasks":[' .. table.concat(out, ',') .. ']}')
