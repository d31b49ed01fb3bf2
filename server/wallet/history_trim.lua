-- history_trim: keep a user's recent history in Redis, once PostgreSQL holds the
-- rest: drop ledger entries older than the newest `window` and bet records older
-- than the newest `window`, with their index members, never one PostgreSQL does
-- not hold yet. A bet entry still open
-- stays (its settlement reads it) and is listed in the history hash, to be dropped
-- by a later call once it is closed.
-- KEYS[1] wallet {u:ID}:wallet  KEYS[2] ledger  KEYS[3] ledger index
-- KEYS[4] bet records {u:ID}:bets  KEYS[5] bet index {u:ID}:bets:idx
-- KEYS[6] history hash {u:ID}:history: `floor` (Redis holds every entry from this id
-- on), `bets_floor` (every bet record from this id on), `open:<id>` (kept open bets)
-- ARGV[1] window (>= 1)  ARGV[2] most entries and records dropped by one call
-- ARGV[3] highest entry id PostgreSQL holds  ARGV[4] highest bet id PostgreSQL holds
-- Returns the number of ledger entries and bet records dropped.
local window, budget = tonumber(ARGV[1]), tonumber(ARGV[2])
local archived_entries, archived_bets = tonumber(ARGV[3]), tonumber(ARGV[4])
local dropped = 0

local function forget_entry(id, entry)
  redis.call('HDEL', KEYS[2], fmt_int(id))
  local game = string.match(entry, '"game":"([^"]*)"')
  if game then redis.call('ZREM', KEYS[3], game .. ':' .. string.format('%015d', id)) end
  dropped = dropped + 1
end

local function is_open(entry)
  return string.find(entry, '"status":"open"', 1, true) ~= nil
end

local history = redis.call('HGETALL', KEYS[6])
local floor = 1
for i = 1, #history, 2 do
  local name, value = history[i], history[i + 1]
  if name == 'floor' then
    floor = tonumber(value)
  elseif string.sub(name, 1, 5) == 'open:' then  -- kept while open: closed since?
    local id = tonumber(string.sub(name, 6))
    local entry = redis.call('HGET', KEYS[2], fmt_int(id))
    if not entry or not is_open(entry) then
      if entry then forget_entry(id, entry) end
      redis.call('HDEL', KEYS[6], name)
    end
  end
end

local version = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
local id = floor
while id <= math.min(version - window, archived_entries) and dropped < budget do
  local entry = redis.call('HGET', KEYS[2], fmt_int(id))
  if entry and is_open(entry) then
    redis.call('HSET', KEYS[6], 'open:' .. fmt_int(id), '1')
  elseif entry then
    forget_entry(id, entry)
  end
  id = id + 1
end
if id ~= floor then redis.call('HSET', KEYS[6], 'floor', fmt_int(id)) end

local excess = math.min(redis.call('ZLEXCOUNT', KEYS[5], '[*:', '[*:~') - window, budget - dropped)
if excess > 0 then
  local last = 0
  for _, member in ipairs(redis.call('ZRANGEBYLEX', KEYS[5], '[*:', '[*:~', 'LIMIT', 0, excess)) do
    local bet_id = tonumber(string.sub(member, 3))
    if bet_id > archived_bets then break end
    local record = redis.call('HGET', KEYS[4], fmt_int(bet_id)) or ''
    local game = string.match(record, '"game":"([^"]*)"')
    redis.call('HDEL', KEYS[4], fmt_int(bet_id))
    redis.call('ZREM', KEYS[5], member)
    if game then redis.call('ZREM', KEYS[5], game .. ':' .. string.format('%015d', bet_id)) end
    last = bet_id
    dropped = dropped + 1
  end
  redis.call('HSET', KEYS[6], 'bets_floor', fmt_int(last + 1))
end
return dropped
