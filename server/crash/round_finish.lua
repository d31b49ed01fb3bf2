-- round_finish: mark a CRASHED round settled: every bet of it is closed in the
-- wallet, so the next round may open.
-- KEYS[1] round hash   KEYS[2] lease
-- ARGV[1] lease value   ARGV[2] round id
-- Returns {'ok'}, or {CODE, message} with CODE one of FENCED, CONFLICT.
local err = lease_error(KEYS[2], ARGV[1])
if err then return err end
local r = redis.call('HMGET', KEYS[1], 'id', 'phase')
if r[1] ~= ARGV[2] or r[2] ~= 'crashed' then
  return {'CONFLICT', 'round ' .. ARGV[2] .. ' has not crashed'}
end
redis.call('HSET', KEYS[1], 'settled', '1')
return {'ok'}
