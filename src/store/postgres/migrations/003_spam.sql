-- Issue 17: the senders staff marked as spam (`pipedesk spam`, SPEC §3:
-- their later new tickets open in the queue `spam` until that is undone),
-- and the history kinds of SPEC §5 that issue 17 adds: the CHECK on
-- history's kind names every kind SPEC §5 lists (queue, subject,
-- requestor, priority and due too), so it changes once.
ALTER TABLE history DROP CONSTRAINT history_kind_check;
ALTER TABLE history ADD CONSTRAINT history_kind_check CHECK (kind IN ('create', 'correspond', 'comment', 'status', 'owner', 'note', 'merge', 'watcher', 'queue', 'subject', 'requestor', 'priority', 'due', 'spam'));

-- address: lower-cased; ticket_id: the ticket whose marking made it one.
CREATE TABLE spam_senders (
    address   text PRIMARY KEY,
    ticket_id bigint NOT NULL,
    marked    timestamptz NOT NULL
);
