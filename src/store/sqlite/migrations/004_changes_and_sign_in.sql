-- Issues 11 and 12: a feed of changes for the live board (every change to
-- a ticket gets a `seq`; a board that missed some asks for those after the
-- last it saw), staff passwords and the credentials of the web (session
-- cookies and API tokens, kept as hashes), and the desk's identity, so that
-- `pipedesk migrate` never mixes two desks in one database.

CREATE TABLE changes (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id INTEGER NOT NULL,
    at        TEXT NOT NULL
);

CREATE TABLE staff_passwords (
    address TEXT PRIMARY KEY,
    hash    TEXT NOT NULL,
    updated TEXT NOT NULL
);

-- kind: 'session' (a browser's cookie) or 'token' (a script's bearer).
CREATE TABLE credentials (
    secret_hash TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('session', 'token')),
    address     TEXT NOT NULL,
    created     TEXT NOT NULL,
    expires     TEXT
);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO meta (key, value) VALUES ('desk_id', lower(hex(randomblob(16))));
