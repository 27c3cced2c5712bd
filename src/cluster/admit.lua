-- One request's admission, atomically: the replay check, then every rate
-- limit it falls under (GCRA). A request is counted against its limits only
-- when it passes all of them.
--
-- KEYS[1]     the replay key, or '' for none (the portal, the gateway)
-- KEYS[2..n]  one key per limit
-- ARGV[1]     how long the replay key lives, ms
-- ARGV[2k], ARGV[2k+1]  limit k (k = 1..n-1): emission interval and burst
--             tolerance (interval x burst), both in microseconds
--
-- Returns {0} admitted, {-1} a replay, or {k, wait_us}: limit k refused it
-- and would admit it after wait_us.
--
-- Time is the Redis server's, so the processes' clocks need not agree.

if KEYS[1] ~= '' then
  if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then
    return {-1}
  end
end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])

local arrivals = {}
for k = 2, #KEYS do
  local interval = tonumber(ARGV[2 * k - 2])
  local tolerance = tonumber(ARGV[2 * k - 1])
  local tat = tonumber(redis.call('GET', KEYS[k])) or now
  if tat < now then
    tat = now
  end
  local next_tat = tat + interval
  if next_tat - now > tolerance then
    return {k - 1, next_tat - tolerance - now}
  end
  arrivals[k] = next_tat
end

for k = 2, #KEYS do
  local ms = math.ceil((arrivals[k] - now) / 1000)
  redis.call('SET', KEYS[k], string.format('%d', arrivals[k]), 'PX', ms)
end
return {0}
