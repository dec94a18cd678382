-- call.lua: append a request to its stream if its method is known.
--
-- KEYS[1] cb:serving:{method}   sorted set: instance id -> claim expiry (unix ms)
-- KEYS[2] cb:methods            set of every method a cbd has registered
-- KEYS[3] cb:stream:{method}    the method's stream
-- ARGV[1] now, unix ms
-- ARGV[2] the event envelope (JSON)
-- ARGV[3] the method name
-- ARGV[4] the stream entry field that holds the envelope
--
-- Returns {status, entryId}:
--   status  1  appended, and at least one live instance serves the method
--   status  0  appended, but no live instance serves it now (a cbd that
--              starts later will handle it)
--   status -1  unknown method: nothing appended, entryId is ""
local served = redis.call('ZCOUNT', KEYS[1], ARGV[1], '+inf')
if served == 0 and redis.call('SISMEMBER', KEYS[2], ARGV[3]) == 0 then
  return {-1, ''}
end
local id = redis.call('XADD', KEYS[3], '*', ARGV[4], ARGV[2])
if served > 0 then
  return {1, id}
end
return {0, id}
