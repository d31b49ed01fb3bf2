-- round_adopt: a new leader takes over a round still in BETTING (it goes on).
-- KEYS[1] round hash   KEYS[2] lease
-- ARGV[1] lease value   ARGV[2] fencing number   ARGV[3] round id
-- Returns {'ok', server time ms}, or {CODE, message} with CODE one of FENCED,
-- CONFLICT (the round is not that round in BETTING).
local err = lease_error(KEYS[2], ARGV[1])
if err then return err end
local r = redis.call('HMGET', KEYS[1], 'id', 'phase', 'fence')
if r[1] ~= ARGV[3] or r[2] ~= 'betting' then
  return {'CONFLICT', 'round ' .. ARGV[3] .. ' is not in betting'}
end
if tonumber(r[3]) >= tonumber(ARGV[2]) then
  return {'FENCED', 'round ' .. ARGV[3] .. ' belongs to fence ' .. r[3]}
end
redis.call('HSET', KEYS[1], 'fence', ARGV[2])
return {'ok', now_ms()}
