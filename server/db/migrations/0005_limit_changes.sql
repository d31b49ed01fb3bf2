-- 0005: every change of a player's responsible-play settings: who made it, when
-- (ms since the epoch), what (a limit "<currency>:<kind>:<period>", zone, pause or
-- reality_check), the value before and after ('' for none) and when it applies
-- (a raise or a removal of a limit 24 h after it was asked for). `seq` numbers a
-- user's changes (1, 2, ...): the change is journaled with the limits it changed,
-- and a record archived twice is one row.

CREATE TABLE limit_changes (
    id           bigserial PRIMARY KEY,
    user_id      text   NOT NULL,
    seq          bigint NOT NULL,
    actor        text   NOT NULL,
    changed_at   bigint NOT NULL,
    setting      text   NOT NULL,
    old_value    text   NOT NULL,
    new_value    text   NOT NULL,
    effective_at bigint NOT NULL
);
CREATE UNIQUE INDEX limit_changes_user ON limit_changes (user_id, seq);
