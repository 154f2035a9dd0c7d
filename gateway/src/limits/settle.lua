-- Gives back what an admission (admit.lua) took beyond what the request used:
-- corrects the TPM TAT by the real tokens, ends the concurrency lease, and
-- settles the budgets' reservation to the exact cost. A spend counter that is
-- gone (Redis lost it) is left for the next admission to rebuild from the
-- store; one that would go negative stops at 0.
--
-- KEYS, 4 per scope: tpm TAT, concurrency lease ZSET, day spend, month spend; then
-- the admission's own key
-- ARGV[1] lease id, ARGV[2] scopes, ARGV[3] spend delta (nano-USD, signed),
-- ARGV[4] 'admitted' (give back what admit.lua took, if its key is still there:
-- once, and never for an admission that did not happen) or 'spent' (a request
-- admitted by a replica alone while Redis failed: add its cost to the counters
-- that exist, nothing else)
-- then 4 per scope: tpm TAT delta (us, signed), lease held (1/0), day (1/0), month (1/0)
local n = tonumber(ARGV[2])
if ARGV[4] == 'admitted' and redis.call('DEL', KEYS[4 * n + 1]) == 0 then
  return 0
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local spend_delta = tonumber(ARGV[3])
for i = 0, n - 1 do
  local k, a = i * 4, 5 + i * 4
  local tpm_delta = tonumber(ARGV[a])
  if tpm_delta ~= 0 then
    local tat = tonumber(redis.call('GET', KEYS[k + 1]) or '0')
    if tat < now then
      tat = now
    end
    local after = tat + tpm_delta
    if after > now then
      redis.call('SET', KEYS[k + 1], string.format('%.0f', after), 'PX', math.ceil((after - now) / 1000) + 1000)
    else
      redis.call('DEL', KEYS[k + 1])
    end
  end
  if ARGV[a + 1] == '1' then
    redis.call('ZREM', KEYS[k + 2], ARGV[1])
  end
  for j = 1, 2 do
    if ARGV[a + 1 + j] == '1' and spend_delta ~= 0 and redis.call('EXISTS', KEYS[k + 2 + j]) == 1 then
      local spent = redis.call('INCRBY', KEYS[k + 2 + j], ARGV[3])
      if spent < 0 then
        redis.call('SET', KEYS[k + 2 + j], '0', 'KEEPTTL')
      end
    end
  end
end
return 1
