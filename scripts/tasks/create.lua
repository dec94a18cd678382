-- create.lua: create a pending task and queue it.
-- ARGV[2] text, ARGV[3] priority, ARGV[4] metadata JSON object or ""
-- Returns {"ok": task}. Ids are t-<redis ms><6-digit sequence>: unique across
-- instances (one counter in Redis) and sorted by creation time.
local prev = replay()
if prev then return prev end
local ms = now_ms()
local seq = redis.call('INCR', C.seq) % 1000000
local id = 't-' .. string.format('%d%06d', ms, seq)
local at = iso(ms)
local t = {id = id, text = ARGV[2], status = 'pending', priority = ARGV[3], attempts = '0',
  createdAt = at, updatedAt = at, version = '1', metadata = ARGV[4]}
redis.call('HSET', C.task .. id, 'id', id, 'text', t.text, 'status', t.status,
  'priority', t.priority, 'attempts', '0', 'createdAt', at, 'updatedAt', at,
  'version', '1', 'metadata', t.metadata, 'assignedTo', '', 'result', '', 'error', '')
enqueue(t)
local js = task_json(t)
emit('task.created', js, ms)
return ok(js)
