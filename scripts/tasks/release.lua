-- release.lua: give back the in-progress tasks of a worker that is gone.
--
-- KEYS[1] cb:assigned:{workerId}      set: the worker's tasks in progress
-- KEYS[2] cb:instances                sorted set: instance ids by last heartbeat
-- KEYS[3] cb:queue:tasks              sorted set: pending task ids by -priority
-- KEYS[4] cb:queue:notify             list: a token per task made claimable
-- KEYS[5] cb:leases                   sorted set: in-progress ids by lease expiry
-- KEYS[6] cb:seq:events               counter: the sequence of event entry ids
-- KEYS[7] cb:stream:task.requeued     the event stream of requeued tasks
-- KEYS[8] cb:stream:task.failed       the event stream of failed tasks
-- Run-time keys (the ids are read from KEYS[1]):
--   cb:task:{id}                      the hash of each of the worker's tasks
-- ARGV[1] the context (see lib.lua)
-- ARGV[2] worker id
-- ARGV[3] cutoff unix ms (release only if the worker's last heartbeat in
--         KEYS[2] is at or before it; "" = unconditionally, for a worker
--         that unregistered)
-- ARGV[4] max attempts
-- ARGV[5] reason
--
-- Each task goes back to the queue, or becomes failed once it has had max
-- attempts. Returns {"ok": {"released": n, "failed": m, "skipped": bool}}.
K.queue, K.notify, K.leases, K.evseq = KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local worker, cutoff, max = ARGV[2], ARGV[3], tonumber(ARGV[4])
if cutoff ~= '' then
  local score = redis.call('ZSCORE', KEYS[2], worker)
  if score and tonumber(score) > tonumber(cutoff) then
    return '{"ok":{"released":0,"failed":0,"skipped":true}}'
  end
end
local ms = now_ms()
local released, failed = 0, 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = C.task .. id
  local t = load_task(key)
  if t and t.status == 'in_progress' and t.assignedTo == worker then
    if tonumber(t.attempts or '0') >= max then
      touch(key, t, ms, end_lease(t, {status = 'failed', assignedTo = '',
        error = ARGV[5] .. '; gave up after ' .. t.attempts .. ' attempts'}))
      emit(KEYS[8], 'task.failed', task_json(t), ms)
      failed = failed + 1
    else
      touch(key, t, ms, end_lease(t, {status = 'pending', assignedTo = ''}))
      enqueue(t)
      emit(KEYS[7], 'task.requeued', task_json(t), ms)
      released = released + 1
    end
  end
end
redis.call('DEL', KEYS[1])
if cutoff ~= '' then redis.call('ZREM', KEYS[2], worker) end
return '{"ok":{"released":' .. released .. ',"failed":' .. failed .. ',"skipped":false}}'
