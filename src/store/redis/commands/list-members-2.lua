--[[
  Lists the live members of a group (expiresAt after now), forgetting the
  expired ones on the way.

  Input:
    KEYS[1] member expiry (zset: id -> expiresAt ms)
    KEYS[2] member info (hash: id -> info JSON)

  Output:
    flat list {id, expiresAt, info JSON, ...}, earliest expiry first
]]
local expiryKey, infoKey = KEYS[1], KEYS[2]

local time = redis.call('TIME')
local nowMs = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local expired = redis.call('ZRANGEBYSCORE', expiryKey, '-inf', nowMs)
for _, id in ipairs(expired) do
  redis.call('HDEL', infoKey, id)
end
redis.call('ZREMRANGEBYSCORE', expiryKey, '-inf', nowMs)

local live = redis.call('ZRANGE', expiryKey, 0, -1, 'WITHSCORES')
local result = {}
for i = 1, #live, 2 do
  result[#result + 1] = live[i]
  result[#result + 1] = live[i + 1]
  result[#result + 1] = redis.call('HGET', infoKey, live[i]) or 'null'
end
return result
