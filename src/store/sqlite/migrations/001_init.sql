-- Tickets, the messages on them byte-exact, their history, and the outbox of
-- mail they cause: everything one delivery changes, in one database, so one
-- transaction covers it.

CREATE TABLE tickets (
    id        INTEGER PRIMARY KEY,
    queue     TEXT NOT NULL,
    subject   TEXT NOT NULL,
    status    TEXT NOT NULL CHECK (status IN ('new', 'open', 'resolved')),
    requestor TEXT NOT NULL,
    owner     TEXT,
    priority  INTEGER NOT NULL DEFAULT 0,
    created   TEXT NOT NULL,
    updated   TEXT NOT NULL
);
CREATE INDEX tickets_updated ON tickets (updated);
CREATE INDEX tickets_status ON tickets (status, updated);
CREATE INDEX tickets_queue ON tickets (queue, updated);

CREATE TABLE watchers (
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    address   TEXT NOT NULL,
    PRIMARY KEY (ticket_id, address)
);

-- Every message as received. `key` is what "already stored" is decided by:
-- `<Message-ID>`, or `sha256:…` of the bytes. ticket_id is NULL only for a
-- bounce that routed nowhere (`pipedesk list --bounces`).
CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    key             TEXT NOT NULL UNIQUE,
    message_id      TEXT,
    ticket_id       INTEGER REFERENCES tickets (id),
    received        TEXT NOT NULL,
    envelope_sender TEXT,
    recipient       TEXT,
    author          TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    size            INTEGER NOT NULL,
    raw             BLOB NOT NULL
);
CREATE INDEX messages_ticket ON messages (ticket_id, id);
CREATE INDEX messages_message_id ON messages (message_id);

CREATE TABLE history (
    id        INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    kind      TEXT NOT NULL CHECK (kind IN ('create', 'correspond', 'comment', 'status', 'owner', 'note')),
    author    TEXT NOT NULL,
    date      TEXT NOT NULL,
    message   INTEGER REFERENCES messages (id),
    old       TEXT,
    new       TEXT,
    note      TEXT
);
CREATE INDEX history_ticket ON history (ticket_id, id);

-- Mail written in the same transaction as the change that caused it, sent
-- after the commit. `next_attempt` is "not before": a delivering process
-- leases its own fresh mail for a minute; a failed send backs off.
CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY,
    ticket_id     INTEGER REFERENCES tickets (id),
    kind          TEXT NOT NULL,
    message_id    TEXT NOT NULL,
    envelope_from TEXT NOT NULL,
    recipients    TEXT NOT NULL,
    raw           BLOB NOT NULL,
    created       TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'dropped')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    next_attempt  TEXT NOT NULL,
    sent          TEXT
);
CREATE INDEX outbox_due ON outbox (state, next_attempt);
CREATE INDEX outbox_message_id ON outbox (message_id);
CREATE INDEX outbox_autoreplies ON outbox (kind, recipients, created);

-- Full-text search over subjects and bodies, kept up to date by deliver in
-- the same transaction.
CREATE VIRTUAL TABLE messages_fts USING fts5 (
    subject, body, content = 'messages', content_rowid = 'id'
);
