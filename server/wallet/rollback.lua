-- rollback: reverse an open bet: refund its amount as a "rollback" entry and
-- mark the bet "rolled_back". A settled or already reversed bet is refused.
-- KEYS[1] wallet hash {u:ID}:wallet      KEYS[2] ledger hash {u:ID}:ledger
-- KEYS[3] ledger index {u:ID}:ledger:idx KEYS[4] idempotency key {u:ID}:idem:<key>
-- ARGV[1] user id   ARGV[2] id of the bet entry   ARGV[3] idempotency TTL in seconds
-- ARGV[4] balance events channel
-- Returns {'ok', result} or {'replay', result} with result the JSON
-- {"bet": reversed bet entry, "tx": rollback entry, "balance": n, "version": n};
-- or {CODE, message} with CODE one of IDEMPOTENCY_CONFLICT, TX_NOT_OPEN,
-- LIMIT_EXCEEDED.
local user = ARGV[1]
local bet_id = parse_int(ARGV[2], 1)

local fingerprint = 'rollback|' .. ARGV[2]
local previous = idem_lookup(KEYS[4], fingerprint)
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

bet.status = 'rolled_back'
local bet_json = save_entry(KEYS[2], bet)
local tx, balance, version = apply(KEYS[1], KEYS[2], KEYS[3], ARGV[4], user, bet.currency,
  amount, 'rollback', bet.game, bet.ref, 'done')
local result = '{"bet":' .. bet_json .. ',"tx":' .. tx .. ',"balance":' .. fmt_int(balance)
  .. ',"version":' .. fmt_int(version) .. '}'
idem_store(KEYS[4], fingerprint, result, ARGV[3])
return {'ok', result}
