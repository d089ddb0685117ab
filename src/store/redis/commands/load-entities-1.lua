--[[
  Reads many entities of one shard in one call (a pipeline of HMGETs costs
  the client far more per entity than Redis does).

  Input:
    KEYS[1] any key of the shard's hash slot (routes the call on a cluster)

    ARGV[...] entity hash keys, all in KEYS[1]'s slot (built by keys.ts)

  Output:
    flat list {version, snapshot JSON, ...} in ARGV order; nil, nil for an
    absent entity
]]
local result = {}
for i = 1, #ARGV do
  local entity = redis.call('HMGET', ARGV[i], 'v', 's')
  result[2 * i - 1] = entity[1]
  result[2 * i] = entity[2]
end
return result
