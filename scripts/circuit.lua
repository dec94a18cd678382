-- circuit.lua: record a handler outcome in its circuit breaker.
--
-- KEYS[1] cb:circuit:{handler}  hash: state, failures, windowStart, resetAt, probes
-- ARGV[1] "failure" or "success"
-- ARGV[2] failures that open the circuit
-- ARGV[3] failure window, ms
-- ARGV[4] how long the circuit stays open, ms
-- ARGV[5] key TTL, ms
--
-- Returns the state after the change: "closed", "open" or "half-open".
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'

if ARGV[1] == 'success' then
  if state == 'half-open' then
    redis.call('DEL', KEYS[1])
    return 'closed'
  end
  return state
end

if state == 'half-open' then
  redis.call('HSET', KEYS[1], 'state', 'open', 'resetAt', now + tonumber(ARGV[4]), 'probes', '0')
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return 'open'
end
if state == 'open' then return 'open' end

local start = tonumber(redis.call('HGET', KEYS[1], 'windowStart') or '0')
local failures = 1
if now - start <= tonumber(ARGV[3]) then
  failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
else
  redis.call('HSET', KEYS[1], 'failures', '1', 'windowStart', now)
end
if failures >= tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'state', 'open', 'resetAt', now + tonumber(ARGV[4]), 'probes', '0')
  state = 'open'
else
  redis.call('HSET', KEYS[1], 'state', 'closed')
  state = 'closed'
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return state
