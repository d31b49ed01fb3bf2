-- round_void: a new leader ends a round that an earlier leader left RUNNING:
-- CRASHED and voided. Open bets become 'void' (the caller refunds them); bets
-- already cashed out keep their payout; the hash and point are revealed.
-- KEYS[1] round hash   KEYS[2] bets hash   KEYS[3] targets zset   KEYS[4] history list
-- KEYS[5] lease
-- ARGV[1] lease value   ARGV[2] fencing number   ARGV[3] round id
-- ARGV[4] crash point x100   ARGV[5] round hash   ARGV[6] history entry JSON
-- ARGV[7] history length
-- Returns {'ok'}, or {CODE, message} with CODE one of FENCED (the round is
-- this leader's own), CONFLICT (the round is not that round, RUNNING).
local err = lease_error(KEYS[5], ARGV[1])
if err then return err end
local r = redis.call('HMGET', KEYS[1], 'id', 'phase', 'fence')
if r[1] ~= ARGV[3] or r[2] ~= 'running' then
  return {'CONFLICT', 'round ' .. ARGV[3] .. ' is not running'}
end
if tonumber(r[3]) >= tonumber(ARGV[2]) then
  return {'FENCED', 'round ' .. ARGV[3] .. ' belongs to fence ' .. r[3]}
end
redis.call('HSET', KEYS[1], 'phase', 'crashed', 'voided', '1', 'fence', ARGV[2],
  'point', ARGV[4], 'hash', ARGV[5], 'crashed_at', fmt_int(now_ms()))
close_open_bets(KEYS[2], 'void')
redis.call('DEL', KEYS[3])
push_history(KEYS[4], ARGV[6], ARGV[7])
return {'ok'}
