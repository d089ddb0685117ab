--[[
  Deletes a KV entry and its index line.

  Input:
    KEYS[1] entry hash
    KEYS[2] key index (zset)

    ARGV[1] key (as the caller named it)

  Output:
    1 when the entry existed, 0 otherwise
]]
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('DEL', KEYS[1])
