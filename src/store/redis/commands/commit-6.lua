--[[
  Commits one shard transition: all or nothing.

  Checks, before writing anything:
    1. the shard lease holds exactly the caller's fencing token,
    2. every entity is at its expected version (absent = 0),
    3. no applied event id was applied before.
  Then writes snapshots, read models, event-log lines, applied ids, acks,
  outbox items, timers and messages to the shard's own mailbox, and trims
  applied ids older than the retention.

  Input:
    KEYS[1] lease hash of `shard:<n>` (field `token`)
    KEYS[2] applied event ids (zset, score = apply time in ms)
    KEYS[3] mailbox stream
    KEYS[4] outbox stream
    KEYS[5] timers (zset: timer id -> dueAt)
    KEYS[6] timer messages (hash: timer id -> message JSON)

    ARGV[1] fencing token
    ARGV[2] applied-id retention (ms)
    ARGV[3] mailbox consumer group
    ARGV[4] number of entity writes      (W)
    ARGV[5] number of applied event ids  (A)
    ARGV[6] number of mailbox acks       (K)
    ARGV[7] number of outbox items       (O)
    ARGV[8] number of timers to cancel   (C)
    ARGV[9] number of timers to schedule (S)
    ARGV[10] number of messages to append to this shard's mailbox (M)
    then W writes, each:
      entity key, read-model key ('' when the op is 'keep'), event-log key ('' when
      there are no log lines), expected version, snapshot JSON,
      read-model op ('keep' | 'set' | 'delete'), read-model JSON (or ''),
      number of log lines L, then L log-line JSONs
    then A event ids, K mailbox entry ids, O outbox item JSONs,
    C timer ids to cancel, S timers to schedule as (timer id, dueAt, message JSON),
    M message JSONs for KEYS[3].
    Every key in ARGV is in KEYS[1]'s hash slot (built by keys.ts).

  Output:
    {'ok', outboxId...}              committed; ids in outbox-item order
    {'stale_fence'}
    {'conflict', writeIndex, actual} writeIndex is 1-based; actual = 0 when absent
    {'duplicate', eventId}
]]
local leaseKey, appliedKey, mailboxKey, outboxKey, timersKey, timerMessagesKey =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]

if redis.call('HGET', leaseKey, 'token') ~= ARGV[1] then
  return {'stale_fence'}
end

local retentionMs = tonumber(ARGV[2])
local group = ARGV[3]
local nWrites, nApplied, nAcks = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local nOutbox, nCancel, nSchedule = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local nSend = tonumber(ARGV[10])

-- Validation pass: remember where each write starts, write nothing.
local writeStarts = {}
local pos = 11
for i = 1, nWrites do
  writeStarts[i] = pos
  local actual = tonumber(redis.call('HGET', ARGV[pos], 'v') or '0')
  if actual ~= tonumber(ARGV[pos + 3]) then
    return {'conflict', i, actual}
  end
  pos = pos + 8 + tonumber(ARGV[pos + 7])
end

local appliedStart = pos
for i = appliedStart, appliedStart + nApplied - 1 do
  if redis.call('ZSCORE', appliedKey, ARGV[i]) then
    return {'duplicate', ARGV[i]}
  end
end

-- Write pass.
local time = redis.call('TIME')
local nowMs = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

for i = 1, nWrites do
  local p = writeStarts[i]
  local entityKey, readModelKey, logKey = ARGV[p], ARGV[p + 1], ARGV[p + 2]
  redis.call('HSET', entityKey, 'v', tonumber(ARGV[p + 3]) + 1, 's', ARGV[p + 4])
  local readModelOp = ARGV[p + 5]
  if readModelOp == 'set' then
    redis.call('SET', readModelKey, ARGV[p + 6])
  elseif readModelOp == 'delete' then
    redis.call('DEL', readModelKey)
  end
  for j = p + 8, p + 7 + tonumber(ARGV[p + 7]) do
    redis.call('RPUSH', logKey, ARGV[j])
  end
end

for i = appliedStart, appliedStart + nApplied - 1 do
  redis.call('ZADD', appliedKey, nowMs, ARGV[i])
end
redis.call('ZREMRANGEBYSCORE', appliedKey, '-inf', '(' .. string.format('%d', nowMs - retentionMs))

pos = appliedStart + nApplied
for i = pos, pos + nAcks - 1 do
  -- Acknowledged entries are deleted so the stream length is the mailbox depth.
  if redis.call('XACK', mailboxKey, group, ARGV[i]) == 1 then
    redis.call('XDEL', mailboxKey, ARGV[i])
  end
end

pos = pos + nAcks
local result = {'ok'}
for i = pos, pos + nOutbox - 1 do
  result[#result + 1] = redis.call('XADD', outboxKey, '*', 'i', ARGV[i])
end

-- Cancels run before schedules, so cancelling and scheduling one id replaces it.
pos = pos + nOutbox
local schedulePos = pos + nCancel
for i = pos, schedulePos - 1 do
  redis.call('ZREM', timersKey, ARGV[i])
  redis.call('HDEL', timerMessagesKey, ARGV[i])
end

for i = schedulePos, schedulePos + nSchedule * 3 - 1, 3 do
  redis.call('ZADD', timersKey, ARGV[i + 1], ARGV[i])
  redis.call('HSET', timerMessagesKey, ARGV[i], ARGV[i + 2])
end

local sendPos = schedulePos + nSchedule * 3
for i = sendPos, sendPos + nSend - 1 do
  redis.call('XADD', mailboxKey, '*', 'm', ARGV[i])
end

return result
