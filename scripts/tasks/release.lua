-- release.lua: give back the in-progress tasks of a worker that is gone.
-- ARGV[2] worker id, ARGV[3] cutoff unix ms (release only if the worker's
-- last heartbeat in C.instances is at or before it; "" = unconditionally,
-- for a worker that unregistered), ARGV[4] max attempts, ARGV[5] reason
-- Each task goes back to the queue, or becomes failed once it has had max
-- attempts. Returns {"ok": {"released": n, "failed": m, "skipped": bool}}.
local worker, cutoff, max = ARGV[2], ARGV[3], tonumber(ARGV[4])
if cutoff ~= '' then
  local score = redis.call('ZSCORE', C.instances, worker)
  if score and tonumber(score) > tonumber(cutoff) then
    return '{"ok":{"released":0,"failed":0,"skipped":true}}'
  end
end
local ms = now_ms()
local released, failed = 0, 0
for _, id in ipairs(redis.call('SMEMBERS', C.assigned .. worker)) do
  local t = load_task(id)
  if t and t.status == 'in_progress' and t.assignedTo == worker then
    if tonumber(t.attempts or '0') >= max then
      touch(t, ms, end_lease(t, {status = 'failed', assignedTo = '',
        error = ARGV[5] .. '; gave up after ' .. t.attempts .. ' attempts'}))
      emit('task.failed', task_json(t), ms)
      failed = failed + 1
    else
      touch(t, ms, end_lease(t, {status = 'pending', assignedTo = ''}))
      enqueue(t)
      emit('task.requeued', task_json(t), ms)
      released = released + 1
    end
  end
end
redis.call('DEL', C.assigned .. worker)
if cutoff ~= '' then redis.call('ZREM', C.instances, worker) end
return '{"ok":{"released":' .. released .. ',"failed":' .. failed .. ',"skipped":false}}'
