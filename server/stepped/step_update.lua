-- step_update: apply one step of a step-by-step game if nobody changed the
-- game since it was read (compare-and-set on its version), publish the
-- player's view, and when the step ends the game, settle the bet through the
-- wallet and store its record, all in one atomic step.
-- KEYS[1] wallet {u:ID}:wallet          KEYS[2] ledger {u:ID}:ledger
-- KEYS[3] idempotency key "game-settle:<bet id>"  KEYS[4] active games {u:ID}:games
-- KEYS[5] bet records {u:ID}:bets       KEYS[6] bets open on the pair {u:ID}:seeds:open
-- KEYS[7] games due for the expiry sweep, the index of the user's cluster slot
-- KEYS[8] journal of the user's slot
-- ARGV[1] user id  ARGV[2] game  ARGV[3] bet id  ARGV[4] expected version "<bet id>:<step>"
-- ARGV[5] the new state JSON (ignored when the game ends)
-- ARGV[6] payout (integer >= 0) when this step ends the game, '' while it goes on
-- ARGV[7] the settled bet record JSON when it ends, else ''
-- ARGV[8] the `game.state` event frame to publish  ARGV[9] idempotency TTL (s)
-- ARGV[10] balance and game events channel
-- ARGV[11] when the game ends by itself if nobody acts (ms), '' if it never does
-- ARGV[12] the game's member in the due index
-- KEYS[9] limits {u:ID}:limits  ARGV[13] limits context (a payout lowers the loss counters)
-- Returns {'ok', next version} while the game goes on, {'ok', settle result} when it
-- ends (the wallet's {"bet", "tx", "balance", "version"} JSON); or {CODE, message}
-- with CODE one of GAME_NOT_ACTIVE, CONFLICT (changed since read: read it again),
-- TX_NOT_OPEN, LIMIT_EXCEEDED, INVALID_AMOUNT, ZONE {'ZONE', zone}.
journal_to(KEYS[8])
local user, game = ARGV[1], ARGV[2]
local version_field = game .. ':v'
local version = redis.call('HGET', KEYS[4], version_field)
if not version or string.sub(version, 1, #ARGV[3] + 1) ~= ARGV[3] .. ':' then
  return {'GAME_NOT_ACTIVE', 'no ' .. game .. ' game is in progress'}
end
if version ~= ARGV[4] then return {'CONFLICT', 'the game changed; read it again'} end

if ARGV[6] == '' then
  local step = tonumber(string.sub(version, #ARGV[3] + 2)) + 1
  local next_version = ARGV[3] .. ':' .. fmt_int(step)
  redis.call('HSET', KEYS[4], game, ARGV[5], version_field, next_version)
  if ARGV[11] == '' then
    redis.call('ZREM', KEYS[7], ARGV[12])
  else
    redis.call('ZADD', KEYS[7], ARGV[11], ARGV[12])
  end
  publish_user(ARGV[10], ARGV[8])
  return {'ok', next_version}
end

local payout = parse_int(ARGV[6], 0)
if not payout then return {'INVALID_AMOUNT', 'payout must be an integer in [0, 2^53-1]'} end
local limits, zone = limits_open(KEYS[9], ARGV[13])
if zone then return zone end
local result, err = settle_open_bet(KEYS[1], KEYS[2], ARGV[10], user, tonumber(ARGV[3]), payout,
  limits)
if not result then return err end
redis.call('HSET', KEYS[5], ARGV[3], ARGV[7])
journal('bet', user, ARGV[7])
redis.call('HDEL', KEYS[4], game, version_field)
close_bet(KEYS[6], tonumber(ARGV[3]))
redis.call('ZREM', KEYS[7], ARGV[12])
publish_user(ARGV[10], ARGV[8])
journal_flush()
idem_store(KEYS[3], 'game-settle|' .. ARGV[3] .. '|' .. ARGV[6], result, ARGV[9])
return {'ok', result}
