--[[
  Range members of a priority queue: one member stands for the integers
  0, 1, 2, … of its owner (a job's not-yet-created tasks), handed out in
  order through a cursor kept beside the queue. The cursor outlives the
  member, so a repeated push of the same range is a no-op.

  Input:
    KEYS[1] queue (zset)
    KEYS[2] range cursors (hash, member → next integer to hand out)

    ARGV[1] operation: 'push' | 'take' | 'close' | 'cursor' | 'forget'
    ARGV[2] member
    push:   ARGV[3] score
    take:   ARGV[3] end (exclusive), ARGV[4] most integers to take

  Output:
    push:   1 when added, 0 when the member was pushed before
    take:   {from, to} (to exclusive), or nil when the member is not queued
    close:  the cursor, or nil when the member was never pushed (it then
            gets a cursor at 0, so it never will be)
    cursor: the cursor, or nil when the member was never pushed
    forget: 1
]]
local queueKey, cursorKey = KEYS[1], KEYS[2]
local op, member = ARGV[1], ARGV[2]

if op == 'push' then
  if redis.call('HSETNX', cursorKey, member, 0) == 0 then
    return 0
  end
  redis.call('ZADD', queueKey, ARGV[3], member)
  return 1
end

if op == 'take' then
  if not redis.call('ZSCORE', queueKey, member) then
    return nil
  end
  local from = tonumber(redis.call('HGET', cursorKey, member) or '0')
  local last = tonumber(ARGV[3])
  local to = math.min(last, from + tonumber(ARGV[4]))
  if to >= last then
    to = last
    redis.call('ZREM', queueKey, member)
  end
  redis.call('HSET', cursorKey, member, to)
  return { from, to }
end

if op == 'close' then
  local cursor = redis.call('HGET', cursorKey, member)
  redis.call('ZREM', queueKey, member)
  if not cursor then
    -- Never pushed: a cursor at 0 bars a later push (a release racing a cancel).
    redis.call('HSET', cursorKey, member, 0)
    return nil
  end
  return tonumber(cursor)
end

if op == 'cursor' then
  local cursor = redis.call('HGET', cursorKey, member)
  if not cursor then
    return nil
  end
  return tonumber(cursor)
end

if op == 'forget' then
  redis.call('ZREM', queueKey, member)
  redis.call('HDEL', cursorKey, member)
  return 1
end

return redis.error_reply('unknown range operation ' .. tostring(op))
