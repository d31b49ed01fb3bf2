-- Responsible-play limits, checked and counted inside the scripts that move
-- money. This file is not a script: it is prepended (after the ledger
-- helpers) to each of them, so a limit is checked and its counters move in the
-- same atomic step as the money: two tabs or instances cannot overshoot it.
--
-- The user's hash {u:ID}:limits (absent: no limits, nothing is counted):
--   zone                         IANA time zone the periods follow (absent: UTC)
--   <cur>:<kind>:<period>        limit in force, minor units (kind loss | wager |
--                                deposit; period day | week | month)
--   <cur>:<kind>:<period>:next   a raise or removal waiting: "<amount or ''>|<ms it applies>"
--   pause, pause_until           cool_off | self_exclusion, and the ms it ends ('never')
--   reality_check_min            the player's reality-check interval (not used here)
--   <cur>:<period>:id            the period the counters below belong to
--   <cur>:<period>:loss|wager|deposit  counters of that period
-- Lua has no time zones: the caller passes the limits context, one ARGV string
-- "<now ms> <zone> <day id> <day end ms> <week id> <week end ms> <month id> <month end ms>",
-- computed in the zone it believes the user has. Counters whose period id is not
-- the current one count as 0 and are overwritten: they reset by themselves.

local LIMIT_PERIODS = {'day', 'week', 'month'}
local PERIOD_WORDS = {day = 'daily', week = 'weekly', month = 'monthly'}

-- The limits of the user under `key` as of `context`: nil when the user has
-- none (an empty set with `always`); nil and {'ZONE', zone} when the context was
-- computed in another zone than the user's (nothing was written: compute it
-- again in that zone).
local function limits_open(key, context, always)
  local raw = redis.call('HGETALL', key)
  if #raw == 0 and not always then return nil end
  local f = {}
  for i = 1, #raw, 2 do f[raw[i]] = raw[i + 1] end
  local c = {}
  for word in string.gmatch(context, '%S+') do c[#c + 1] = word end
  local zone = f.zone or 'UTC'
  if zone ~= c[2] then return nil, {'ZONE', zone} end
  return {key = key, f = f, now = tonumber(c[1]), set = {},
    ids = {day = c[3], week = c[5], month = c[7]},
    ends = {day = c[4], week = c[6], month = c[8]}}
end

local function limits_put(L, field, value)
  L.f[field] = value
  if value == nil then L.set[field] = false else L.set[field] = value end
end

-- The limit `name` in force now (a waiting raise or removal applies once due), or nil.
local function limit_value(L, name)
  local waiting = L.f[name .. ':next']
  if waiting then
    local sep = string.find(waiting, '|', 1, true)
    if L.now >= tonumber(string.sub(waiting, sep + 1)) then
      local value = string.sub(waiting, 1, sep - 1)
      if value == '' then value = nil end
      limits_put(L, name, value)
      limits_put(L, name .. ':next', nil)
    end
  end
  return tonumber(L.f[name])
end

local function limit_counter(L, currency, period, kind)
  if L.f[currency .. ':' .. period .. ':id'] ~= L.ids[period] then return 0 end
  return tonumber(L.f[currency .. ':' .. period .. ':' .. kind] or '0')
end

-- Adds `delta` to the counter `kind` of every period of `currency` (in memory).
local function limits_count(L, currency, kind, delta)
  if not L or delta == 0 then return end
  for _, period in ipairs(LIMIT_PERIODS) do
    local id_field = currency .. ':' .. period .. ':id'
    if L.f[id_field] ~= L.ids[period] then
      limits_put(L, id_field, L.ids[period])
      for _, counter in ipairs({'loss', 'wager', 'deposit'}) do
        local field = currency .. ':' .. period .. ':' .. counter
        if L.f[field] then limits_put(L, field, nil) end
      end
    end
    local field = currency .. ':' .. period .. ':' .. kind
    limits_put(L, field, fmt_int(tonumber(L.f[field] or '0') + delta))
  end
end

-- Writes what limits_count and due raises changed. Call after every check passed.
local function limits_save(L)
  if not L then return end
  local put, drop = {}, {}
  for field, value in pairs(L.set) do
    if value then
      put[#put + 1] = field
      put[#put + 1] = value
    else
      drop[#drop + 1] = field
    end
  end
  if #put > 0 then redis.call('HSET', L.key, unpack(put)) end
  if #drop > 0 then redis.call('HDEL', L.key, unpack(drop)) end
  L.set = {}
end

-- {COOL_OFF | SELF_EXCLUDED, message, ends ms or ''} while a pause lasts, else nil.
local function limits_paused(L)
  local kind, ends = L.f.pause, L.f.pause_until
  if not kind or (ends ~= 'never' and L.now >= tonumber(ends)) then return nil end
  local resets = ends
  if ends == 'never' then resets = '' end
  if kind == 'self_exclusion' then
    return {'SELF_EXCLUDED', 'this account is self-excluded: no bets and no deposits', resets}
  end
  return {'COOL_OFF', 'this account is in a cool-off: no bets and no deposits', resets}
end

-- The first limit a move of `amount` on counter `kind` would break: nil, or
-- {CODE, message, reset ms}.
local function limits_exceeded(L, currency, kind, code, amount)
  for _, period in ipairs(LIMIT_PERIODS) do
    local limit = limit_value(L, currency .. ':' .. kind .. ':' .. period)
    if limit then
      local so_far = limit_counter(L, currency, period, kind)
      if so_far + amount > limit then
        return {code, 'your ' .. PERIOD_WORDS[period] .. ' ' .. kind .. ' limit in ' .. currency
          .. ' is ' .. fmt_int(limit) .. ' and ' .. fmt_int(so_far) .. ' is used: '
          .. fmt_int(amount) .. ' more would pass it', L.ends[period]}
      end
    end
  end
  return nil
end

-- A stake of `stake` may be lost whole: nil if it breaks no limit, else the error
-- {CODE, message, resets at ms} (CODE COOL_OFF, SELF_EXCLUDED, LOSS_LIMIT or WAGER_LIMIT).
local function limits_check_bet(L, currency, stake)
  if not L then return nil end
  return limits_paused(L) or limits_exceeded(L, currency, 'loss', 'LOSS_LIMIT', stake)
    or limits_exceeded(L, currency, 'wager', 'WAGER_LIMIT', stake)
end

-- A deposit of `amount`: nil, or the error (COOL_OFF, SELF_EXCLUDED or DEPOSIT_LIMIT).
local function limits_check_deposit(L, currency, amount)
  if not L then return nil end
  return limits_paused(L) or limits_exceeded(L, currency, 'deposit', 'DEPOSIT_LIMIT', amount)
end

-- A stake taken: it is wagered and, until it wins something back, lost.
local function limits_stake(L, currency, stake)
  limits_count(L, currency, 'wager', stake)
  limits_count(L, currency, 'loss', stake)
end
