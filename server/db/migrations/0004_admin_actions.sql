-- 0004: the back office's action log. Every action an admin takes is one row:
-- when (ms since the epoch), the name the admin signed in with, what was done,
-- to whom, its details and the reason given. An action that carries an
-- idempotency key (a balance adjustment) is logged once however often it is
-- retried: the key is unique per target user.

CREATE TABLE admin_actions (
    id          bigserial PRIMARY KEY,
    created_at  bigint NOT NULL,
    actor       text   NOT NULL,
    action      text   NOT NULL,
    target_user text,
    details     jsonb  NOT NULL,
    reason      text   NOT NULL,
    key         text
);
CREATE UNIQUE INDEX admin_actions_key ON admin_actions (target_user, key) WHERE key IS NOT NULL;
CREATE INDEX admin_actions_target ON admin_actions (target_user, id);
