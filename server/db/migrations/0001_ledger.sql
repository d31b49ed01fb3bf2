-- 0001: the ledger with its double entry, settled bets and revealed seeds. Times are milliseconds since the epoch (as in Redis
-- and on the wire); amounts are integers in minor units.

-- One row per ledger entry, exactly as Redis wrote it; entry ids run 1, 2, 3...
-- per user. A bet's status moves from 'open' to 'settled' or 'rolled_back'.
CREATE TABLE ledger_entries (
    user_id       text   NOT NULL,
    entry_id      bigint NOT NULL,
    type          text   NOT NULL,
    amount        bigint NOT NULL,
    currency      text   NOT NULL,
    game          text,
    ref           text,
    status        text   NOT NULL,
    balance_after bigint NOT NULL,
    created_at    bigint NOT NULL,
    PRIMARY KEY (user_id, entry_id)
);
CREATE INDEX ledger_entries_game ON ledger_entries (user_id, game, entry_id);
CREATE INDEX ledger_entries_time ON ledger_entries (created_at);

-- Double entry: every ledger entry posts its amount to the player's account and
-- the opposite to the house (bets, wins, refunds, rollbacks) or the treasury
-- (deposits, faucet, adjustments), so the postings of a currency sum to zero.
CREATE TABLE postings (
    user_id  text   NOT NULL,
    entry_id bigint NOT NULL,
    account  text   NOT NULL CHECK (account IN ('player', 'house', 'treasury')),
    currency text   NOT NULL,
    amount   bigint NOT NULL,
    PRIMARY KEY (user_id, entry_id, account)
);

-- The public record of every settled bet of every game.
CREATE TABLE bets (
    user_id          text   NOT NULL,
    bet_id           bigint NOT NULL,
    game             text   NOT NULL,
    currency         text   NOT NULL,
    amount           bigint NOT NULL,
    payout           bigint NOT NULL,
    server_seed_hash text,
    record           jsonb  NOT NULL,
    created_at       bigint NOT NULL,
    settled_at       bigint NOT NULL,
    PRIMARY KEY (user_id, bet_id)
);
CREATE INDEX bets_game ON bets (user_id, game, bet_id);
CREATE INDEX bets_time ON bets (settled_at);

-- Server seeds once revealed: a bet's seed is shown next to it from then on.
CREATE TABLE revealed_seeds (
    user_id          text   NOT NULL,
    server_seed_hash text   NOT NULL,
    server_seed      text   NOT NULL,
    client_seed      text   NOT NULL,
    next_nonce       bigint NOT NULL,
    revealed_at      bigint NOT NULL,
    PRIMARY KEY (user_id, server_seed_hash)
);
