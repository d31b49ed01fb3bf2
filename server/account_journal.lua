-- account_journal: put an account in the journal of its user's slot, once, for
-- the archive in PostgreSQL; called whenever a session is opened for it, so an
-- account made by an earlier version is archived at its next sign-in.
-- KEYS[1] profile {u:ID}:profile  KEYS[2] journal of the user's slot
-- Returns 1 when the account was journaled now, 0 when it was before (or is gone).
local p = redis.call('HMGET', KEYS[1], 'id', 'name', 'kind', 'created_at', 'password', 'journaled')
if not p[1] or p[6] == '1' then return 0 end
local password = 'null'
if p[5] then password = cjson.encode(p[5]) end
local record = '{"id":' .. cjson.encode(p[1]) .. ',"name":' .. cjson.encode(p[2])
  .. ',"kind":' .. cjson.encode(p[3]) .. ',"created_at":' .. p[4]
  .. ',"password_hash":' .. password .. '}'
redis.call('XADD', KEYS[2], '*', 'k', 'user', 'u', p[1], 'd', record)
redis.call('HSET', KEYS[1], 'journaled', '1')
return 1
