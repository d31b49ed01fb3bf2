-- Shared helpers of the wallet scripts. This file is not a script: it is
-- prepended (after _numbers.lua) to each wallet script when the script is
-- loaded, so the helpers run inside that script's atomic execution.

-- The journal of the running script: the Redis stream of the user's cluster
-- slot (`{s<n>}:journal`) to which every ledger entry written or changed and
-- every settled bet record is appended, in the same atomic step, for the
-- archiver to copy to PostgreSQL. Each script names it with journal_to()
-- before its first write, and ends its writes with journal_flush(): the
-- records of one script go as one stream entry (kind 'records': a JSON array
-- of {"k": kind, "d": record}), which costs a third of one entry per record.
-- A function library keeps these locals from one call to the next: journal_to
-- starts them afresh and journal_flush ends the journal, so no call sees the
-- records or the stream of another.
local JOURNAL = nil
local JOURNAL_USER = nil
local JOURNAL_RECORDS = {}

local function journal_to(key)
  if string.sub(key, -8) ~= ':journal' then error('not a journal stream: ' .. key) end
  JOURNAL, JOURNAL_USER, JOURNAL_RECORDS = key, nil, {}
end

-- Keeps one record for the flush: kind 'entry' (a ledger entry as stored) or
-- 'bet' (a settled bet record), of user `user` (one user per script).
local function journal(kind, user, json)
  JOURNAL_USER = user
  JOURNAL_RECORDS[#JOURNAL_RECORDS + 1] = '{"k":"' .. kind .. '","d":' .. json .. '}'
end

-- Appends the records kept so far to the journal, as one stream entry, and
-- ends the journal: money moved after it fails (apply_moves checks JOURNAL).
local function journal_flush()
  if #JOURNAL_RECORDS > 0 then
    redis.call('XADD', JOURNAL, '*', 'k', 'records', 'u', JOURNAL_USER,
      'd', '[' .. table.concat(JOURNAL_RECORDS, ',') .. ']')
  end
  JOURNAL, JOURNAL_USER, JOURNAL_RECORDS = nil, nil, {}
end

-- Ledger entries are stored as JSON built here field by field (cjson would
-- print large integers in exponent form).
local function entry_json(e)
  return '{"id":' .. fmt_int(e.id)
    .. ',"user":' .. json_str(e.user)
    .. ',"type":' .. json_str(e.type)
    .. ',"amount":' .. fmt_int(e.amount)
    .. ',"currency":' .. json_str(e.currency)
    .. ',"game":' .. json_str(e.game)
    .. ',"ref":' .. json_str(e.ref)
    .. ',"status":' .. json_str(e.status)
    .. ',"balance_after":' .. fmt_int(e.balance_after)
    .. ',"created_at":' .. fmt_int(e.created_at) .. '}'
end

local function load_entry(ledger, id)
  local raw = redis.call('HGET', ledger, fmt_int(id))
  if not raw then return nil end
  local e = cjson.decode(raw)
  if e.game == cjson.null then e.game = '' end
  if e.ref == cjson.null then e.ref = '' end
  return e
end

local function save_entry(ledger, e)
  local json = entry_json(e)
  redis.call('HSET', ledger, fmt_int(e.id), json)
  journal('entry', e.user, json)
  return json
end

-- An idempotency record is "<digest of the operation's arguments>\n<result>":
-- 16 hex digits of the SHA-1 of the fingerprint, so the record stays small
-- whatever the arguments.
local function idem_digest(fingerprint)
  return string.sub(redis.sha1hex(fingerprint), 1, 16)
end

-- The stored result of an idempotency key: nil when the key is new, false when
-- it was used with other arguments, else the first result. (Records of earlier
-- versions hold the fingerprint itself.)
local function idem_lookup(idem_key, fingerprint)
  local stored = redis.call('GET', idem_key)
  if not stored then return nil end
  local sep = string.find(stored, '\n', 1, true)
  local held = string.sub(stored, 1, sep - 1)
  if held ~= idem_digest(fingerprint) and held ~= fingerprint then return false end
  return string.sub(stored, sep + 1)
end

local function idem_store(idem_key, fingerprint, result, ttl_s)
  redis.call('SET', idem_key, idem_digest(fingerprint) .. '\n' .. result, 'EX', ttl_s)
end

local function balance_of(wallet, currency)
  return tonumber(redis.call('HGET', wallet, currency) or '0')
end

local function current_version(wallet)
  return tonumber(redis.call('HGET', wallet, 'version') or '0')
end

-- Publishes `message` on a user's channel {u:ID}:events. The script loader
-- sets the command: PUBLISH on one Redis, SPUBLISH on a Redis Cluster (sharded
-- pub/sub: the channel shares the slot of the user's keys, so the message stays
-- on that shard). Redis 6.2 has no SPUBLISH.
local USER_PUBLISH = 'PUBLISH'
local function publish_user(channel, message)
  redis.call(USER_PUBLISH, channel, message)
end

-- Moves money of one currency in one atomic change: appends a ledger entry per
-- move (ids: the next versions, in order), then sets the balance and version
-- once and publishes one balance event (the final balance, how many entries
-- the change appended, and the first move as its reason). `moves` is a list of {delta, kind, status}, sharing `game` and
-- `ref`. Call only after every check has passed: nothing may fail after the
-- first write. Returns the entries' JSON (a list) and the new balance and version.
local function apply_moves(wallet, ledger, channel, user, currency, game, ref, moves)
  if not JOURNAL then error('the script wrote money without naming its journal') end
  local held = redis.call('HMGET', wallet, currency, 'version')
  local balance, version = tonumber(held[1] or '0'), tonumber(held[2] or '0')
  local now, jsons, fields = now_ms(), {}, {}
  for i, move in ipairs(moves) do
    balance, version = balance + move[1], version + 1
    jsons[i] = entry_json({
      id = version, user = user, type = move[2], amount = move[1], currency = currency,
      game = game, ref = ref, status = move[3], balance_after = balance, created_at = now,
    })
    fields[2 * i - 1], fields[2 * i] = fmt_int(version), jsons[i]
    journal('entry', user, jsons[i])
  end
  redis.call('HSET', wallet, currency, fmt_int(balance), 'version', fmt_int(version))
  redis.call('HSET', ledger, unpack(fields))
  publish_user(channel, '{"event":"balance","data":{"currency":' .. json_str(currency)
    .. ',"balance":' .. fmt_int(balance) .. ',"version":' .. fmt_int(version)
    .. ',"entries":' .. fmt_int(#moves)
    .. ',"reason":{"type":' .. json_str(moves[1][2]) .. ',"game":' .. json_str(game)
    .. ',"ref":' .. json_str(ref) .. '}}}')
  return jsons, balance, version
end

-- One move of `delta` (see apply_moves). Returns the entry's JSON and the new
-- balance and version.
local function apply(wallet, ledger, channel, user, currency, delta, kind, game, ref, status)
  local jsons, balance, version = apply_moves(wallet, ledger, channel, user, currency, game, ref,
    {{delta, kind, status}})
  return jsons[1], balance, version
end

-- Closes the open bet `bet_id`, paying `payout` (>= 0) as a "win" entry (which
-- lowers the loss counters of `limits`, the user's limits or nil).
-- Returns the result JSON {"bet", "tx", "balance", "version"}, or nil and an
-- error {CODE, message} when nothing was written.
local function settle_open_bet(wallet, ledger, channel, user, bet_id, payout, limits)
  local bet = bet_id and load_entry(ledger, bet_id)
  if not bet or bet.type ~= 'bet' or bet.status ~= 'open' then
    return nil, {'TX_NOT_OPEN', 'transaction ' .. tostring(bet_id) .. ' is not an open bet'}
  end
  if balance_of(wallet, bet.currency) + payout > MAX_AMOUNT then
    return nil, {'LIMIT_EXCEEDED', 'the balance would exceed 2^53-1'}
  end
  bet.status = 'settled'
  limits_count(limits, bet.currency, 'loss', -payout)
  limits_save(limits)
  local bet_json = save_entry(ledger, bet)
  local tx, balance, version = 'null', balance_of(wallet, bet.currency), current_version(wallet)
  if payout > 0 then
    tx, balance, version = apply(wallet, ledger, channel, user, bet.currency, payout, 'win',
      bet.game, bet.ref, 'done')
  end
  return '{"bet":' .. bet_json .. ',"tx":' .. tx .. ',"balance":' .. fmt_int(balance)
    .. ',"version":' .. fmt_int(version) .. '}'
end

local function result_json(tx_json, balance, version)
  return '{"tx":' .. tx_json .. ',"balance":' .. fmt_int(balance)
    .. ',"version":' .. fmt_int(version) .. '}'
end
