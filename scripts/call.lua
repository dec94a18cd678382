-- call.lua: append a request to its stream if a live cbd serves its method
-- and the caller is within the method's rate limit.
--
-- KEYS[1] cb:serving:{method}   sorted set: serving member (instance id and
--                               process nonce) -> lease expiry, unix ms on
--                               Redis's clock (see lease.lua)
-- KEYS[2] cb:methods            set of every method a cbd has registered
-- KEYS[3] cb:stream:{method}    the method's stream
-- KEYS[4] cb:limits             hash: method -> requests/s per source (0 = none)
-- KEYS[5] cb:rate:{method:source}:1s  the caller's sliding window (as admit.lua's)
-- KEYS[6] cb:ratelimited        hash: method -> requests refused here
-- ARGV[1] the caller's clock, unix ms (unused: leases are compared on
--         Redis's clock, which every cbd renews them on)
-- ARGV[2] the event envelope (JSON)
-- ARGV[3] the method name
-- ARGV[4] the stream entry field that holds the envelope
-- ARGV[5] the request's event id (its member in the window)
-- ARGV[6] the stream entry field that says the rate limit was checked
--
-- A hook request (method "hook.*") is never refused for its rate limit: a
-- hook's decision must not depend on how many requests others send under
-- its session id. Over the limit it is appended with ARGV[6] = "shed", and
-- cbd still evaluates its rules but sheds the expensive extras (audit
-- detail, persistence, event copies), counting it.
--
-- Returns {status, entryId} or, rate limited, {-2, retryAfterMs, limit}:
--   status  1  appended, and at least one live instance serves the method
--   status  0  nothing appended: the method is known but no live instance
--              serves it now. The caller is told so at once, and no request
--              is left behind for a cbd that starts later to run after its
--              caller gave up. (Fire-and-forget events do not come here.)
--   status -1  unknown method: nothing appended, entryId is ""
--   status -2  over the method's rate limit: nothing appended (never for
--              a hook request, see above)
-- A request this script counted in the window is appended with ARGV[6] set,
-- so cbd does not count it again; without a limit in KEYS[4] (no cbd has
-- published one) cbd checks the limit itself.
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local served = redis.call('ZCOUNT', KEYS[1], now, '+inf')
if served == 0 then
  if redis.call('SISMEMBER', KEYS[2], ARGV[3]) == 0 then
    return {-1, ''}
  end
  return {0, ''}
end
local limit = tonumber(redis.call('HGET', KEYS[4], ARGV[3]) or '0') or 0
local id
if limit > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now - 1000)
  local mark = '1'
  if redis.call('ZCARD', KEYS[5]) < limit then
    redis.call('ZADD', KEYS[5], now, ARGV[5])
    redis.call('PEXPIRE', KEYS[5], 1000)
  elseif string.sub(ARGV[3], 1, 5) == 'hook.' then
    mark = 'shed'
  else
    local oldest = redis.call('ZRANGE', KEYS[5], 0, 0, 'WITHSCORES')
    local retry = 1000
    if oldest[2] then retry = tonumber(oldest[2]) + 1000 - now end
    if retry < 1 then retry = 1 end
    redis.call('HINCRBY', KEYS[6], ARGV[3], 1)
    return {-2, retry, limit}
  end
  id = redis.call('XADD', KEYS[3], '*', ARGV[4], ARGV[2], ARGV[6], mark)
else
  id = redis.call('XADD', KEYS[3], '*', ARGV[4], ARGV[2])
end
return {1, id}
