-- Issue 19: a ticket's SLA clocks (SPEC §8): their state as JSON (NULL for
-- a ticket whose queue runs on no SLA), and the next deadline on its own,
-- a stamp in UTC as `due` is, for `list --sort due`.
ALTER TABLE tickets ADD COLUMN sla TEXT;
ALTER TABLE tickets ADD COLUMN sla_due TEXT;
