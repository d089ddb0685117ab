--[[
  Acknowledges mailbox entries of one shard, fenced by the shard lease.
  Acknowledged entries are deleted so the stream length stays the depth.

  Input:
    KEYS[1] lease hash of `shard:<n>` (field `token`)
    KEYS[2] mailbox stream

    ARGV[1] fencing token
    ARGV[2] consumer group
    ARGV[3...] entry ids

  Output:
    1 when acknowledged, 0 when the fence is stale (nothing acknowledged)
]]
local leaseKey, mailboxKey = KEYS[1], KEYS[2]

if redis.call('HGET', leaseKey, 'token') ~= ARGV[1] then
  return 0
end

for i = 3, #ARGV do
  if redis.call('XACK', mailboxKey, ARGV[2], ARGV[i]) == 1 then
    redis.call('XDEL', mailboxKey, ARGV[i])
  end
end
return 1
