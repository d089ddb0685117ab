--[[
  Removes a member from a group.

  Input:
    KEYS[1] member expiry (zset: id -> expiresAt ms)
    KEYS[2] member info (hash: id -> info JSON)

    ARGV[1] member id

  Output:
    1 when it was there, 0 otherwise
]]
redis.call('HDEL', KEYS[2], ARGV[1])
return redis.call('ZREM', KEYS[1], ARGV[1])
