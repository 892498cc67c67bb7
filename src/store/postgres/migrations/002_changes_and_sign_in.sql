-- SQLite's migration 004: the change feed of the live board, staff
-- passwords and web credentials, and the desk's identity.
--
-- A sequence would hand out seqs in the order transactions ask for them,
-- not the order they commit, and a board that saw seq K could miss K-1
-- committed a moment later. So the last seq lives in one row that every
-- writing transaction updates just before its COMMIT: the row lock orders
-- those tails, and seq K is visible only after every seq below it.
CREATE TABLE feed (
    one  boolean PRIMARY KEY DEFAULT true CHECK (one),
    last bigint NOT NULL
);
INSERT INTO feed (one, last) VALUES (true, 0);

CREATE TABLE changes (
    seq       bigint PRIMARY KEY,
    ticket_id bigint NOT NULL,
    at        timestamptz NOT NULL
);

CREATE TABLE staff_passwords (
    address text PRIMARY KEY,
    hash    text NOT NULL,
    updated timestamptz NOT NULL
);

-- kind: 'session' (a browser's cookie) or 'token' (a script's bearer).
CREATE TABLE credentials (
    secret_hash text PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('session', 'token')),
    address     text NOT NULL,
    created     timestamptz NOT NULL,
    expires     timestamptz
);

CREATE TABLE meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);
INSERT INTO meta (key, value) VALUES ('desk_id', replace(gen_random_uuid()::text, '-', ''));
