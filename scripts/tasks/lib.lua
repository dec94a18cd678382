-- lib.lua: shared helpers prepended to every task script; not run alone.
--
-- Every key a task script touches is one of its KEYS (see the header of
-- each script), built in Go by the key builders of package protocol, except
-- the run-time keys a header lists: keys named by ids the script reads
-- from Redis (those are the keys that keep a script from being Redis
-- Cluster-safe unless all of them share one hash tag). A script names its
-- KEYS for these helpers by setting fields of K before using them:
--   K.queue   cb:queue:tasks           (enqueue)
--   K.notify  cb:queue:notify          (enqueue)
--   K.leases  cb:leases                (lease_fields, end_lease)
--   K.evseq   cb:seq:events            (emit)
--   K.idem    cb:idem:task:{eventId}   (replay, remember; unused when the
--                                      context's eventId is "")
--
-- ARGV[1] of every task script is a JSON "context" built in Go:
--   task, assigned: the prefixes of cb:task:{id} and cb:assigned:{worker},
--     for run-time keys only
--   field: the stream entry field of the envelope
--   source: the instance that runs the script
--   eventId: the request's event id ("" = no idempotency)
--   idemTtl: seconds a result is remembered for a replayed request
--   leaseMs: the default lease of a claim (tasks.lease), in ms
-- Every script returns a JSON string: {"ok": ...} or
-- {"err": {"code": n, "message": s}}.
local C = cjson.decode(ARGV[1])
local K = {}

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- iso formats unix ms as RFC 3339 UTC with milliseconds.
local function iso(ms)
  local s = math.floor(ms / 1000)
  local frac = ms % 1000
  local days = math.floor(s / 86400)
  local rem = s % 86400
  local z = days + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  if m <= 2 then y = y + 1 end
  return string.format('%04d-%02d-%02dT%02d:%02d:%02d.%03dZ', y, m, d,
    math.floor(rem / 3600), math.floor((rem % 3600) / 60), rem % 60, frac)
end

local function err(code, msg)
  return cjson.encode({err = {code = code, message = msg}})
end

-- optional_fields are the task hash fields that are only stored when not
-- empty; load_task and the Go reader (fromHash) take a missing one as "".
local optional_fields = {'metadata', 'assignedTo', 'result', 'error', 'leaseUntil'}

-- load_task reads the task hash at key, or nil when there is none.
local function load_task(key)
  local h = redis.call('HGETALL', key)
  if #h == 0 then return nil end
  local t = {}
  for i = 1, #h, 2 do t[h[i]] = h[i + 1] end
  -- Fields with nothing in them are not stored (create and restore leave
  -- them out, to keep a pending task small): read them as empty.
  for _, f in ipairs(optional_fields) do
    if t[f] == nil then t[f] = '' end
  end
  return t
end

-- task_json renders a task hash as the API's task object; metadata and
-- result are stored as JSON text and copied verbatim.
local function task_json(t)
  local p = {'{"id":', cjson.encode(t.id), ',"text":', cjson.encode(t.text),
    ',"status":', cjson.encode(t.status), ',"priority":', t.priority,
    ',"attempts":', (t.attempts or '0'), ',"createdAt":', cjson.encode(t.createdAt),
    ',"updatedAt":', cjson.encode(t.updatedAt), ',"version":', t.version}
  if t.assignedTo and t.assignedTo ~= '' then
    p[#p + 1] = ',"assignedTo":' .. cjson.encode(t.assignedTo)
  end
  if t.error and t.error ~= '' then p[#p + 1] = ',"error":' .. cjson.encode(t.error) end
  if t.leaseUntil and t.leaseUntil ~= '' then
    p[#p + 1] = ',"leaseExpiresAt":' .. cjson.encode(iso(tonumber(t.leaseUntil)))
  end
  if t.metadata and t.metadata ~= '' then p[#p + 1] = ',"metadata":' .. t.metadata end
  if t.result and t.result ~= '' then p[#p + 1] = ',"result":' .. t.result end
  p[#p + 1] = '}'
  return table.concat(p)
end

local nevents = 0
-- emit appends a state-change event (payload already JSON) to key, the
-- stream of evtype, and returns its entry id.
local function emit(key, evtype, payload, ms)
  nevents = nevents + 1
  local id = C.eventId
  if id == '' then id = 'e-' .. ms end
  local env = '{"type":' .. cjson.encode(evtype) .. ',"payload":' .. payload ..
    ',"metadata":{"id":' .. cjson.encode(id .. '/' .. evtype .. '/' .. nevents) ..
    ',"timestamp":' .. ms .. ',"source":' .. cjson.encode(C.source) .. '}}'
  -- The entry id is <ms>-<n> with n from one counter for the streams of
  -- all task events, so that events of two streams written in the same
  -- millisecond still sort in the order they were written. Should the
  -- stream already hold a later id (the clock stepped back, or another
  -- writer), Redis picks the id.
  local entry = string.format('%d-%d', ms, redis.call('INCR', K.evseq))
  local r = redis.pcall('XADD', key, entry, C.field, env)
  if type(r) == 'table' and r.err then
    r = redis.call('XADD', key, '*', C.field, env)
  end
  return r
end

-- touch bumps the version and updatedAt of task t, whose hash is at key;
-- fields are more HSET pairs.
local function touch(key, t, ms, fields)
  t.version = tostring(tonumber(t.version) + 1)
  t.updatedAt = iso(ms)
  local args = {key, 'version', t.version, 'updatedAt', t.updatedAt}
  for k, v in pairs(fields) do
    t[k] = v
    args[#args + 1] = k
    args[#args + 1] = v
  end
  redis.call('HSET', unpack(args))
end

local function enqueue(t)
  redis.call('ZADD', K.queue, -tonumber(t.priority), t.id)
  redis.call('LPUSH', K.notify, t.id)
  redis.call('LTRIM', K.notify, 0, 999)
end

-- lease_fields returns the HSET fields that give t a lease of ms_len ms
-- from ms (ms_len nil or <= 0: the default), and records its expiry in the
-- lease index the reaper reads.
local function lease_fields(t, ms, ms_len, fields)
  local n = tonumber(ms_len)
  if not n or n <= 0 then n = tonumber(C.leaseMs) end
  fields.leaseUntil = tostring(ms + n)
  redis.call('ZADD', K.leases, ms + n, t.id)
  return fields
end

-- end_lease drops t's lease (it is no longer in progress); fields gets the
-- HSET field that clears it.
local function end_lease(t, fields)
  redis.call('ZREM', K.leases, t.id)
  fields.leaseUntil = ''
  return fields
end

-- replay returns the remembered answer of a request seen before.
local function replay()
  if C.eventId == '' then return nil end
  return redis.call('GET', K.idem)
end

local function remember(out)
  if C.eventId ~= '' then
    redis.call('SET', K.idem, out, 'EX', C.idemTtl)
  end
  return out
end

local function ok(json)
  return remember('{"ok":' .. json .. '}')
end
