-- bet_record: store the public record of a settled bet once, for a game whose
-- settlement does not write it itself (Crash: the round's hash and point are
-- only known at its end), and index it for the bet history.
-- KEYS[1] bet records {u:ID}:bets  KEYS[2] bet index {u:ID}:bets:idx
-- KEYS[3] journal of the user's slot
-- ARGV[1] bet id (the id of its debit entry)  ARGV[2] game  ARGV[3] the record JSON
-- ARGV[4] user id
-- Returns 1 when the record was stored now, 0 when it was stored before.
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[3]) == 0 then return 0 end
redis.call('XADD', KEYS[3], '*', 'k', 'bet', 'u', ARGV[4], 'd', ARGV[3])
local id = string.format('%015d', tonumber(ARGV[1]))
redis.call('ZADD', KEYS[2], 0, ARGV[2] .. ':' .. id, 0, '*:' .. id)
return 1
