-- unregister.lua: withdraw one cbd process's registration, and nothing a
-- later process with the same instance id has written (a fast restart
-- overlaps the old process's shutdown).
--
-- KEYS[1]    cb:instance:{instanceId}  the registration hash (field nonce)
-- KEYS[2]    cb:instances              sorted set of instance ids
-- KEYS[3..n] cb:serving:{method}       one per method the process serves
-- ARGV[1] the instance id
-- ARGV[2] the process's serving member (instance id and nonce)
-- ARGV[3] the process's nonce
--
-- The serving members are the process's own. The hash and the id in
-- cb:instances are removed only when the hash carries this nonce, or no
-- hash is left (then the id in cb:instances is stale).
-- Returns 1 when the registration was this process's and was removed, else 0.
for i = 3, #KEYS do
  redis.call('ZREM', KEYS[i], ARGV[2])
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
if redis.call('HGET', KEYS[1], 'nonce') ~= ARGV[3] then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
