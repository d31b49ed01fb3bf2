-- credit: add `amount` to a user's balance and append a ledger entry.
-- KEYS[1] wallet hash {u:ID}:wallet      KEYS[2] ledger hash {u:ID}:ledger
-- KEYS[3] idempotency key {u:ID}:idem:<key> KEYS[4] journal of the user's slot
-- ARGV[1] user id   ARGV[2] currency   ARGV[3] amount (canonical integer >= 1)
-- ARGV[4] kind: win | refund | deposit | adjust   ARGV[5] game ('' for none)
-- ARGV[6] ref   ARGV[7] idempotency TTL in seconds   ARGV[8] balance events channel
-- KEYS[5] limits {u:ID}:limits  ARGV[9] limits context (see _limits.lua)
-- Returns {'ok', result} or {'replay', result} with result the JSON
-- {"tx": entry, "balance": n, "version": n}; or {CODE, message} with CODE one
-- of INVALID_AMOUNT, BAD_REQUEST, IDEMPOTENCY_CONFLICT, LIMIT_EXCEEDED; a deposit's
-- refusal {COOL_OFF | SELF_EXCLUDED | DEPOSIT_LIMIT, message, resets at ms}; or
-- {'ZONE', zone}. A deposit counts towards the deposit limits, a win or a refund
-- lowers the loss counters; an adjustment counts nowhere.
journal_to(KEYS[4])
local user, currency, kind, game, ref = ARGV[1], ARGV[2], ARGV[4], ARGV[5], ARGV[6]
local amount = parse_int(ARGV[3], 1)
if not amount then return {'INVALID_AMOUNT', 'amount must be an integer in [1, 2^53-1]'} end
if kind ~= 'win' and kind ~= 'refund' and kind ~= 'deposit' and kind ~= 'adjust' then
  return {'BAD_REQUEST', 'unknown credit kind'}
end

local fingerprint = 'credit|' .. currency .. '|' .. ARGV[3] .. '|' .. kind .. '|' .. game .. '|' .. ref
local previous = idem_lookup(KEYS[3], fingerprint)
if previous == false then return {'IDEMPOTENCY_CONFLICT', 'key was used for another operation'} end
if previous then return {'replay', previous} end

if balance_of(KEYS[1], currency) + amount > MAX_AMOUNT then
  return {'LIMIT_EXCEEDED', 'the balance would exceed 2^53-1'}
end

local limits, zone = nil, nil
if kind ~= 'adjust' then
  limits, zone = limits_open(KEYS[5], ARGV[9])
  if zone then return zone end
end
if kind == 'deposit' then
  local refused = limits_check_deposit(limits, currency, amount)
  if refused then return refused end
  limits_count(limits, currency, 'deposit', amount)
elseif kind ~= 'adjust' then
  limits_count(limits, currency, 'loss', -amount)
end
limits_save(limits)

local tx, new_balance, version = apply(KEYS[1], KEYS[2], ARGV[8], user, currency,
  amount, kind, game, ref, 'done')
local result = result_json(tx, new_balance, version)
journal_flush()
idem_store(KEYS[3], fingerprint, result, ARGV[7])
return {'ok', result}
