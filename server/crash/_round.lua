-- Shared helpers of the Crash round scripts. This file is not a script: it is
-- prepended (after server/wallet/_numbers.lua) to each round and bet script
-- when the script is loaded.
--
-- A bet record is the JSON object {"user", "name", "key", "amount",
-- "currency", "auto", "target", "cap", "tx", "status", "mult", "payout"}:
-- multipliers (auto, target, mult) are integers in hundredths, amounts integers
-- in minor units below 2^53 (Lua numbers are doubles), formatted with %d
-- (cjson would print large integers in exponent form).

local function bet_json(b)
  return '{"user":' .. cjson.encode(b.user) .. ',"name":' .. cjson.encode(b.name)
    .. ',"key":' .. cjson.encode(b.key) .. ',"amount":' .. fmt_int(b.amount)
    .. ',"currency":' .. cjson.encode(b.currency) .. ',"auto":' .. fmt_int(b.auto)
    .. ',"target":' .. fmt_int(b.target) .. ',"cap":' .. fmt_int(b.cap) .. ',"tx":' .. fmt_int(b.tx)
    .. ',"status":' .. cjson.encode(b.status) .. ',"mult":' .. fmt_int(b.mult)
    .. ',"payout":' .. fmt_int(b.payout) .. '}'
end

-- floor(amount x mult / 100), at most cap; exact while the result is below 2^53:
-- amount x mult / 100 = amount x whole + (amount // 100) x cents + (amount % 100) x cents / 100.
local function payout_at(amount, mult, cap)
  local whole, cents = math.floor(mult / 100), mult % 100
  if amount * whole >= cap then return cap end
  local payout = amount * whole + math.floor(amount / 100) * cents
    + math.floor((amount % 100) * cents / 100)
  if payout > cap then return cap end
  return payout
end

-- The fencing check of every script that changes the round: the caller's lease
-- value ('<fence>/<token>') must be the live lease. Returns an error reply or nil.
local function lease_error(lease_key, value)
  if redis.call('GET', lease_key) ~= value then
    return {'FENCED', 'the leader lease ' .. value .. ' is no longer held'}
  end
  return nil
end

-- Cashes an open bet out at `mult` for `payout`: the record, the targets and the
-- round's per-currency sums (open:<currency> stakes, paid:<currency> payouts).
local function cash_out(round, bets, targets, b, mult, payout)
  b.status, b.mult, b.payout = 'cashed', mult, payout
  local json = bet_json(b)
  redis.call('HSET', bets, b.user, json)
  redis.call('ZREM', targets, b.user)
  redis.call('HINCRBY', round, 'open:' .. b.currency, fmt_int(-b.amount))
  redis.call('HINCRBY', round, 'paid:' .. b.currency, fmt_int(payout))
  return json
end

-- Moves every open bet of the round to `status` (lost at a crash, void when voided).
local function close_open_bets(bets, status)
  local all = redis.call('HGETALL', bets)
  for i = 2, #all, 2 do
    local b = cjson.decode(all[i])
    if b.status == 'open' then
      b.status = status
      redis.call('HSET', bets, b.user, bet_json(b))
    end
  end
end

local function push_history(history, entry, length)
  redis.call('LPUSH', history, entry)
  redis.call('LTRIM', history, 0, tonumber(length) - 1)
end
