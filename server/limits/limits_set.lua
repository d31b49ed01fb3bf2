-- limits_set: change one responsible-play setting of a user, atomically with
-- the rules of changes: a first or lower limit applies at once, a higher one
-- or a removal only `delay` ms later (it waits in "<field>:next", applied by
-- the money scripts when due); a pause (cool-off, self-exclusion) only ever
-- gets longer; a new zone carries the counters of the current periods over (a
-- change of zone never resets them), and is refused (ZONE_LOCKED) while any limit
-- is set or waits to be removed.
-- KEYS[1] limits {u:ID}:limits  KEYS[2] journal of the user's slot
-- ARGV[1] what: limit | zone | pause | reality_check
--   limit:  ARGV[2] field "<cur>:<kind>:<period>"  ARGV[3] amount ('' removes)  ARGV[4] delay ms
--   zone:   ARGV[2] the new zone  ARGV[3] its current period ids "<day> <week> <month>"
--   pause:  ARGV[2] cool_off | self_exclusion  ARGV[3] the ms it ends, or 'never'
--   reality_check: ARGV[2] minutes ('0': off)
-- ARGV[last - 2] user id  ARGV[last - 1] the setting's name, as recorded
-- ARGV[last] limits context in the user's zone (see _limits.lua)
-- A change is numbered (field "changes") and journaled (kind 'limit': {"user", "seq",
-- "actor", "changed_at", "setting", "old", "new", "effective_at"}) in the same step,
-- for the archiver to record in PostgreSQL.
-- Returns {'ok', old value, new value, effective at ms, seq} ('' for none); {'ZONE', zone};
-- {'ZONE_LOCKED', message};
-- or, for a pause that would end sooner than the one in force,
-- {COOL_OFF | SELF_EXCLUDED, message, its end ms or ''}.
journal_to(KEYS[2])
local what, user, setting = ARGV[1], ARGV[#ARGV - 2], ARGV[#ARGV - 1]
local L, zone = limits_open(KEYS[1], ARGV[#ARGV], true)
if zone then return zone end

local old, new, effective = '', ARGV[3], L.now
if what == 'limit' then
  local field = ARGV[2]
  local value = parse_int(ARGV[3], 1)
  if ARGV[3] ~= '' and not value then return {'INVALID_AMOUNT', 'amount must be an integer'} end
  local current = limit_value(L, field)
  if current then old = fmt_int(current) end
  if value and (not current or value <= current) then
    limits_put(L, field, fmt_int(value))
    limits_put(L, field .. ':next', nil)
  elseif not current then
    limits_put(L, field .. ':next', nil)
  else
    effective = L.now + tonumber(ARGV[4])
    limits_put(L, field .. ':next', ARGV[3] .. '|' .. fmt_int(effective))
  end
elseif what == 'zone' then
  -- Locked while a limit is set or waits to go: a new zone could end a period early.
  for field in pairs(L.f) do
    local kind = string.match(field, '^[^:]+:(%a+):%a+')
    if kind == 'loss' or kind == 'wager' or kind == 'deposit' then
      return {'ZONE_LOCKED', 'the time zone cannot change while a limit is set or waits to'
        .. ' be removed: it could end a period early'}
    end
  end
  old, new = L.f.zone or 'UTC', ARGV[2]
  local ids = {}
  for word in string.gmatch(ARGV[3], '%S+') do ids[#ids + 1] = word end
  local new_ids = {day = ids[1], week = ids[2], month = ids[3]}
  for field, value in pairs(L.f) do
    local period = string.match(field, ':(%a+):id$')
    if period and value == L.ids[period] then limits_put(L, field, new_ids[period]) end
  end
  limits_put(L, 'zone', new)
elseif what == 'pause' then
  local ends = L.f.pause_until
  if L.f.pause and (ends == 'never' or L.now < tonumber(ends)) then
    old = L.f.pause .. ':' .. ends
    if ends == 'never' or (new ~= 'never' and tonumber(new) <= tonumber(ends)) then
      local refused = limits_paused(L)
      refused[2] = 'a pause in force cannot be shortened or replaced by a shorter one'
      return refused
    end
  end
  local kind = ARGV[2]
  if L.f.pause == 'self_exclusion' and old ~= '' then kind = 'self_exclusion' end
  limits_put(L, 'pause', kind)
  limits_put(L, 'pause_until', new)
  new = kind .. ':' .. new
elseif what == 'reality_check' then
  old = L.f.reality_check_min or '0'
  new = ARGV[2]
  if new == '0' then limits_put(L, 'reality_check_min', nil) else limits_put(L, 'reality_check_min', new) end
else
  return {'BAD_REQUEST', 'unknown setting'}
end
limits_save(L)
local seq = redis.call('HINCRBY', KEYS[1], 'changes', 1)
journal('limit', user, '{"user":' .. json_str(user) .. ',"seq":' .. fmt_int(seq)
  .. ',"actor":' .. json_str(user) .. ',"changed_at":' .. fmt_int(L.now)
  .. ',"setting":' .. cjson.encode(setting) .. ',"old":' .. cjson.encode(old)
  .. ',"new":' .. cjson.encode(new) .. ',"effective_at":' .. fmt_int(effective) .. '}')
journal_flush()
return {'ok', old, new, effective, seq}
