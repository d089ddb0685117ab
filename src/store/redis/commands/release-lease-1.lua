--[[
  Gives a lease up if the caller still holds it with the given token. The
  token counter is kept, so the next owner gets a larger token.

  Input:
    KEYS[1] lease hash (fields `owner`, `token`, `expiresAt`)

    ARGV[1] owner
    ARGV[2] fencing token

  Output:
    1 when released, 0 when the lease is gone or held by another
]]
local leaseKey = KEYS[1]

local held = redis.call('HMGET', leaseKey, 'owner', 'token')
if held[1] ~= ARGV[1] or held[2] ~= ARGV[2] then
  return 0
end
redis.call('DEL', leaseKey)
return 1
