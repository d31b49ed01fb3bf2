-- round_start: BETTING -> RUNNING. The round starts now; a bet still 'pending'
-- (its debit not confirmed) becomes 'late': it does not play and is refunded.
-- KEYS[1] round hash   KEYS[2] bets hash   KEYS[3] lease
-- ARGV[1] lease value   ARGV[2] fencing number   ARGV[3] round id
-- Returns {'ok', start time ms}, or {CODE, message} with CODE one of FENCED,
-- CONFLICT (the round is not that round in BETTING).
local err = lease_error(KEYS[3], ARGV[1])
if err then return err end
local r = redis.call('HMGET', KEYS[1], 'id', 'phase', 'fence')
if r[1] ~= ARGV[3] or r[2] ~= 'betting' then
  return {'CONFLICT', 'round ' .. ARGV[3] .. ' is not in betting'}
end
if r[3] ~= ARGV[2] then return {'FENCED', 'round ' .. ARGV[3] .. ' belongs to fence ' .. r[3]} end

local now = now_ms()
redis.call('HSET', KEYS[1], 'phase', 'running', 'started_at', fmt_int(now))
local all = redis.call('HGETALL', KEYS[2])
for i = 2, #all, 2 do
  local b = cjson.decode(all[i])
  if b.status == 'pending' then
    b.status = 'late'
    redis.call('HSET', KEYS[2], b.user, bet_json(b))
  end
end
return {'ok', now}
