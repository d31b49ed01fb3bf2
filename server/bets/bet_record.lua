-- bet_record: store the public record of a settled bet once, for a game whose
-- settlement does not write it itself (Crash: the round's hash and point are
-- only known at its end), and journal it.
-- KEYS[1] bet records {u:ID}:bets  KEYS[2] journal of the user's slot
-- ARGV[1] bet id (the id of its debit entry)  ARGV[2] the record JSON  ARGV[3] user id
-- Returns 1 when the record was stored now, 0 when it was stored before.
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('XADD', KEYS[2], '*', 'k', 'bet', 'u', ARGV[3], 'd', ARGV[2])
return 1
