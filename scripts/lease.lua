-- lease.lua: renew one cbd process's liveness lease on every method it
-- serves. call.lua appends a request only while some lease is current, so
-- a cbd that died or was stopped is noticed within one lease.
--
-- KEYS[1]    cb:instance:{instanceId}  the instance's registration hash
-- KEYS[2..n] cb:serving:{method}       one per method the process serves
-- ARGV[1] the serving member: instance id and process nonce
-- ARGV[2] the lease, ms
--
-- Scores are Redis's clock plus the lease, the clock call.lua compares them
-- with, so hosts whose clocks differ still agree. Members whose lease ran
-- out more than a minute ago (processes gone without unregistering) are
-- pruned.
--
-- Returns 1 while the registration hash exists, else 0 (it expired, Redis
-- lost its data, or a process with the same instance id removed it): the
-- caller then writes its registration again.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[2])
for i = 2, #KEYS do
  redis.call('ZADD', KEYS[i], now + lease, ARGV[1])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - 60000)
end
return redis.call('EXISTS', KEYS[1])
