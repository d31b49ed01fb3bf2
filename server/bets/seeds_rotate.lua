-- seeds_rotate: reveal the active seed pair and start a new one at nonce 0.
-- Refused while any bet is open on the active pair (a game in progress): its
-- outcome would be revealed before it settles.
-- KEYS[1] seed pair {u:ID}:seeds  KEYS[2] revealed pairs {u:ID}:seeds:revealed
-- KEYS[3] bets open on the pair {u:ID}:seeds:open  KEYS[4] journal of the user's slot
-- ARGV[1] new server seed (64 hex)  ARGV[2] its SHA-256 hex  ARGV[3] new client seed
-- ARGV[4] now (ms)  ARGV[5] user id
-- Returns {'ok', revealed} with revealed the JSON {"server_seed", "server_seed_hash",
-- "client_seed", "nonce" (the next unused nonce), "revealed_at"} of the old pair
-- ('null' if there was none); or {'GAME_ACTIVE', message}.
if redis.call('SCARD', KEYS[3]) > 0 then
  return {'GAME_ACTIVE', 'finish the games in progress first: their outcome uses this seed pair'}
end
local old = redis.call('HMGET', KEYS[1], 'server_seed', 'server_seed_hash', 'client_seed', 'nonce')
local revealed = 'null'
if old[1] then
  revealed = '{"server_seed":' .. cjson.encode(old[1]) .. ',"server_seed_hash":'
    .. cjson.encode(old[2]) .. ',"client_seed":' .. cjson.encode(old[3])
    .. ',"nonce":' .. old[4] .. ',"revealed_at":' .. ARGV[4] .. '}'
  redis.call('HSET', KEYS[2], old[2], revealed)
  redis.call('XADD', KEYS[4], '*', 'k', 'seed', 'u', ARGV[5], 'd', revealed)
end
redis.call('HSET', KEYS[1], 'server_seed', ARGV[1], 'server_seed_hash', ARGV[2],
  'client_seed', ARGV[3], 'nonce', 0)
return {'ok', revealed}
