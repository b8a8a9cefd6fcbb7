-- redis_ingest.lua -- owns the Redis side of the comparison's ingest: the same job c360 does,
-- done inside Redis per event (EVALSHA with the raw Segment JSON as ARGV[1]), pipelined by
-- bench/redisload. Keys:
--   dedup:<messageId>   SET NX EX 86400          deduplication (c360's 24 h messageId window)
--   ids                 hash "type:value" -> customer id   (the identity index)
--   pids:<cid>          set of "type:value"      a profile's identities
--   p:<cid>             hash: total, type:<t>, event:<name>, first_seen, last_seen, t:<trait>
--   ev:<cid>            list of raw events       (the timeline)
-- Resolution: userId, then anonymousId, else a new customer (INCR customer_seq). Like the
-- PostgreSQL pipeline it does not merge profiles or apply identity limits (c360 does).
-- Durability: appendonly yes, appendfsync everysec -- an acknowledged event can be lost for up
-- to about a second on a crash, which c360 and PostgreSQL (synchronous_commit on) do not allow.
local raw = ARGV[1]
local e = cjson.decode(raw)
local mid = e.messageId
if type(mid) == 'string' then
  if not redis.call('SET', 'dedup:' .. mid, '1', 'NX', 'EX', 86400) then return 0 end
end
local anon = e.anonymousId
local uid = e.userId
if type(anon) ~= 'string' then anon = nil end
if type(uid) ~= 'string' then uid = nil end
local cid
if uid then cid = redis.call('HGET', 'ids', 'user_id:' .. uid) end
if not cid and anon then cid = redis.call('HGET', 'ids', 'anonymous_id:' .. anon) end
if not cid then cid = tostring(redis.call('INCR', 'customer_seq')) end
local function link(t, v)
  local k = t .. ':' .. v
  if redis.call('HSETNX', 'ids', k, cid) == 1 then redis.call('SADD', 'pids:' .. cid, k) end
end
if anon then link('anonymous_id', anon) end
if uid then link('user_id', uid) end
local p = 'p:' .. cid
local traits = e.traits
if type(traits) == 'table' then
  if type(traits.email) == 'string' then link('email', string.lower(traits.email)) end
  if type(traits.phone) == 'string' then link('phone', (string.gsub(traits.phone, '%D', ''))) end
  for k, v in pairs(traits) do
    if type(v) ~= 'table' then redis.call('HSET', p, 't:' .. k, tostring(v)) end
  end
end
local ts = e.timestamp
if type(ts) ~= 'string' then ts = '' end
redis.call('HINCRBY', p, 'total', 1)
redis.call('HINCRBY', p, 'type:' .. tostring(e.type), 1)
if type(e.event) == 'string' then redis.call('HINCRBY', p, 'event:' .. e.event, 1) end
local f = redis.call('HGET', p, 'first_seen')
if not f or ts < f then redis.call('HSET', p, 'first_seen', ts) end
local l = redis.call('HGET', p, 'last_seen')
if not l or ts > l then redis.call('HSET', p, 'last_seen', ts) end
redis.call('RPUSH', 'ev:' .. cid, raw)
return 1
