--[[
  Writes a KV entry, optionally only when its current version matches
  (compare-and-set; 0 means "must be absent"). The version starts at 1 and
  grows by one on every write; a write without a TTL clears any TTL.

  Input:
    KEYS[1] entry hash (fields `v` version, `d` value JSON)
    KEYS[2] key index (zset, all scores 0, for prefix listing)

    ARGV[1] key (as the caller named it)
    ARGV[2] value JSON
    ARGV[3] time to live (ms), or '' for none
    ARGV[4] expected version, or '' for an unconditional write

  Output:
    new version, or nil when the expected version did not match
]]
local entryKey, indexKey = KEYS[1], KEYS[2]

local current = tonumber(redis.call('HGET', entryKey, 'v') or '0')
if ARGV[4] ~= '' and tonumber(ARGV[4]) ~= current then
  return nil
end

local version = current + 1
redis.call('HSET', entryKey, 'v', version, 'd', ARGV[2])
if ARGV[3] ~= '' then
  redis.call('PEXPIRE', entryKey, tonumber(ARGV[3]))
else
  redis.call('PERSIST', entryKey)
end
redis.call('ZADD', indexKey, 0, ARGV[1])
return version
