-- 0002: every finished Crash round. A chain's rounds are numbered from 1, and a
-- deployment may replace its chain, so a round is named by chain and id.

CREATE TABLE crash_rounds (
    chain      text    NOT NULL,  -- the chain's terminating hash
    id         bigint  NOT NULL,
    hash       text    NOT NULL,
    point_x100 bigint  NOT NULL,
    voided     boolean NOT NULL,
    crashed_at bigint  NOT NULL,
    totals     jsonb   NOT NULL,  -- "open:<currency>" stakes left open, "paid:<currency>" payouts
    PRIMARY KEY (chain, id)
);
CREATE INDEX crash_rounds_time ON crash_rounds (crashed_at);
