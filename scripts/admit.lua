-- admit.lua: may this request run? One atomic check of the sliding-window
-- rate limit and the circuit breaker of a handler, shared by every instance.
--
-- KEYS[1] cb:rate:{handler:source}:{window}  sorted set of admitted requests (score = ms)
-- KEYS[2] cb:circuit:{handler}               hash: state, failures, windowStart, resetAt, probes
-- ARGV[1] rate limit: requests per window (0 = no limit)
-- ARGV[2] window length, ms
-- ARGV[3] a unique member for this request (its event id)
-- ARGV[4] probes allowed while half-open
-- ARGV[5] circuit key TTL, ms
--
-- Returns {status, retryAfterMs, halfOpen}: status 1 admitted, 2 rate
-- limited, 3 circuit open; halfOpen 1 when the request is a half-open probe
-- (its outcome must then be recorded). A rejected request is not recorded
-- in the window.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local state = redis.call('HGET', KEYS[2], 'state')
if state == 'open' then
  local reset = tonumber(redis.call('HGET', KEYS[2], 'resetAt') or '0')
  if now < reset then return {3, reset - now, 0} end
  redis.call('HSET', KEYS[2], 'state', 'half-open', 'probes', '0')
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
  state = 'half-open'
end

local limit = tonumber(ARGV[1])
if limit > 0 then
  local window = tonumber(ARGV[2])
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
  if redis.call('ZCARD', KEYS[1]) >= limit then
    local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    local retry = window
    if oldest[2] then retry = tonumber(oldest[2]) + window - now end
    if retry < 1 then retry = 1 end
    return {2, retry, 0}
  end
end

if state == 'half-open' then
  local probes = tonumber(redis.call('HGET', KEYS[2], 'probes') or '0')
  if probes >= tonumber(ARGV[4]) then return {3, 100, 0} end
  redis.call('HINCRBY', KEYS[2], 'probes', 1)
end

if limit > 0 then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
local half = 0
if state == 'half-open' then half = 1 end
return {1, 0, half}
