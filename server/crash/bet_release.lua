-- bet_release: drop a reserved place whose debit was refused (nothing was debited).
-- KEYS[1] round hash   KEYS[2] bets hash
-- ARGV[1] round id   ARGV[2] user id   ARGV[3] bet key
-- Returns 1 if the place was dropped, 0 if there was none to drop.
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] then return 0 end
local held = redis.call('HGET', KEYS[2], ARGV[2])
if not held then return 0 end
local b = cjson.decode(held)
if b.key ~= ARGV[3] or (b.status ~= 'pending' and b.status ~= 'late') then return 0 end
redis.call('HDEL', KEYS[2], ARGV[2])
return 1
