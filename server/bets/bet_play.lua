-- bet_play: one instant-game bet, whole, in one atomic step. The caller has
-- computed the outcome from the seed pair and nonce it believes active; this
-- script checks that they still are (compare-and-set), then takes the nonce,
-- debits the stake (a "bet" entry, settled at once), credits the payout (a
-- "win" entry, when it is above 0) as one balance change with one balance
-- event, stores the bet record and keeps the reply
-- under the idempotency key. Nothing of a bet is ever half done, so no bet is
-- ever open on the seed pair.
-- KEYS[1] wallet {u:ID}:wallet   KEYS[2] ledger {u:ID}:ledger
-- KEYS[3] idempotency key {u:ID}:idem:bet:<key>  KEYS[4] seed pair {u:ID}:seeds
-- KEYS[5] bet records {u:ID}:bets  KEYS[6] journal of the user's slot
-- ARGV[1] user id  ARGV[2] currency  ARGV[3] amount  ARGV[4] game
-- ARGV[5] game params as canonical JSON  ARGV[6] server seed hash the outcome was computed with
-- ARGV[7] nonce the outcome was computed with  ARGV[8] payout (integer >= 0)
-- ARGV[9] the bet record JSON without its id: an object '{"game":...}'
-- ARGV[10] idempotency TTL (s)  ARGV[11] balance events channel
-- KEYS[7] limits {u:ID}:limits  ARGV[12] limits context (see _limits.lua)
-- Returns {'ok', reply} with reply the record with "id" first and "balance" (after the
-- bet) last; {'replay', '{"id", "balance"}'} of this key's first reply (its record is
-- in the bet records, or PostgreSQL once trimmed); {'STALE', server_seed,
-- server_seed_hash, client_seed, nonce} when the pair or its nonce moved on (nothing
-- written: compute again with these); or {CODE, message} with CODE one of
-- INVALID_AMOUNT, IDEMPOTENCY_CONFLICT, NO_SEEDS, INSUFFICIENT_FUNDS, LIMIT_EXCEEDED; a
-- limit's refusal {CODE, message, resets at ms}; or {'ZONE', zone}.
journal_to(KEYS[6])
local user, currency, game = ARGV[1], ARGV[2], ARGV[4]
local amount = parse_int(ARGV[3], 1)
if not amount then return {'INVALID_AMOUNT', 'amount must be an integer in [1, 2^53-1]'} end
local paid = parse_int(ARGV[8], 0)
if not paid then return {'INVALID_AMOUNT', 'payout must be an integer in [0, 2^53-1]'} end

local fingerprint = 'bet|' .. currency .. '|' .. ARGV[3] .. '|' .. game .. '|' .. ARGV[5]
local previous = idem_lookup(KEYS[3], fingerprint)
if previous == false then return {'IDEMPOTENCY_CONFLICT', 'key was used for another operation'} end
if previous then return {'replay', previous} end

local pair = redis.call('HMGET', KEYS[4], 'server_seed', 'server_seed_hash', 'client_seed', 'nonce')
if not pair[1] then return {'NO_SEEDS', 'the user has no seed pair yet'} end
if pair[2] ~= ARGV[6] or pair[4] ~= ARGV[7] then
  return {'STALE', pair[1], pair[2], pair[3], pair[4]}
end
local held = redis.call('HMGET', KEYS[1], currency, 'version')
local balance = tonumber(held[1] or '0')
if balance < amount then
  return {'INSUFFICIENT_FUNDS', 'balance ' .. fmt_int(balance) .. ' is below ' .. fmt_int(amount)}
end
if balance - amount + paid > MAX_AMOUNT then
  return {'LIMIT_EXCEEDED', 'the balance would exceed 2^53-1'}
end
local limits, zone = limits_open(KEYS[7], ARGV[12])
if zone then return zone end
local refused = limits_check_bet(limits, currency, amount)
if refused then return refused end

redis.call('HINCRBY', KEYS[4], 'nonce', 1)
limits_stake(limits, currency, amount)
limits_count(limits, currency, 'loss', -paid)
limits_save(limits)
local bet_id = fmt_int(tonumber(held[2] or '0') + 1)
local moves = {{-amount, 'bet', 'settled'}}
if paid > 0 then moves[2] = {paid, 'win', 'done'} end
local _, after = apply_moves(KEYS[1], KEYS[2], ARGV[11], user, currency, game, bet_id, moves)
local record = '{"id":' .. bet_id .. ',' .. string.sub(ARGV[9], 2)
redis.call('HSET', KEYS[5], bet_id, record)
journal('bet', user, record)
local balance_after = ',"balance":' .. fmt_int(after) .. '}'
journal_flush()
-- The key keeps the bet id and the balance: with the bet record, the whole reply.
idem_store(KEYS[3], fingerprint, '{"id":' .. bet_id .. balance_after, ARGV[10])
return {'ok', string.sub(record, 1, -2) .. balance_after}
