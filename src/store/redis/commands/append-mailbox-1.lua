--[[
  Appends messages to one shard's mailbox stream in one call (a pipeline of
  XADDs costs the client far more per message than Redis does).

  Input:
    KEYS[1] mailbox stream

    ARGV[...] message JSONs, in order

  Output:
    number of entries appended
]]
for i = 1, #ARGV do
  redis.call('XADD', KEYS[1], '*', 'm', ARGV[i])
end
return #ARGV
