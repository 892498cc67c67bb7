-- Issue 10: stalled tickets, merged tickets (an alias of the ticket they
-- were merged into), a version per ticket that grows with every change,
-- history entries for merges and watcher changes and a mark for automatic
-- mail, and outbox leases that a sending process holds apart from the
-- back-off (two flushes once sent one mail twice: the lease was the
-- back-off column).
--
-- SQLite cannot change a CHECK constraint in place, so tickets and history
-- are rebuilt as its documentation says (ALTER TABLE §7); the migration
-- runs with foreign keys off and checks them before it commits.

CREATE TABLE tickets_new (
    id          INTEGER PRIMARY KEY,
    queue       TEXT NOT NULL,
    subject     TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('new', 'open', 'stalled', 'resolved')),
    requestor   TEXT NOT NULL,
    owner       TEXT,
    priority    INTEGER NOT NULL DEFAULT 0,
    created     TEXT NOT NULL,
    updated     TEXT NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1,
    merged_into INTEGER REFERENCES tickets (id)
);
INSERT INTO tickets_new (id, queue, subject, status, requestor, owner, priority, created, updated, version)
    SELECT t.id, t.queue, t.subject, t.status, t.requestor, t.owner, t.priority, t.created, t.updated,
           1 + (SELECT count(*) FROM history h WHERE h.ticket_id = t.id)
    FROM tickets t;
DROP TABLE tickets;
ALTER TABLE tickets_new RENAME TO tickets;
-- Of 001's indexes only (status, updated) is kept: every change to a
-- ticket rewrites `updated`, and with it every index that holds it, so an
-- index no query uses costs each delivery (`list --queue` compares
-- lower(queue), which no index serves; nothing sorts by `updated` alone).
CREATE INDEX tickets_status ON tickets (status, updated);
CREATE INDEX tickets_list_order ON tickets ((status = 'resolved'), id DESC);
CREATE INDEX tickets_merged_into ON tickets (merged_into) WHERE merged_into IS NOT NULL;

CREATE TABLE history_new (
    id        INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    kind      TEXT NOT NULL CHECK (kind IN ('create', 'correspond', 'comment', 'status', 'owner', 'note', 'merge', 'watcher')),
    author    TEXT NOT NULL,
    date      TEXT NOT NULL,
    message   INTEGER REFERENCES messages (id),
    old       TEXT,
    new       TEXT,
    note      TEXT,
    auto      INTEGER NOT NULL DEFAULT 0
);
INSERT INTO history_new (id, ticket_id, kind, author, date, message, old, new, note)
    SELECT id, ticket_id, kind, author, date, message, old, new, note FROM history;
DROP TABLE history;
ALTER TABLE history_new RENAME TO history;
CREATE INDEX history_ticket ON history (ticket_id, id);

ALTER TABLE outbox ADD COLUMN lease_token TEXT;
ALTER TABLE outbox ADD COLUMN lease_until TEXT;
