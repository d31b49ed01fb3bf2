-- bet_reserve: first step of a bet: hold the user's one place in the round, in
-- BETTING and before its deadline, as a 'pending' record (one per user: HSETNX
-- semantics). The caller then debits the wallet and confirms (bet_confirm), or
-- releases the place if the debit was refused (bet_release).
-- KEYS[1] round hash   KEYS[2] bets hash
-- ARGV[1] user id   ARGV[2] bet record JSON (status 'pending', tx 0)
-- Returns {'ok', round id, record} (reserved now), {'again', round id, record}
-- (this key already holds the place: a retry, answered in any phase), or
-- {CODE, message} with CODE one of ALREADY_BET (the user holds a place in this
-- round with another key), IDEMPOTENCY_CONFLICT (this key holds the place for
-- another bet), ROUND_CLOSED (no place held, and not BETTING before the deadline).
local r = redis.call('HMGET', KEYS[1], 'id', 'phase', 'betting_ends')
local held = r[1] and redis.call('HGET', KEYS[2], ARGV[1])
if held then
  local b, new = cjson.decode(held), cjson.decode(ARGV[2])
  if b.key ~= new.key then
    return {'ALREADY_BET', 'one bet per round: you already bet in round ' .. r[1]}
  end
  if b.amount ~= new.amount or b.currency ~= new.currency or b.auto ~= new.auto then
    return {'IDEMPOTENCY_CONFLICT', 'key was used for another bet'}
  end
  return {'again', tonumber(r[1]), held}
end
if r[2] ~= 'betting' or now_ms() >= tonumber(r[3]) then
  return {'ROUND_CLOSED', 'bets are closed: wait for the next round'}
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return {'ok', tonumber(r[1]), ARGV[2]}
