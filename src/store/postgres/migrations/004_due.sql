-- Issue 17: a ticket's due date (SPEC §1), when it should be resolved by,
-- or NULL for none.
ALTER TABLE tickets ADD COLUMN due timestamptz;
