-- seeds_ensure: give a user a seed pair if they have none.
-- KEYS[1] seed pair {u:ID}:seeds
-- ARGV[1] server seed (64 hex)  ARGV[2] its SHA-256 hex  ARGV[3] client seed
-- Returns 1 when the pair was created, 0 when the user already had one.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'server_seed', ARGV[1], 'server_seed_hash', ARGV[2],
  'client_seed', ARGV[3], 'nonce', 0)
return 1
