-- step_open: start a step-by-step game (Mines, HiLo, Quiz) in one atomic step:
-- allocate the nonce of the active seed pair, debit the stake (ledger type
-- "bet", status "open") and store the game's state with its seeds. At most
-- one active game per user and game.
-- KEYS[1] wallet {u:ID}:wallet          KEYS[2] ledger {u:ID}:ledger
-- KEYS[3] idempotency key of the start  KEYS[4] seed pair {u:ID}:seeds
-- KEYS[5] active games {u:ID}:games     KEYS[6] bets open on the pair {u:ID}:seeds:open
-- KEYS[7] games due for the expiry sweep, the index of the user's cluster slot
-- KEYS[8] journal of the user's slot
-- ARGV[1] user id  ARGV[2] currency  ARGV[3] amount  ARGV[4] game
-- ARGV[5] start params as canonical JSON  ARGV[6] idempotency TTL (s)
-- ARGV[7] balance events channel
-- ARGV[8] when the sweep must look at the game if its first step_update never comes (ms)
-- ARGV[9] prefix of the game's member in the due index (the bet id is appended)
-- KEYS[9] limits {u:ID}:limits  ARGV[10] limits context (see _limits.lua)
-- Returns {'ok', state} with state the JSON {"id", "user", "game", "amount", "currency",
-- "params", "server_seed", "server_seed_hash", "client_seed", "nonce", "created_at"}
-- (the game's own record, "record", is added by the first step_update);
-- {'replay', '{"id": n}'} when this key already started the same game; or
-- {CODE, message} with CODE one of INVALID_AMOUNT, IDEMPOTENCY_CONFLICT, GAME_ACTIVE,
-- NO_SEEDS, INSUFFICIENT_FUNDS; a limit's refusal {CODE, message, resets at ms}; or
-- {'ZONE', zone}.
-- The games hash holds, per game, the state JSON under <game> and its version
-- "<bet id>:<step>" under <game>:v (checked by step_update).
journal_to(KEYS[8])
local user, currency, game, params = ARGV[1], ARGV[2], ARGV[4], ARGV[5]
local amount = parse_int(ARGV[3], 1)
if not amount then return {'INVALID_AMOUNT', 'amount must be an integer in [1, 2^53-1]'} end

local fingerprint = 'game|' .. currency .. '|' .. ARGV[3] .. '|' .. game .. '|' .. params
local previous = idem_lookup(KEYS[3], fingerprint)
if previous == false then return {'IDEMPOTENCY_CONFLICT', 'key was used for another operation'} end
if previous then return {'replay', previous} end

if redis.call('HEXISTS', KEYS[5], game) == 1 then
  return {'GAME_ACTIVE', 'finish the ' .. game .. ' game in progress first'}
end
local limits, zone = limits_open(KEYS[9], ARGV[10])
if zone then return zone end
local state, bet_id = open_bet(KEYS[1], KEYS[2], KEYS[4], KEYS[6], ARGV[7], user, currency,
  amount, game, params, limits)
if not state then return bet_id end
redis.call('HSET', KEYS[5], game, state, game .. ':v', fmt_int(bet_id) .. ':0')
redis.call('ZADD', KEYS[7], ARGV[8], ARGV[9] .. fmt_int(bet_id))
journal_flush()
idem_store(KEYS[3], fingerprint, '{"id":' .. fmt_int(bet_id) .. '}', ARGV[6])
return {'ok', state}
