-- 0003: accounts, guests and registered (scrypt password hashes), archived the
-- first time a session is opened for them.

CREATE TABLE users (
    id            text PRIMARY KEY,
    name          text   NOT NULL,
    kind          text   NOT NULL CHECK (kind IN ('guest', 'registered')),
    password_hash text,
    created_at    bigint NOT NULL
);
CREATE UNIQUE INDEX users_registered_name ON users (lower(name)) WHERE kind = 'registered';
