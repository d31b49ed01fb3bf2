-- step_open: start a step-by-step game (Mines, HiLo, Quiz) in one atomic step:
-- allocate the nonce of the active seed pair, debit the stake (ledger type
-- "bet", status "open") and store the game's state with its seeds. At most
-- one active game per user and game.
-- KEYS[1] wallet {u:ID}:wallet          KEYS[2] ledger {u:ID}:ledger
-- KEYS[3] ledger index {u:ID}:ledger:idx KEYS[4] idempotency key of the start
-- KEYS[5] seed pair {u:ID}:seeds        KEYS[6] active games {u:ID}:games
-- ARGV[1] user id  ARGV[2] currency  ARGV[3] amount  ARGV[4] game
-- ARGV[5] start params as canonical JSON  ARGV[6] idempotency TTL (s)
-- ARGV[7] balance events channel
-- Returns {'ok', state} with state the JSON {"id", "user", "game", "amount", "currency",
-- "params", "server_seed", "server_seed_hash", "client_seed", "nonce", "created_at",
-- "record": null} (the game's own record is written by the first step_update);
-- {'replay', '{"id": n}'} when this key already started the same game; or
-- {CODE, message} with CODE one of INVALID_AMOUNT, IDEMPOTENCY_CONFLICT, GAME_ACTIVE,
-- NO_SEEDS, INSUFFICIENT_FUNDS.
-- The games hash holds, per game, the state JSON under <game> and its version
-- "<bet id>:<step>" under <game>:v (checked by step_update).
local user, currency, game, params = ARGV[1], ARGV[2], ARGV[4], ARGV[5]
local amount = parse_int(ARGV[3], 1)
if not amount then return {'INVALID_AMOUNT', 'amount must be an integer in [1, 2^53-1]'} end

local fingerprint = 'game|' .. currency .. '|' .. ARGV[3] .. '|' .. game .. '|' .. params
local previous = idem_lookup(KEYS[4], fingerprint)
if previous == false then return {'IDEMPOTENCY_CONFLICT', 'key was used for another operation'} end
if previous then return {'replay', previous} end

if redis.call('HEXISTS', KEYS[6], game) == 1 then
  return {'GAME_ACTIVE', 'finish the ' .. game .. ' game in progress first'}
end
local seeds = redis.call('HMGET', KEYS[5], 'server_seed', 'server_seed_hash', 'client_seed', 'nonce')
if not seeds[1] then return {'NO_SEEDS', 'the user has no seed pair yet'} end
local balance = balance_of(KEYS[1], currency)
if balance < amount then
  return {'INSUFFICIENT_FUNDS', 'balance ' .. fmt_int(balance) .. ' is below ' .. fmt_int(amount)}
end

local nonce = redis.call('HINCRBY', KEYS[5], 'nonce', 1) - 1
local bet_id = current_version(KEYS[1]) + 1
apply(KEYS[1], KEYS[2], KEYS[3], ARGV[7], user, currency, -amount, 'bet', game,
  fmt_int(bet_id), 'open')
local state = '{"id":' .. fmt_int(bet_id) .. ',"user":' .. json_str(user)
  .. ',"game":' .. json_str(game) .. ',"amount":' .. fmt_int(amount)
  .. ',"currency":' .. json_str(currency) .. ',"params":' .. params
  .. ',"server_seed":' .. json_str(seeds[1]) .. ',"server_seed_hash":' .. json_str(seeds[2])
  .. ',"client_seed":' .. json_str(seeds[3]) .. ',"nonce":' .. fmt_int(nonce)
  .. ',"created_at":' .. fmt_int(now_ms()) .. ',"record":null}'
redis.call('HSET', KEYS[6], game, state, game .. ':v', fmt_int(bet_id) .. ':0')
idem_store(KEYS[4], fingerprint, '{"id":' .. fmt_int(bet_id) .. '}', ARGV[6])
return {'ok', state}
