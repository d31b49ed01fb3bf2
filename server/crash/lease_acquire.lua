-- lease_acquire: take the leader lease when it is free (or held by this same
-- token, e.g. after a restart of the loop), always with a new fencing number.
-- KEYS[1] lease string   KEYS[2] fencing counter
-- ARGV[1] token of this instance (no '/')   ARGV[2] lease time in ms
-- Returns the lease value '<fence>/<token>', or nil when another token holds it.
local held = redis.call('GET', KEYS[1])
if held and string.sub(held, string.find(held, '/', 1, true) + 1) ~= ARGV[1] then
  return false
end
local fence = redis.call('INCR', KEYS[2])
local value = string.format('%d', fence) .. '/' .. ARGV[1]
redis.call('SET', KEYS[1], value, 'PX', ARGV[2])
return value
