-- debit: take `amount` from a user's balance and append a ledger entry.
-- KEYS[1] wallet hash {u:ID}:wallet      KEYS[2] ledger hash {u:ID}:ledger
-- KEYS[3] idempotency key {u:ID}:idem:<key> KEYS[4] journal of the user's slot
-- ARGV[1] user id   ARGV[2] currency   ARGV[3] amount (canonical integer >= 1)
-- ARGV[4] kind: bet | adjust   ARGV[5] game ('' for none)   ARGV[6] ref
-- ARGV[7] idempotency TTL in seconds   ARGV[8] balance events channel
-- KEYS[5] limits {u:ID}:limits  ARGV[9] limits context (see _limits.lua)
-- Returns {'ok', result} or {'replay', result} with result the JSON
-- {"tx": entry, "balance": n, "version": n}; or {CODE, message} with CODE one
-- of INVALID_AMOUNT, BAD_REQUEST, IDEMPOTENCY_CONFLICT, INSUFFICIENT_FUNDS; or a bet's
-- refusal by a limit {CODE, message, resets at ms} (see limits_check_bet), or
-- {'ZONE', zone}. A bet counts towards the limits; an adjustment does not.
-- A bet starts with status "open" (see settle and rollback); adjust is "done".
journal_to(KEYS[4])
local user, currency, kind, game, ref = ARGV[1], ARGV[2], ARGV[4], ARGV[5], ARGV[6]
local amount = parse_int(ARGV[3], 1)
if not amount then return {'INVALID_AMOUNT', 'amount must be an integer in [1, 2^53-1]'} end
if kind ~= 'bet' and kind ~= 'adjust' then return {'BAD_REQUEST', 'unknown debit kind'} end

local fingerprint = 'debit|' .. currency .. '|' .. ARGV[3] .. '|' .. kind .. '|' .. game .. '|' .. ref
local previous = idem_lookup(KEYS[3], fingerprint)
if previous == false then return {'IDEMPOTENCY_CONFLICT', 'key was used for another operation'} end
if previous then return {'replay', previous} end

local balance = balance_of(KEYS[1], currency)
if balance < amount then
  return {'INSUFFICIENT_FUNDS', 'balance ' .. fmt_int(balance) .. ' is below ' .. fmt_int(amount)}
end

local limits = nil
if kind == 'bet' then
  local zone
  limits, zone = limits_open(KEYS[5], ARGV[9])
  if zone then return zone end
  local refused = limits_check_bet(limits, currency, amount)
  if refused then return refused end
end

local status = 'done'
if kind == 'bet' then status = 'open' end
limits_stake(limits, currency, amount)
limits_save(limits)
local tx, new_balance, version = apply(KEYS[1], KEYS[2], ARGV[8], user, currency,
  -amount, kind, game, ref, status)
local result = result_json(tx, new_balance, version)
journal_flush()
idem_store(KEYS[3], fingerprint, result, ARGV[7])
return {'ok', result}
