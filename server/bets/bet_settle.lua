-- bet_settle: settle an open instant-game bet: pay its payout through the
-- wallet (compare-and-set on the bet's ledger status), store the bet record,
-- index it, forget the open bet and release the flow lock if this flow holds it.
-- KEYS[1] wallet {u:ID}:wallet          KEYS[2] ledger {u:ID}:ledger
-- KEYS[3] ledger index {u:ID}:ledger:idx KEYS[4] idempotency key "bet-settle:<id>"
-- KEYS[5] bet records {u:ID}:bets       KEYS[6] bet index {u:ID}:bets:idx
-- KEYS[7] open bets {u:ID}:bets:pending KEYS[8] flow lock {u:ID}:lock
-- ARGV[1] user id  ARGV[2] bet id  ARGV[3] payout (integer >= 0)  ARGV[4] game
-- ARGV[5] the settled bet record JSON  ARGV[6] idempotency TTL (s)
-- ARGV[7] balance events channel  ARGV[8] lock token ('' when settling for a lost process)
-- Returns {'ok', result} or {'replay', result} with result the wallet's settle result
-- JSON {"bet", "tx", "balance", "version"}; or {CODE, message} with CODE one of
-- INVALID_AMOUNT, IDEMPOTENCY_CONFLICT, TX_NOT_OPEN, LIMIT_EXCEEDED.
local user, game = ARGV[1], ARGV[4]
local bet_id = parse_int(ARGV[2], 1)
local payout = parse_int(ARGV[3], 0)
if not payout then return {'INVALID_AMOUNT', 'payout must be an integer in [0, 2^53-1]'} end

local function release_lock()
  if ARGV[8] ~= '' and redis.call('GET', KEYS[8]) == ARGV[8] then redis.call('DEL', KEYS[8]) end
end

local fingerprint = 'bet-settle|' .. ARGV[2] .. '|' .. ARGV[3]
local previous = idem_lookup(KEYS[4], fingerprint)
if previous == false then return {'IDEMPOTENCY_CONFLICT', 'key was used for another operation'} end
if previous then
  release_lock()
  return {'replay', previous}
end

local result, err = settle_open_bet(KEYS[1], KEYS[2], KEYS[3], ARGV[7], user, bet_id, payout)
if not result then return err end
local id = string.format('%015d', bet_id)
redis.call('HSET', KEYS[5], ARGV[2], ARGV[5])
redis.call('ZADD', KEYS[6], 0, game .. ':' .. id, 0, '*:' .. id)
redis.call('HDEL', KEYS[7], ARGV[2])
release_lock()
idem_store(KEYS[4], fingerprint, result, ARGV[6])
return {'ok', result}
