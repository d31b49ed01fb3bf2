-- bet_confirm: second step of a bet: its debit is done, the pending bet opens
-- and plays (its target joins the targets zset, its stake the round's sums).
-- KEYS[1] round hash   KEYS[2] bets hash   KEYS[3] targets zset
-- ARGV[1] round id   ARGV[2] user id   ARGV[3] bet key   ARGV[4] id of the wallet's bet entry
-- Returns {'ok', record} (opened now), {'again', record} (already placed with
-- that entry, open or closed since: a retry), or {'ROUND_CLOSED', message}: the round started or moved on
-- first, the bet does not play and the caller refunds the debit.
local closed = {'ROUND_CLOSED', 'bets closed before the bet was placed; it is refunded'}
local r = redis.call('HMGET', KEYS[1], 'id', 'phase')
local held = r[1] == ARGV[1] and redis.call('HGET', KEYS[2], ARGV[2])
if not held then return closed end
local b = cjson.decode(held)
if b.key ~= ARGV[3] then return closed end
local tx = tonumber(ARGV[4])
if b.tx == tx and b.status ~= 'late' then return {'again', held} end
if b.status ~= 'pending' or r[2] ~= 'betting' then return closed end

b.status, b.tx = 'open', tx
local json = bet_json(b)
redis.call('HSET', KEYS[2], b.user, json)
redis.call('HINCRBY', KEYS[1], 'open:' .. b.currency, fmt_int(b.amount))
redis.call('ZADD', KEYS[3], b.target, b.user)
return {'ok', json}
