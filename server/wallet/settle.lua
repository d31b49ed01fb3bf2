-- settle: close an open bet, crediting its payout (if any) as a "win" entry.
-- KEYS[1] wallet hash {u:ID}:wallet      KEYS[2] ledger hash {u:ID}:ledger
-- KEYS[3] idempotency key {u:ID}:idem:<key> KEYS[4] journal of the user's slot
-- ARGV[1] user id   ARGV[2] id of the bet entry   ARGV[3] payout (integer >= 0)
-- ARGV[4] idempotency TTL in seconds   ARGV[5] balance events channel
-- KEYS[5] limits {u:ID}:limits  ARGV[6] limits context (the payout lowers the loss counters)
-- Returns {'ok', result} or {'replay', result} with result the JSON
-- {"bet": settled bet entry, "tx": win entry or null, "balance": n, "version": n};
-- or {CODE, message} with CODE one of INVALID_AMOUNT, IDEMPOTENCY_CONFLICT,
-- TX_NOT_OPEN (no such bet, or already settled or rolled back), LIMIT_EXCEEDED; or {'ZONE', zone}.
journal_to(KEYS[4])
local user = ARGV[1]
local bet_id = parse_int(ARGV[2], 1)
local payout = parse_int(ARGV[3], 0)
if not payout then return {'INVALID_AMOUNT', 'payout must be an integer in [0, 2^53-1]'} end

local fingerprint = 'settle|' .. ARGV[2] .. '|' .. ARGV[3]
local previous = idem_lookup(KEYS[3], fingerprint)
if previous == false then return {'IDEMPOTENCY_CONFLICT', 'key was used for another operation'} end
if previous then return {'replay', previous} end

local limits, zone = limits_open(KEYS[5], ARGV[6])
if zone then return zone end
local result, err = settle_open_bet(KEYS[1], KEYS[2], ARGV[5], user, bet_id, payout, limits)
if not result then return err end
journal_flush()
idem_store(KEYS[3], fingerprint, result, ARGV[4])
return {'ok', result}
