-- bet_cashout: a player cashes out at the multiplier of the round's last tick.
-- Ticks are recorded only before the crash, and the crash tick makes the round
-- CRASHED atomically: a cashout after it is refused, one before it wins.
-- KEYS[1] round hash   KEYS[2] bets hash   KEYS[3] targets zset
-- ARGV[1] user id
-- Returns {'ok', round id, record} (cashed out now), {'again', round id, record}
-- (cashed out before, by the player, a target or the cap), or {CODE, message}
-- with CODE one of ROUND_CLOSED (not RUNNING, or no tick yet), NO_BET.
local r = redis.call('HMGET', KEYS[1], 'id', 'phase', 'tick', 'mult')
if r[2] ~= 'running' then return {'ROUND_CLOSED', 'the round is not running'} end
local held = redis.call('HGET', KEYS[2], ARGV[1])
local b = held and cjson.decode(held)
if b and b.status == 'cashed' then return {'again', tonumber(r[1]), held} end
if not b or b.status ~= 'open' then
  return {'NO_BET', 'no bet of yours plays in round ' .. r[1]}
end
if tonumber(r[3]) < 0 then return {'ROUND_CLOSED', 'the round has not ticked yet'} end
local mult = tonumber(r[4])
return {'ok', tonumber(r[1]),
  cash_out(KEYS[1], KEYS[2], KEYS[3], b, mult, payout_at(b.amount, mult, b.cap))}
