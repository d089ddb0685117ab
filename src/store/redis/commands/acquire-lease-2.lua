--[[
  Takes a lease when it is free (absent or expired) or already held by the
  same owner, with a fencing token larger than any issued before for it.
  Expiry is Redis's own: the lease key carries a PEXPIRE, measured by the
  server clock, so controllers' clocks do not matter.

  Input:
    KEYS[1] lease hash (fields `owner`, `token`, `expiresAt`)
    KEYS[2] token counter (never expires)

    ARGV[1] owner
    ARGV[2] time to live (ms)

  Output:
    {token, expiresAt} when taken, nil when another owner holds it
]]
local leaseKey, tokenKey = KEYS[1], KEYS[2]

local holder = redis.call('HGET', leaseKey, 'owner')
if holder and holder ~= ARGV[1] then
  return nil
end

local time = redis.call('TIME')
local nowMs = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local ttlMs = tonumber(ARGV[2])
local expiresAt = nowMs + ttlMs
local token = redis.call('INCR', tokenKey)

redis.call('DEL', leaseKey)
redis.call('HSET', leaseKey, 'owner', ARGV[1], 'token', token, 'expiresAt', string.format('%d', expiresAt))
redis.call('PEXPIRE', leaseKey, ttlMs)
return {token, expiresAt}
