--[[
  Records that a group member is alive until now + ttl, with its info, and
  forgets members whose time ran out.

  Input:
    KEYS[1] member expiry (zset: id -> expiresAt ms)
    KEYS[2] member info (hash: id -> info JSON)

    ARGV[1] member id
    ARGV[2] info JSON
    ARGV[3] time to live (ms)

  Output:
    expiresAt (epoch ms)
]]
local expiryKey, infoKey = KEYS[1], KEYS[2]

local time = redis.call('TIME')
local nowMs = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local expired = redis.call('ZRANGEBYSCORE', expiryKey, '-inf', nowMs)
for _, id in ipairs(expired) do
  redis.call('HDEL', infoKey, id)
end
redis.call('ZREMRANGEBYSCORE', expiryKey, '-inf', nowMs)

local expiresAt = nowMs + tonumber(ARGV[3])
redis.call('ZADD', expiryKey, expiresAt, ARGV[1])
redis.call('HSET', infoKey, ARGV[1], ARGV[2])
return expiresAt
