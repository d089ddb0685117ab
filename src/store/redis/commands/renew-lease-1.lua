--[[
  Extends a lease while the caller still holds it with the given token.

  Input:
    KEYS[1] lease hash (fields `owner`, `token`, `expiresAt`)

    ARGV[1] owner
    ARGV[2] fencing token
    ARGV[3] time to live from now (ms)

  Output:
    new expiresAt (epoch ms), or nil when the lease is gone or held by another
]]
local leaseKey = KEYS[1]

local held = redis.call('HMGET', leaseKey, 'owner', 'token')
if held[1] ~= ARGV[1] or held[2] ~= ARGV[2] then
  return nil
end

local time = redis.call('TIME')
local nowMs = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local ttlMs = tonumber(ARGV[3])
local expiresAt = nowMs + ttlMs

redis.call('HSET', leaseKey, 'expiresAt', string.format('%d', expiresAt))
redis.call('PEXPIRE', leaseKey, ttlMs)
return expiresAt
