-- Generic helpers of the Lua scripts (numbers, JSON strings, time). This file
-- is not a script: it is prepended to every script that needs it when the
-- script is loaded.
--
-- Numbers in Lua are doubles: every amount and balance stays below 2^53 and is
-- formatted with %d, never tostring() (which would print 1e+15 or -0).

local MAX_AMOUNT = 9007199254740991

-- A canonical decimal integer string in [lo, 2^53-1], or nil.
local function parse_int(s, lo)
  if type(s) ~= 'string' or #s > 16 or not string.find(s, '^%d+$') then return nil end
  if #s > 1 and string.sub(s, 1, 1) == '0' then return nil end
  local n = tonumber(s)
  if n < lo or n > MAX_AMOUNT then return nil end
  return n
end

local function fmt_int(n)
  return string.format('%d', n)
end

local function json_str(s)
  if s == nil or s == '' then return 'null' end
  return cjson.encode(s)
end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
