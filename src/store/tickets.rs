//! Tickets, the messages on them, watchers and history rows.

use anyhow::Result;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;

/// `new` (nobody on staff has acted yet) → `open` → `resolved`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    New,
    Open,
    Resolved,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Open => "open",
            Status::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "new" => Some(Status::New),
            "open" => Some(Status::Open),
            "resolved" => Some(Status::Resolved),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Ticket {
    pub id: i64,
    pub queue: String,
    pub subject: String,
    pub status: Status,
    pub requestor: String,
    pub owner: Option<String>,
    pub priority: i64,
    pub watchers: Vec<String>,
    pub created: String,
    pub updated: String,
}

pub(super) const TICKET_COLUMNS: &str =
    "id, queue, subject, status, requestor, owner, priority, created, updated";

/// A ticket from a row whose first columns are `TICKET_COLUMNS` (watchers
/// are read separately).
pub(super) fn ticket_from_row(row: &Row<'_>) -> rusqlite::Result<Ticket> {
    let status: String = row.get(3)?;
    Ok(Ticket {
        id: row.get(0)?,
        queue: row.get(1)?,
        subject: row.get(2)?,
        status: Status::parse(&status).unwrap_or(Status::Open),
        requestor: row.get(4)?,
        owner: row.get(5)?,
        priority: row.get(6)?,
        watchers: Vec::new(),
        created: row.get(7)?,
        updated: row.get(8)?,
    })
}

/// Ticket `id` with its watchers, if it exists.
pub fn ticket(conn: &Connection, id: i64) -> Result<Option<Ticket>> {
    let sql = format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE id = ?1");
    let Some(mut t) = conn.query_row(&sql, [id], ticket_from_row).optional()? else {
        return Ok(None);
    };
    t.watchers = watchers(conn, id)?;
    Ok(Some(t))
}

pub fn watchers(conn: &Connection, id: i64) -> Result<Vec<String>> {
    let mut stmt =
        conn.prepare_cached("SELECT address FROM watchers WHERE ticket_id = ?1 ORDER BY rowid")?;
    let rows = stmt.query_map([id], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// What `list` selects.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub statuses: Vec<Status>,
    pub queue: Option<String>,
    pub owner: Option<String>,
    pub requestor: Option<String>,
    pub limit: Option<usize>,
}

/// A ticket as `list` shows it: with its message count.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    #[serde(flatten)]
    pub ticket: Ticket,
    pub messages: i64,
}

/// A new ticket in state `new`; returns its id.
pub fn create_ticket(
    conn: &Connection,
    queue: &str,
    subject: &str,
    requestor: &str,
    watchers: &[String],
    now: &str,
) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO tickets (queue, subject, status, requestor, created, updated) VALUES (?1, ?2, 'new', ?3, ?4, ?4)",
    )?
    .execute(params![queue, subject, requestor, now])?;
    let id = conn.last_insert_rowid();
    let mut add =
        conn.prepare_cached("INSERT OR IGNORE INTO watchers (ticket_id, address) VALUES (?1, ?2)")?;
    for w in watchers {
        add.execute(params![id, w])?;
    }
    Ok(id)
}

/// A message to store: `raw` exactly as received.
pub struct NewMessage<'a> {
    pub key: &'a str,
    pub message_id: Option<&'a str>,
    pub ticket_id: Option<i64>,
    pub envelope_sender: Option<&'a str>,
    pub recipient: Option<&'a str>,
    pub author: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub raw: &'a [u8],
    pub now: &'a str,
}

/// Stores a message and indexes it for search; returns its row id.
pub fn insert_message(conn: &Connection, m: &NewMessage<'_>) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO messages (key, message_id, ticket_id, received, envelope_sender, recipient, author, subject, body, size, raw)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        m.key,
        m.message_id,
        m.ticket_id,
        m.now,
        m.envelope_sender,
        m.recipient,
        m.author,
        m.subject,
        m.body,
        m.raw.len() as i64,
        m.raw
    ])?;
    let id = conn.last_insert_rowid();
    conn.prepare_cached("INSERT INTO messages_fts (rowid, subject, body) VALUES (?1, ?2, ?3)")?
        .execute(params![id, m.subject, m.body])?;
    Ok(id)
}

/// Is a message with this key already stored? Returns its ticket.
pub fn stored(conn: &Connection, key: &str) -> Result<Option<Option<i64>>> {
    Ok(conn
        .prepare_cached("SELECT ticket_id FROM messages WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

/// The ticket that the first of `ids` (Message-IDs without brackets, nearest
/// parent first) names: a message stored on it, or a mail we sent for it.
pub fn ticket_for_message_ids(conn: &Connection, ids: &[String]) -> Result<Option<i64>> {
    let mut inbound = conn.prepare_cached(
        "SELECT ticket_id FROM messages WHERE message_id = ?1 AND ticket_id IS NOT NULL LIMIT 1",
    )?;
    let mut outbound = conn.prepare_cached(
        "SELECT ticket_id FROM outbox WHERE message_id = ?1 AND ticket_id IS NOT NULL LIMIT 1",
    )?;
    for id in ids {
        if let Some(t) = inbound.query_row([id], |r| r.get(0)).optional()? {
            return Ok(Some(t));
        }
        if let Some(t) = outbound.query_row([id], |r| r.get(0)).optional()? {
            return Ok(Some(t));
        }
    }
    Ok(None)
}

/// One history row to write.
#[derive(Debug, Default)]
pub struct Entry<'a> {
    pub kind: &'a str,
    pub author: &'a str,
    pub message: Option<i64>,
    pub old: Option<&'a str>,
    pub new: Option<&'a str>,
    pub note: Option<&'a str>,
}

pub fn add_history(conn: &Connection, ticket: i64, now: &str, e: &Entry<'_>) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO history (ticket_id, kind, author, date, message, old, new, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![ticket, e.kind, e.author, now, e.message, e.old, e.new, e.note])?;
    conn.prepare_cached("UPDATE tickets SET updated = ?2 WHERE id = ?1")?
        .execute(params![ticket, now])?;
    Ok(())
}

/// Moves ticket `id` to `status`, with a history row; false when it was
/// already there.
pub fn set_status(
    conn: &Connection,
    t: &mut Ticket,
    status: Status,
    author: &str,
    now: &str,
) -> Result<bool> {
    if t.status == status {
        return Ok(false);
    }
    conn.prepare_cached("UPDATE tickets SET status = ?2 WHERE id = ?1")?
        .execute(params![t.id, status.as_str()])?;
    let entry = Entry {
        kind: "status",
        author,
        old: Some(t.status.as_str()),
        new: Some(status.as_str()),
        ..Entry::default()
    };
    add_history(conn, t.id, now, &entry)?;
    t.status = status;
    Ok(true)
}

/// Gives ticket `id` to `owner` (None: nobody), with a history row.
pub fn set_owner(
    conn: &Connection,
    t: &mut Ticket,
    owner: Option<&str>,
    author: &str,
    now: &str,
) -> Result<bool> {
    if t.owner.as_deref() == owner {
        return Ok(false);
    }
    conn.prepare_cached("UPDATE tickets SET owner = ?2 WHERE id = ?1")?
        .execute(params![t.id, owner])?;
    let entry = Entry {
        kind: "owner",
        author,
        old: t.owner.as_deref(),
        new: owner,
        ..Entry::default()
    };
    add_history(conn, t.id, now, &entry)?;
    t.owner = owner.map(String::from);
    Ok(true)
}

/// One row of a ticket's history, joined with its message.
#[derive(Debug, Clone)]
pub struct HistoryRow {
    pub kind: String,
    pub author: String,
    pub date: String,
    pub old: Option<String>,
    pub new: Option<String>,
    pub note: Option<String>,
    pub message: Option<StoredMessage>,
}

#[derive(Debug, Clone)]
pub struct StoredMessage {
    pub id: i64,
    pub message_id: Option<String>,
    pub subject: String,
    pub body: String,
    pub raw: Vec<u8>,
}

/// Ticket `id`'s history in order, with message bytes when `with_raw`.
pub fn history(conn: &Connection, id: i64, with_raw: bool) -> Result<Vec<HistoryRow>> {
    let raw = if with_raw { "m.raw" } else { "x''" };
    let mut stmt = conn.prepare(&format!(
        "SELECT h.kind, h.author, h.date, h.old, h.new, h.note, m.id, m.message_id, m.subject, m.body, {raw}
         FROM history h LEFT JOIN messages m ON m.id = h.message WHERE h.ticket_id = ?1 ORDER BY h.id"
    ))?;
    let rows = stmt.query_map([id], |r| {
        let message = match r.get::<_, Option<i64>>(6)? {
            Some(mid) => Some(StoredMessage {
                id: mid,
                message_id: r.get(7)?,
                subject: r.get(8)?,
                body: r.get(9)?,
                raw: r.get(10)?,
            }),
            None => None,
        };
        Ok(HistoryRow {
            kind: r.get(0)?,
            author: r.get(1)?,
            date: r.get(2)?,
            old: r.get(3)?,
            new: r.get(4)?,
            note: r.get(5)?,
            message,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A stored message with its bytes, for `export` and `attachments`.
pub struct RawMessage {
    pub id: i64,
    pub author: String,
    pub received: String,
    pub envelope_sender: Option<String>,
    pub raw: Vec<u8>,
}

/// The raw bytes of every message on ticket `id`, oldest first.
pub fn raw_messages(conn: &Connection, id: i64) -> Result<Vec<RawMessage>> {
    let mut stmt = conn.prepare(
        "SELECT id, author, received, envelope_sender, raw FROM messages WHERE ticket_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([id], |r| {
        Ok(RawMessage {
            id: r.get(0)?,
            author: r.get(1)?,
            received: r.get(2)?,
            envelope_sender: r.get(3)?,
            raw: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A bounce that routed nowhere, as `list --bounces` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Bounce {
    pub id: i64,
    pub received: String,
    pub recipient: Option<String>,
    pub author: String,
    pub subject: String,
    pub message_id: Option<String>,
}

pub fn bounces(conn: &Connection) -> Result<Vec<Bounce>> {
    let mut stmt = conn.prepare(
        "SELECT id, received, recipient, author, subject, message_id FROM messages WHERE ticket_id IS NULL ORDER BY id DESC",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Bounce {
            id: r.get(0)?,
            received: r.get(1)?,
            recipient: r.get(2)?,
            author: r.get(3)?,
            subject: r.get(4)?,
            message_id: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_round_trips_with_its_watchers() {
        let conn = crate::store::open_in_memory().unwrap();
        let w = vec![
            "john@example.com".to_string(),
            "ann@example.net".to_string(),
        ];
        let id = create_ticket(
            &conn,
            "general",
            "Printer",
            "john@example.com",
            &w,
            "2026-11-17T15:00:00Z",
        )
        .unwrap();
        let t = ticket(&conn, id).unwrap().unwrap();
        assert_eq!((t.id, t.status, t.watchers.clone()), (1, Status::New, w));
        assert!(ticket(&conn, 2).unwrap().is_none());
    }

    #[test]
    fn status_changes_are_written_in_history() {
        let conn = crate::store::open_in_memory().unwrap();
        let id = create_ticket(&conn, "general", "x", "a@b", &[], "t0").unwrap();
        let mut t = ticket(&conn, id).unwrap().unwrap();
        assert!(set_status(&conn, &mut t, Status::Resolved, "stef@x", "t1").unwrap());
        assert!(!set_status(&conn, &mut t, Status::Resolved, "stef@x", "t2").unwrap());
        let h = history(&conn, id, false).unwrap();
        assert_eq!(h.len(), 1);
        assert_eq!(
            (h[0].old.as_deref(), h[0].new.as_deref()),
            (Some("new"), Some("resolved"))
        );
        assert_eq!(ticket(&conn, id).unwrap().unwrap().updated, "t1");
    }

    #[test]
    fn parents_find_their_ticket() {
        let conn = crate::store::open_in_memory().unwrap();
        let id = create_ticket(&conn, "general", "x", "a@b", &[], "t0").unwrap();
        let m = NewMessage {
            key: "<p@x>",
            message_id: Some("p@x"),
            ticket_id: Some(id),
            envelope_sender: None,
            recipient: None,
            author: "a@b",
            subject: "x",
            body: "",
            raw: b"x",
            now: "t0",
        };
        insert_message(&conn, &m).unwrap();
        assert_eq!(
            ticket_for_message_ids(&conn, &["nope@x".into(), "p@x".into()]).unwrap(),
            Some(id)
        );
        assert_eq!(
            ticket_for_message_ids(&conn, &["nope@x".into()]).unwrap(),
            None
        );
        assert_eq!(stored(&conn, "<p@x>").unwrap(), Some(Some(id)));
    }
}
