-- unlock: release a per-user flow lock only if this caller still holds it.
-- KEYS[1] lock key {u:ID}:lock
-- ARGV[1] the holder's token (set with SET NX PX when the lock was taken)
-- Returns 1 when released, 0 when the lock had expired or belongs to another holder.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
