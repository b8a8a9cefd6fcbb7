-- redis_lookup.lua -- the Redis side of the lookup comparison: ARGV[1] = "type:value" ->
-- {customer id, the profile hash (HGETALL), its identities (SMEMBERS)}, or nil.
local cid = redis.call('HGET', 'ids', ARGV[1])
if not cid then return nil end
return {cid, redis.call('HGETALL', 'p:' .. cid), redis.call('SMEMBERS', 'pids:' .. cid)}
