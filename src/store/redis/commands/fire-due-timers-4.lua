--[[
  Moves due timers of one shard into that shard's mailbox, oldest first.

  Input:
    KEYS[1] lease hash of `shard:<n>` (field `token`)
    KEYS[2] timers (zset: timer id -> dueAt)
    KEYS[3] timer messages (hash: timer id -> message JSON)
    KEYS[4] mailbox stream

    ARGV[1] fencing token
    ARGV[2] now (epoch ms): timers due at or before it fire
    ARGV[3] most timers to fire

  Output:
    number of timers fired, or -1 when the fence is stale (nothing moved)
]]
local leaseKey, timersKey, timerMessagesKey, mailboxKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]

if redis.call('HGET', leaseKey, 'token') ~= ARGV[1] then
  return -1
end

local due = redis.call('ZRANGEBYSCORE', timersKey, '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
for _, timerId in ipairs(due) do
  local message = redis.call('HGET', timerMessagesKey, timerId)
  if message then
    redis.call('XADD', mailboxKey, '*', 'm', message)
  end
  redis.call('ZREM', timersKey, timerId)
  redis.call('HDEL', timerMessagesKey, timerId)
end
return #due
