-- 0005: every change of a player's responsible-play settings: who made it, when
-- (ms since the epoch), what (a limit "<currency>:<kind>:<period>", zone, pause or
-- reality_check), the value before and after ('' for none) and when it applies
-- (a raise or a removal of a limit 24 h after it was asked for).

CREATE TABLE limit_changes (
    id           bigserial PRIMARY KEY,
    user_id      text   NOT NULL,
    actor        text   NOT NULL,
    changed_at   bigint NOT NULL,
    setting      text   NOT NULL,
    old_value    text   NOT NULL,
    new_value    text   NOT NULL,
    effective_at bigint NOT NULL
);
CREATE INDEX limit_changes_user ON limit_changes (user_id, id);
