-- lease_release: give the leader lease up (compare and delete).
-- KEYS[1] lease string
-- ARGV[1] lease value '<fence>/<token>'
-- Returns 1 if released, 0 if the caller did not hold it.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
