-- rollback: reverse an open bet: give its amount back as a "rollback" entry
-- (or "refund", for a game round the house voided) and mark the bet
-- "rolled_back". A settled or already reversed bet is refused.
-- KEYS[1] wallet hash {u:ID}:wallet      KEYS[2] ledger hash {u:ID}:ledger
-- KEYS[3] idempotency key {u:ID}:idem:<key> KEYS[4] journal of the user's slot
-- ARGV[1] user id   ARGV[2] id of the bet entry   ARGV[3] entry type: rollback | refund
-- ARGV[4] idempotency TTL in seconds   ARGV[5] balance events channel
-- KEYS[5] limits {u:ID}:limits  ARGV[6] limits context (the stake given back lowers the loss counters)
-- Returns {'ok', result} or {'replay', result} with result the JSON
-- {"bet": reversed bet entry, "tx": the new entry, "balance": n, "version": n};
-- or {CODE, message} with CODE one of IDEMPOTENCY_CONFLICT, TX_NOT_OPEN,
-- LIMIT_EXCEEDED, ZONE {'ZONE', zone}.
journal_to(KEYS[4])
local user, kind = ARGV[1], ARGV[3]
local bet_id = parse_int(ARGV[2], 1)
if kind ~= 'rollback' and kind ~= 'refund' then return {'BAD_REQUEST', 'unknown rollback kind'} end

local fingerprint = 'rollback|' .. ARGV[2] .. '|' .. kind
local previous = idem_lookup(KEYS[3], fingerprint)
if previous == false then return {'IDEMPOTENCY_CONFLICT', 'key was used for another operation'} end
if previous then return {'replay', previous} end

local bet = bet_id and load_entry(KEYS[2], bet_id)
if not bet or bet.type ~= 'bet' or bet.status ~= 'open' then
  return {'TX_NOT_OPEN', 'transaction ' .. ARGV[2] .. ' is not an open bet'}
end
local amount = -bet.amount
if balance_of(KEYS[1], bet.currency) + amount > MAX_AMOUNT then
  return {'LIMIT_EXCEEDED', 'the balance would exceed 2^53-1'}
end

local limits, zone = limits_open(KEYS[5], ARGV[6])
if zone then return zone end

bet.status = 'rolled_back'
limits_count(limits, bet.currency, 'loss', -amount)
limits_save(limits)
local bet_json = save_entry(KEYS[2], bet)
local tx, balance, version = apply(KEYS[1], KEYS[2], ARGV[5], user, bet.currency,
  amount, kind, bet.game, bet.ref, 'done')
local result = '{"bet":' .. bet_json .. ',"tx":' .. tx .. ',"balance":' .. fmt_int(balance)
  .. ',"version":' .. fmt_int(version) .. '}'
journal_flush()
idem_store(KEYS[3], fingerprint, result, ARGV[4])
return {'ok', result}
