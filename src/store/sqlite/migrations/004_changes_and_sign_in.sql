-- Issues 11 and 12: staff passwords and the credentials of the web
-- (session cookies and API tokens, kept as hashes), and the desk's
-- identity, so that `pipedesk migrate` never mixes two desks in one
-- database. The live board's feed of changes needs no table here: every
-- change to a ticket writes a history row, and SQLite's one writer hands
-- out history ids in commit order, so the id is the feed's `seq`.
--
-- WITHOUT ROWID: one b-tree each, not a table and an index. Every
-- connection parses the whole schema once, and `deliver` is a connection
-- per message (measured: each entry costs it about 10 000 instructions).

CREATE TABLE staff_passwords (
    address TEXT PRIMARY KEY,
    hash    TEXT NOT NULL,
    updated TEXT NOT NULL
) WITHOUT ROWID;

-- kind: 'session' (a browser's cookie) or 'token' (a script's bearer).
CREATE TABLE credentials (
    secret_hash TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('session', 'token')),
    address     TEXT NOT NULL,
    created     TEXT NOT NULL,
    expires     TEXT
) WITHOUT ROWID;

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('desk_id', lower(hex(randomblob(16))));
