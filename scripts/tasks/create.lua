-- create.lua: create a pending task and queue it.
--
-- KEYS[1] cb:queue:tasks              sorted set: pending task ids by -priority
-- KEYS[2] cb:queue:notify             list: a token per task made claimable
-- KEYS[3] cb:seq:tasks                counter: the sequence part of task ids
-- KEYS[4] cb:seq:events               counter: the sequence of event entry ids
-- KEYS[5] cb:stream:task.created      the event stream
-- KEYS[6] cb:idem:task:{eventId}      the remembered answer to this request
-- Run-time keys (the id is made here, so the caller cannot name it):
--   cb:task:{id}                      the new task's hash
-- ARGV[1] the context (see lib.lua)
-- ARGV[2] text
-- ARGV[3] priority
-- ARGV[4] metadata JSON object or ""
--
-- Returns {"ok": task}. Ids are t-<redis ms><6-digit sequence>: unique across
-- instances (one counter in Redis) and sorted by creation time.
K.queue, K.notify, K.evseq, K.idem = KEYS[1], KEYS[2], KEYS[4], KEYS[6]
local prev = replay()
if prev then return prev end
local ms = now_ms()
local seq = redis.call('INCR', KEYS[3]) % 1000000
local id = 't-' .. string.format('%d%06d', ms, seq)
local at = iso(ms)
local t = {id = id, text = ARGV[2], status = 'pending', priority = ARGV[3], attempts = '0',
  createdAt = at, updatedAt = at, version = '1', metadata = ARGV[4]}
redis.call('HSET', C.task .. id, 'id', id, 'text', t.text, 'status', t.status,
  'priority', t.priority, 'attempts', '0', 'createdAt', at, 'updatedAt', at,
  'version', '1', 'metadata', t.metadata, 'assignedTo', '', 'result', '', 'error', '')
enqueue(t)
local js = task_json(t)
emit(KEYS[5], 'task.created', js, ms)
return ok(js)
