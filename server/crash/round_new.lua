-- round_new: open the next round in BETTING, once the previous one is settled.
-- KEYS[1] round hash   KEYS[2] bets hash   KEYS[3] targets zset   KEYS[4] lease
-- ARGV[1] lease value   ARGV[2] fencing number   ARGV[3] round id (the previous id + 1, or 1)
-- ARGV[4] commitment: the previous round's hash (or the terminating hash)
-- ARGV[5] betting time in ms
-- Returns {'ok', server time ms, betting deadline ms}, or {CODE, message} with
-- CODE one of FENCED, CONFLICT (the previous round is not settled, or another id is next).
local err = lease_error(KEYS[4], ARGV[1])
if err then return err end
local r = redis.call('HMGET', KEYS[1], 'id', 'phase', 'settled')
local expected = 1
if r[1] then
  if r[2] ~= 'crashed' or r[3] ~= '1' then
    return {'CONFLICT', 'round ' .. r[1] .. ' is not settled'}
  end
  expected = tonumber(r[1]) + 1
end
if tonumber(ARGV[3]) ~= expected then
  return {'CONFLICT', 'the next round is ' .. fmt_int(expected) .. ', not ' .. ARGV[3]}
end

local now = now_ms()
local deadline = now + tonumber(ARGV[5])
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('HSET', KEYS[1], 'id', ARGV[3], 'phase', 'betting', 'fence', ARGV[2],
  'commitment', ARGV[4], 'betting_ends', fmt_int(deadline), 'started_at', '0', 'tick', '-1',
  'mult', '100', 'voided', '0', 'settled', '0')
return {'ok', now, deadline}
