-- round_finish: mark a CRASHED round settled: every bet of it is closed in the
-- wallet, so the next round may open. The round's record goes to the journal of
-- its slot (for the archive in PostgreSQL) in the same step.
-- KEYS[1] round hash   KEYS[2] lease   KEYS[3] journal of the round's slot
-- ARGV[1] lease value   ARGV[2] round id   ARGV[3] terminating hash of the chain
-- Returns {'ok'}, or {CODE, message} with CODE one of FENCED, CONFLICT.
local err = lease_error(KEYS[2], ARGV[1])
if err then return err end
local r = redis.call('HMGET', KEYS[1], 'id', 'phase', 'settled', 'hash', 'point', 'voided',
  'crashed_at')
if r[1] ~= ARGV[2] or r[2] ~= 'crashed' then
  return {'CONFLICT', 'round ' .. ARGV[2] .. ' has not crashed'}
end
if r[3] == '1' then return {'ok'} end  -- finished before (a new leader repeats it)
redis.call('HSET', KEYS[1], 'settled', '1')
local fields = redis.call('HGETALL', KEYS[1])
local totals = {}
for i = 1, #fields, 2 do
  local name = fields[i]
  if string.sub(name, 1, 5) == 'open:' or string.sub(name, 1, 5) == 'paid:' then
    totals[#totals + 1] = json_str(name) .. ':' .. fmt_int(tonumber(fields[i + 1]))
  end
end
local record = '{"chain":' .. json_str(ARGV[3]) .. ',"id":' .. r[1] .. ',"hash":' .. json_str(r[4])
  .. ',"point_x100":' .. r[5] .. ',"voided":' .. (r[6] == '1' and 'true' or 'false')
  .. ',"crashed_at":' .. r[7] .. ',"totals":{' .. table.concat(totals, ',') .. '}}'
redis.call('XADD', KEYS[3], '*', 'k', 'round', 'u', '', 'd', record)
return {'ok'}
