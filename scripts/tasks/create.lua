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
-- Returns {"ok": task} (a replay: the same bytes, see created_answer). Ids
-- are t-<redis ms><6-digit sequence>: unique across instances (one counter
-- in Redis) and sorted by creation time.
K.queue, K.notify, K.evseq, K.idem = KEYS[1], KEYS[2], KEYS[4], KEYS[6]

-- The answer to a create is the task.created event's payload, which the
-- stream keeps for events.retention (24 h, as long as the answer is
-- remembered): the remembered answer is a reference to it,
-- '@<entry id> <task id>' (about 50 bytes instead of the task's JSON
-- again). A replay reads the payload back from the entry, byte for byte.
-- Should the entry be gone (events.retention set shorter), the replay
-- answers the task as it is now, and not found if it is gone too.
local function created_answer(ref)
  local entry, tid = string.match(ref, '^@(%S+) (%S+)$')
  local es = redis.call('XRANGE', KEYS[5], entry, entry)
  if #es == 1 then
    local fv, env = es[1][2], nil
    for i = 1, #fv, 2 do
      if fv[i] == C.field then env = fv[i + 1] end
    end
    -- env is '{"type":"task.created","payload":' .. payload .. tail (emit);
    -- the tail starts at the last occurrence of its metadata id.
    local head = '{"type":"task.created","payload":'
    local mark = ',"metadata":{"id":' .. cjson.encode(C.eventId .. '/task.created/1')
    local at, from = nil, 1
    while env do
      local s = string.find(env, mark, from, true)
      if not s then break end
      at, from = s, s + 1
    end
    if at and string.sub(env, 1, #head) == head then
      return '{"ok":' .. string.sub(env, #head + 1, at - 1) .. '}'
    end
  end
  local cur = load_task(C.task .. tid)
  if cur then return '{"ok":' .. task_json(cur) .. '}' end
  return err(-32004, 'task ' .. tid .. ' not found')
end

local prev = replay()
if prev then
  if string.sub(prev, 1, 1) == '@' then return created_answer(prev) end
  return prev -- remembered whole (before answers were references)
end
local ms = now_ms()
local seq = redis.call('INCR', KEYS[3]) % 1000000
local id = 't-' .. string.format('%d%06d', ms, seq)
local at = iso(ms)
local t = {id = id, text = ARGV[2], status = 'pending', priority = ARGV[3], attempts = '0',
  createdAt = at, updatedAt = at, version = '1', metadata = ARGV[4]}
-- Empty fields (no metadata; assignedTo, result and error of a pending
-- task) are left out: load_task reads them as empty.
local fields = {C.task .. id, 'id', id, 'text', t.text, 'status', t.status,
  'priority', t.priority, 'attempts', '0', 'createdAt', at, 'updatedAt', at, 'version', '1'}
if t.metadata ~= '' then
  fields[#fields + 1] = 'metadata'
  fields[#fields + 1] = t.metadata
end
redis.call('HSET', unpack(fields))
enqueue(t)
local js = task_json(t)
local entry = emit(KEYS[5], 'task.created', js, ms)
if C.eventId ~= '' then
  redis.call('SET', K.idem, '@' .. entry .. ' ' .. id, 'EX', C.idemTtl)
end
return '{"ok":' .. js .. '}'
