-- account_upgrade: turn a guest account into a registered one, keeping its id
-- (so its wallet, ledger and bets), and mark it for journaling again so the
-- archive in PostgreSQL learns its name, kind and password hash.
-- KEYS[1] profile {u:ID}:profile
-- ARGV[1] username  ARGV[2] password hash
-- Returns 1 when the guest was upgraded now, 0 when the account is not a guest (or is gone).
if redis.call('HGET', KEYS[1], 'kind') ~= 'guest' then return 0 end
redis.call('HSET', KEYS[1], 'name', ARGV[1], 'kind', 'registered', 'password', ARGV[2])
redis.call('HDEL', KEYS[1], 'journaled')
return 1
