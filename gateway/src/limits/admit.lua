-- Admits one request against every limited scope at once, or refuses it
-- taking nothing (gateway/src/limits/shared.rs builds the call).
-- Time is Redis's own (TIME, microseconds), so replicas with skewed clocks
-- agree. Money is integer nano-USD; every number stays below 2^53.
--
-- KEYS, 5 per scope: rpm TAT, tpm TAT, concurrency lease ZSET, day spend, month spend;
-- then the admission's own key (written when admitted: settle.lua gives back only
-- what an admission that happened took, and only once)
-- ARGV[1] lease id, ARGV[2] lease ttl (us), ARGV[3] reserve (nano-USD), ARGV[4] scopes
-- then 5 per scope: rpm increment (us, 0 = none), tpm increment (us, 0 = none),
--   max concurrent (0 = none), day budget (nano, 0 = none), month budget (nano, 0 = none)
--
-- Replies: {1, rpm used us, tpm used us, ...per scope} admitted;
-- {0, scope (1-based), limit (1 rpm, 2 tpm, 3 concurrency, 4 day, 5 month), wait us, figure}
-- refused (figure: TAT ahead of now, leases held, or spend); {2, key index...} when
-- budget spend counters are missing and must be rebuilt from the store first.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local window = 60000000
local lease = ARGV[1]
local lease_ttl = tonumber(ARGV[2])
local reserve = tonumber(ARGV[3])
local n = tonumber(ARGV[4])

-- Spend of every budget, read once; a missing counter is rebuilt first.
local missing = {2}
local spent = {}
for i = 0, n - 1 do
  local k, a = i * 5, 5 + i * 5
  for j = 1, 2 do
    if tonumber(ARGV[a + 2 + j]) > 0 then
      local value = redis.call('GET', KEYS[k + 3 + j])
      if value then
        spent[k + 3 + j] = tonumber(value)
      else
        missing[#missing + 1] = k + 3 + j
      end
    end
  end
end
if #missing > 1 then
  return missing
end

local function tat_of(key)
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then
    tat = now
  end
  return tat
end

-- Check everything first; nothing is written until all of it fits.
local next_tat = {}
for i = 0, n - 1 do
  local k, a = i * 5, 5 + i * 5
  local rpm_inc, tpm_inc = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  local max_concurrent = tonumber(ARGV[a + 2])
  local day_budget, month_budget = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  local taken = {now, now}
  for j, inc in ipairs({rpm_inc, tpm_inc}) do
    if inc > 0 then
      local tat = tat_of(KEYS[k + j])
      local after = tat + inc
      if after - now > window then
        return {0, i + 1, j, after - now - window, tat - now}
      end
      taken[j] = after
    end
  end
  if max_concurrent > 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[k + 3], '-inf', string.format('%.0f', now))
    local held = redis.call('ZCARD', KEYS[k + 3])
    if held >= max_concurrent then
      local first = redis.call('ZRANGE', KEYS[k + 3], 0, 0, 'WITHSCORES')
      return {0, i + 1, 3, tonumber(first[2]) - now, held}
    end
  end
  for j, budget in ipairs({day_budget, month_budget}) do
    if budget > 0 and spent[k + 3 + j] + reserve > budget then
      return {0, i + 1, 3 + j, 0, spent[k + 3 + j]}
    end
  end
  next_tat[i + 1] = taken
end

redis.call('SET', KEYS[5 * n + 1], '1', 'PX', math.ceil(lease_ttl / 1000) + 1000)
local reply = {1}
for i = 0, n - 1 do
  local k, a = i * 5, 5 + i * 5
  local taken = next_tat[i + 1]
  for j = 1, 2 do
    if tonumber(ARGV[a + j - 1]) > 0 then
      local ahead = taken[j] - now
      redis.call('SET', KEYS[k + j], string.format('%.0f', taken[j]), 'PX', math.ceil(ahead / 1000) + 1000)
    end
    reply[#reply + 1] = taken[j] - now
  end
  if tonumber(ARGV[a + 2]) > 0 then
    redis.call('ZADD', KEYS[k + 3], string.format('%.0f', now + lease_ttl), lease)
    redis.call('PEXPIRE', KEYS[k + 3], math.ceil(lease_ttl / 1000) + 1000)
  end
  if reserve > 0 then
    for j = 1, 2 do
      if tonumber(ARGV[a + 2 + j]) > 0 then
        redis.call('INCRBY', KEYS[k + 3 + j], ARGV[3])
      end
    end
  end
end
return reply
