-- Issue 17: which ticket a history entry was written on, when a merge
-- brought it to another (SPEC §5 `merged_from`; NULL for an entry on the
-- ticket it was written on). A merge sets it once: through a chain of
-- merges it keeps the first ticket.
ALTER TABLE history ADD COLUMN merged_from INTEGER REFERENCES tickets (id);
