-- Found by the benchmark at a million tickets: `show` read the whole outbox
-- to list a ticket's mail, and `list` sorted every ticket to show the first
-- fifty (new and open first, then resolved, each newest first).

CREATE INDEX outbox_ticket ON outbox (ticket_id, id);
CREATE INDEX tickets_list_order ON tickets ((status = 'resolved'), id DESC);
