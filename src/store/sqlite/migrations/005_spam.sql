-- Issue 17: the senders staff marked as spam (`pipedesk spam`, SPEC §3:
-- their later new tickets open in the queue `spam` until that is undone),
-- and the history kinds of SPEC §5 that issue 17 adds.
--
-- The CHECK on history's kind names every kind SPEC §5 lists, the ones
-- other changes of issue 17 write (queue, subject, requestor, priority,
-- due) too, so that the table is rebuilt once. SQLite cannot change a
-- CHECK constraint in place, so history is rebuilt as in 003 (ids kept:
-- a history id is the feed's seq).

CREATE TABLE history_new (
    id        INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    kind      TEXT NOT NULL CHECK (kind IN ('create', 'correspond', 'comment', 'status', 'owner', 'note', 'merge', 'watcher', 'queue', 'subject', 'requestor', 'priority', 'due', 'spam')),
    author    TEXT NOT NULL,
    date      TEXT NOT NULL,
    message   INTEGER REFERENCES messages (id),
    old       TEXT,
    new       TEXT,
    note      TEXT,
    auto      INTEGER NOT NULL DEFAULT 0
);
INSERT INTO history_new (id, ticket_id, kind, author, date, message, old, new, note, auto)
    SELECT id, ticket_id, kind, author, date, message, old, new, note, auto FROM history;
DROP TABLE history;
ALTER TABLE history_new RENAME TO history;
CREATE INDEX history_ticket ON history (ticket_id, id);

-- address: lower-cased; ticket_id: the ticket whose marking made it one.
CREATE TABLE spam_senders (
    address   TEXT PRIMARY KEY,
    ticket_id INTEGER NOT NULL,
    marked    TEXT NOT NULL
);
