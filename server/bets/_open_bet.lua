-- Shared core of the scripts that open a bet on the user's seed pair and settle
-- it later (the step games); not a script: it is prepended (after the ledger
-- helpers) to those scripts.
--
-- A bet open on the active seed pair is listed in the set {u:ID}:seeds:open
-- until it settles; seeds_rotate refuses to reveal the pair while that set has
-- any member. Every bet kind that keeps a bet open on the pair goes through
-- open_bet and close_bet, so none can be forgotten.

-- Checks the user's seed pair, balance and limits (`limits`: the user's, or nil),
-- then allocates the nonce, counts the stake towards the limits, debits
-- the stake as an open "bet" entry whose id is the bet id, and lists the bet
-- as open on the pair. Returns the open bet
-- JSON {"id", "user", "game", "amount", "currency", "params", "server_seed",
-- "server_seed_hash", "client_seed", "nonce", "created_at"}, or nil and an error
-- {NO_SEEDS | INSUFFICIENT_FUNDS, message} or a limit's refusal when nothing was written.
local function open_bet(wallet, ledger, seeds_key, open_key, channel, user, currency, amount,
                        game, params, limits)
  local seeds = redis.call('HMGET', seeds_key, 'server_seed', 'server_seed_hash', 'client_seed')
  if not seeds[1] then return nil, {'NO_SEEDS', 'the user has no seed pair yet'} end
  local balance = balance_of(wallet, currency)
  if balance < amount then
    return nil, {'INSUFFICIENT_FUNDS',
      'balance ' .. fmt_int(balance) .. ' is below ' .. fmt_int(amount)}
  end
  local refused = limits_check_bet(limits, currency, amount)
  if refused then return nil, refused end
  limits_stake(limits, currency, amount)
  limits_save(limits)
  local nonce = redis.call('HINCRBY', seeds_key, 'nonce', 1) - 1
  local bet_id = current_version(wallet) + 1
  apply(wallet, ledger, channel, user, currency, -amount, 'bet', game, fmt_int(bet_id), 'open')
  redis.call('SADD', open_key, fmt_int(bet_id))
  return '{"id":' .. fmt_int(bet_id) .. ',"user":' .. json_str(user)
    .. ',"game":' .. json_str(game) .. ',"amount":' .. fmt_int(amount)
    .. ',"currency":' .. json_str(currency) .. ',"params":' .. params
    .. ',"server_seed":' .. json_str(seeds[1]) .. ',"server_seed_hash":' .. json_str(seeds[2])
    .. ',"client_seed":' .. json_str(seeds[3]) .. ',"nonce":' .. fmt_int(nonce)
    .. ',"created_at":' .. fmt_int(now_ms()) .. '}', bet_id
end

-- The bet `bet_id` no longer holds the seed pair open (it settled).
local function close_bet(open_key, bet_id)
  redis.call('SREM', open_key, fmt_int(bet_id))
end
