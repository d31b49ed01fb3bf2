-- bet_open: start an instant-game bet in one atomic step: take the user's
-- flow lock, allocate the next nonce of the active seed pair, debit the stake
-- (ledger type "bet", status "open") and keep the open bet with its seeds so
-- that anyone can settle it later, even if this process dies.
-- KEYS[1] wallet {u:ID}:wallet          KEYS[2] ledger {u:ID}:ledger
-- KEYS[3] ledger index {u:ID}:ledger:idx KEYS[4] idempotency key of the bet
-- KEYS[5] seed pair {u:ID}:seeds        KEYS[6] open bets {u:ID}:bets:pending
-- KEYS[7] flow lock {u:ID}:lock
-- ARGV[1] user id  ARGV[2] currency  ARGV[3] amount  ARGV[4] game
-- ARGV[5] game params as canonical JSON  ARGV[6] idempotency TTL (s)
-- ARGV[7] balance events channel  ARGV[8] lock token  ARGV[9] lock TTL (ms)
-- Returns {'ok', open_bet} with open_bet the JSON {"id", "user", "game", "amount",
-- "currency", "params", "server_seed", "server_seed_hash", "client_seed", "nonce",
-- "created_at"} (the bet id is the id of its debit entry); {'replay', '{"id": n}'}
-- when this key already placed the same bet; or {CODE, message} with CODE one of
-- INVALID_AMOUNT, IDEMPOTENCY_CONFLICT, BUSY, NO_SEEDS, INSUFFICIENT_FUNDS.
local user, currency, game, params = ARGV[1], ARGV[2], ARGV[4], ARGV[5]
local amount = parse_int(ARGV[3], 1)
if not amount then return {'INVALID_AMOUNT', 'amount must be an integer in [1, 2^53-1]'} end

local fingerprint = 'bet|' .. currency .. '|' .. ARGV[3] .. '|' .. game .. '|' .. params
local previous = idem_lookup(KEYS[4], fingerprint)
if previous == false then return {'IDEMPOTENCY_CONFLICT', 'key was used for another operation'} end
if previous then return {'replay', previous} end

local holder = redis.call('GET', KEYS[7])
if holder and holder ~= ARGV[8] then return {'BUSY', 'another action of this account is running'} end

local open_bet_json, bet_id = open_bet(KEYS[1], KEYS[2], KEYS[3], KEYS[5], ARGV[7], user, currency,
  amount, game, params)
if not open_bet_json then return bet_id end
redis.call('SET', KEYS[7], ARGV[8], 'PX', ARGV[9])
redis.call('HSET', KEYS[6], fmt_int(bet_id), open_bet_json)
idem_store(KEYS[4], fingerprint, '{"id":' .. fmt_int(bet_id) .. '}', ARGV[6])
return {'ok', open_bet_json}
