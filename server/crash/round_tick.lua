-- round_tick: one server tick of a RUNNING round, or its crash tick.
-- KEYS[1] round hash   KEYS[2] bets hash   KEYS[3] targets zset   KEYS[4] history list
-- KEYS[5] lease
-- ARGV[1] lease value   ARGV[2] fencing number   ARGV[3] round id
-- ARGV[4] elapsed ms of the tick   ARGV[5] multiplier of the tick x100
-- ARGV[6] crash point x100 if this tick is the crash, else ''
-- ARGV[7] round hash, revealed at the crash (else '')
-- ARGV[8] history entry JSON at the crash (else '')   ARGV[9] history length
-- ARGV[10..] pairs: currency, maximum total payout of the round in it
-- First every cashout target reached (up to the crash point at the crash) is
-- cashed out at its target. Then, at the crash: the round is CRASHED, every open
-- bet lost, the round added to the history. Otherwise: a currency whose payouts
-- plus open stakes x multiplier reach its cap has all its open bets cashed out at
-- this multiplier, and the tick becomes the one manual cashouts are paid at.
-- Returns {'tick' or 'crashed', record of each bet cashed out in this tick...},
-- or {CODE, message} with CODE one of FENCED, CONFLICT.
local err = lease_error(KEYS[5], ARGV[1])
if err then return err end
local r = redis.call('HMGET', KEYS[1], 'id', 'phase', 'fence', 'tick')
if r[1] ~= ARGV[3] or r[2] ~= 'running' then
  return {'CONFLICT', 'round ' .. ARGV[3] .. ' is not running'}
end
if r[3] ~= ARGV[2] then return {'FENCED', 'round ' .. ARGV[3] .. ' belongs to fence ' .. r[3]} end
local elapsed, mult = tonumber(ARGV[4]), tonumber(ARGV[5])
if elapsed <= tonumber(r[4]) then
  return {'CONFLICT', 'tick ' .. ARGV[4] .. ' is not after tick ' .. r[4]}
end

local crashed = ARGV[6] ~= ''
local reached = ARGV[5]
if crashed then reached = ARGV[6] end
local out = {crashed and 'crashed' or 'tick'}
for _, user in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', reached)) do
  local b = cjson.decode(redis.call('HGET', KEYS[2], user))
  out[#out + 1] = cash_out(KEYS[1], KEYS[2], KEYS[3], b, b.target,
    payout_at(b.amount, b.target, b.cap))
end

if crashed then
  redis.call('HSET', KEYS[1], 'phase', 'crashed', 'tick', ARGV[4], 'point', ARGV[6],
    'hash', ARGV[7], 'crashed_at', fmt_int(now_ms()))
  close_open_bets(KEYS[2], 'lost')
  redis.call('DEL', KEYS[3])
  push_history(KEYS[4], ARGV[8], ARGV[9])
  return out
end

local capped = {}
local any_capped = false
for i = 10, #ARGV, 2 do
  local sums = redis.call('HMGET', KEYS[1], 'open:' .. ARGV[i], 'paid:' .. ARGV[i])
  local open, paid = tonumber(sums[1] or '0'), tonumber(sums[2] or '0')
  if open > 0 and paid + open * mult / 100 >= tonumber(ARGV[i + 1]) then
    capped[ARGV[i]] = true
    any_capped = true
  end
end
if any_capped then
  local all = redis.call('HGETALL', KEYS[2])
  for i = 2, #all, 2 do
    local b = cjson.decode(all[i])
    if b.status == 'open' and capped[b.currency] then
      out[#out + 1] = cash_out(KEYS[1], KEYS[2], KEYS[3], b, mult,
        payout_at(b.amount, mult, b.cap))
    end
  end
end
redis.call('HSET', KEYS[1], 'tick', ARGV[4], 'mult', ARGV[5])
return out
