-- history_trim: keep a user's recent history in Redis, once PostgreSQL holds the
-- rest: drop ledger entries older than the newest `window` and bet records older
-- than the newest `window`, never one PostgreSQL does not hold yet. A bet entry
-- still open stays (its settlement reads it) and is listed in the history hash,
-- to be dropped by a later call once it is closed.
-- KEYS[1] wallet {u:ID}:wallet  KEYS[2] ledger {u:ID}:ledger  KEYS[3] bet records {u:ID}:bets
-- KEYS[4] history hash {u:ID}:history: `floor` (Redis holds every entry from this id
-- on), `bets_floor` (every bet record from this id on), `open:<id>` (kept open bets)
-- ARGV[1] window (>= 1)  ARGV[2] most entries and records dropped by one call
-- ARGV[3] highest entry id PostgreSQL holds  ARGV[4] highest bet id PostgreSQL holds
-- Returns the number of ledger entries and bet records dropped.
local window, budget = tonumber(ARGV[1]), tonumber(ARGV[2])
local archived_entries, archived_bets = tonumber(ARGV[3]), tonumber(ARGV[4])
local doomed = {}  -- ledger fields to delete, in one HDEL

local function is_open(entry)
  return string.find(entry, '"status":"open"', 1, true) ~= nil
end

local history = redis.call('HGETALL', KEYS[4])
local floor = 1
for i = 1, #history, 2 do
  local name, value = history[i], history[i + 1]
  if name == 'floor' then
    floor = tonumber(value)
  elseif string.sub(name, 1, 5) == 'open:' then  -- kept while open: closed since?
    local id = string.sub(name, 6)
    local entry = redis.call('HGET', KEYS[2], id)
    if not entry or not is_open(entry) then
      if entry then doomed[#doomed + 1] = id end
      redis.call('HDEL', KEYS[4], name)
    end
  end
end

local version = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
local upto = math.min(version - window, archived_entries, floor + budget - #doomed - 1)
if upto >= floor then
  local ids = {}
  for id = floor, upto do ids[#ids + 1] = fmt_int(id) end
  local entries = redis.call('HMGET', KEYS[2], unpack(ids))
  for i = 1, #ids do
    local entry = entries[i]
    if entry and is_open(entry) then
      redis.call('HSET', KEYS[4], 'open:' .. ids[i], '1')
    elseif entry then
      doomed[#doomed + 1] = ids[i]
    end
  end
  redis.call('HSET', KEYS[4], 'floor', fmt_int(upto + 1))
end
if #doomed > 0 then redis.call('HDEL', KEYS[2], unpack(doomed)) end

local excess = math.min(redis.call('HLEN', KEYS[3]) - window, budget - #doomed)
local gone = {}
if excess > 0 then
  local ids = redis.call('HKEYS', KEYS[3])
  for i = 1, #ids do ids[i] = tonumber(ids[i]) end
  table.sort(ids)
  for i = 1, excess do
    if ids[i] > archived_bets then break end
    gone[#gone + 1] = fmt_int(ids[i])
  end
  if #gone > 0 then
    redis.call('HDEL', KEYS[3], unpack(gone))
    redis.call('HSET', KEYS[4], 'bets_floor', fmt_int(ids[#gone] + 1))
  end
end
return #doomed + #gone
