-- Issue 17: a ticket's due date (SPEC §1), when it should be resolved by:
-- a stamp in UTC as `created` is, or NULL for none.
ALTER TABLE tickets ADD COLUMN due TEXT;
