--[[
  Lists live KV entries whose key starts with a prefix, in key order, and
  drops index lines of entries that expired (TTL) on the way.

  Entry keys are built here as ARGV[1] .. key: they share KEYS[1]'s hash tag
  (`{kv}`), which ARGV[1] carries, so this stays within one slot.

  Input:
    KEYS[1] key index (zset, all scores 0)

    ARGV[1] entry key prefix (keys.ts `kvValuePrefix()`)
    ARGV[2] lexicographic range start, e.g. '[abc' or '-'
    ARGV[3] lexicographic range end, e.g. '[abc\xff' or '+'
    ARGV[4] most entries to return (0 = all)

  Output:
    flat list {key, version, value JSON, ...}
]]
local indexKey, entryPrefix = KEYS[1], ARGV[1]
local rangeStart, rangeEnd, limit = ARGV[2], ARGV[3], tonumber(ARGV[4])
local batch = 256
local result = {}
local found = 0

while true do
  local keys = redis.call('ZRANGEBYLEX', indexKey, rangeStart, rangeEnd, 'LIMIT', 0, batch)
  for _, key in ipairs(keys) do
    local entry = redis.call('HMGET', entryPrefix .. key, 'v', 'd')
    if entry[1] then
      result[#result + 1] = key
      result[#result + 1] = entry[1]
      result[#result + 1] = entry[2]
      found = found + 1
      if limit > 0 and found >= limit then
        return result
      end
    else
      redis.call('ZREM', indexKey, key)
    end
  end
  if #keys < batch then
    return result
  end
  rangeStart = '(' .. keys[#keys]
end
