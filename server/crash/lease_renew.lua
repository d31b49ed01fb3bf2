-- lease_renew: extend the leader lease if the caller still holds it.
-- KEYS[1] lease string
-- ARGV[1] lease value '<fence>/<token>'   ARGV[2] lease time in ms
-- Returns 1 if renewed, 0 if the lease expired or another leader holds it.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
