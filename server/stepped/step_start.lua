-- step_start: start a step-by-step game (Mines, HiLo, Quiz) in one atomic step.
-- The caller has drawn the game from the seed pair and nonce it believes active;
-- this script checks that they still are (compare-and-set), then takes the
-- nonce, debits the stake (ledger type "bet", status "open"), stores the game's
-- state with its seeds and what the caller adds (the drawn game), lists the game
-- in the games-due index when it ends by itself, and publishes the player's
-- view. At most one active game per user and game.
-- KEYS[1] wallet {u:ID}:wallet          KEYS[2] ledger {u:ID}:ledger
-- KEYS[3] idempotency key of the start  KEYS[4] seed pair {u:ID}:seeds
-- KEYS[5] active games {u:ID}:games     KEYS[6] bets open on the pair {u:ID}:seeds:open
-- KEYS[7] games due for the expiry sweep, the index of the user's cluster slot
-- KEYS[8] journal of the user's slot    KEYS[9] limits {u:ID}:limits
-- ARGV[1] user id  ARGV[2] currency  ARGV[3] amount  ARGV[4] game
-- ARGV[5] start params as canonical JSON  ARGV[6] idempotency TTL (s)
-- ARGV[7] balance and game events channel
-- ARGV[8] when the game ends by itself if nobody acts (ms), '' if it never does
-- ARGV[9] prefix of the game's member in the due index (the bet id is appended)
-- ARGV[10] server seed hash the game was drawn with  ARGV[11] nonce it was drawn with
-- ARGV[12] the caller's fields of the state, a JSON object: the drawn game's "record" and
-- the player's public "name" (for the live feed when the game ends)
-- ARGV[13] the `game.state` event's data without its bet id: a JSON object '{...}'
-- ARGV[14] limits context (see _limits.lua)
-- Returns {'ok', state} with state the JSON {"id", "user", "game", "amount", "currency",
-- "params", "server_seed", "server_seed_hash", "client_seed", "nonce", "created_at",
-- "record", "name"}; {'replay', '{"id": n}'} when this key already started the same game;
-- {'STALE', server_seed, server_seed_hash, client_seed, nonce} when the pair or its
-- nonce moved on (nothing written: draw again with these); {CODE, message} with CODE
-- one of INVALID_AMOUNT, IDEMPOTENCY_CONFLICT, GAME_ACTIVE, NO_SEEDS,
-- INSUFFICIENT_FUNDS; a limit's refusal {CODE, message, resets at ms}; or {'ZONE', zone}.
-- The games hash holds, per game, the state JSON under <game> and its version
-- "<bet id>:<step>" under <game>:v (checked by step_update); a started game is at
-- step 1.
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
local pair = redis.call('HMGET', KEYS[4], 'server_seed', 'server_seed_hash', 'client_seed', 'nonce')
if not pair[1] then return {'NO_SEEDS', 'the user has no seed pair yet'} end
if pair[2] ~= ARGV[10] or pair[4] ~= ARGV[11] then
  return {'STALE', pair[1], pair[2], pair[3], pair[4]}
end
local limits, zone = limits_open(KEYS[9], ARGV[14])
if zone then return zone end
local opened, bet_id = open_bet(KEYS[1], KEYS[2], KEYS[4], KEYS[6], ARGV[7], user, currency,
  amount, game, params, limits)
if not opened then return bet_id end
local id = fmt_int(bet_id)
local state = string.sub(opened, 1, -2) .. ',' .. string.sub(ARGV[12], 2)
redis.call('HSET', KEYS[5], game, state, game .. ':v', id .. ':1')
if ARGV[8] ~= '' then redis.call('ZADD', KEYS[7], ARGV[8], ARGV[9] .. id) end
publish_user(ARGV[7], '{"event":"game.state","data":{"bet_id":' .. id .. ','
  .. string.sub(ARGV[13], 2) .. '}')
journal_flush()
idem_store(KEYS[3], fingerprint, '{"id":' .. id .. '}', ARGV[6])
return {'ok', state}
