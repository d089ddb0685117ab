--[[
  Deletes drained outbox items of one shard, fenced by the shard lease.

  Input:
    KEYS[1] lease hash of `shard:<n>` (field `token`)
    KEYS[2] outbox stream

    ARGV[1] fencing token
    ARGV[2...] outbox ids

  Output:
    1 when deleted, 0 when the fence is stale (nothing deleted)
]]
local leaseKey, outboxKey = KEYS[1], KEYS[2]

if redis.call('HGET', leaseKey, 'token') ~= ARGV[1] then
  return 0
end

for i = 2, #ARGV do
  redis.call('XDEL', outboxKey, ARGV[i])
end
return 1
