//! Which PostgreSQL errors a writer may try again, and which end the
//! attempt. Pure, so that the decision that separates "run the
//! transaction again" from "give up, exit 75" is unit-tested; the codes are
//! PostgreSQL's SQLSTATEs (Appendix A, "PostgreSQL Error Codes").

/// What a failed attempt means for the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Another writer got in the way: the transaction was rolled back and
    /// running it again from the start gives the right answer.
    Conflict,
    /// The connection broke or the server is going away or not there yet:
    /// a new connection may succeed. Only safe before COMMIT was sent.
    Connection,
    /// Anything else: the same transaction would fail the same way.
    Final,
}

/// The unique key that decides "already stored" (migration 001). Two
/// deliveries of one message race on it; the loser's retry finds the
/// message and ends as a duplicate.
pub const MESSAGE_KEY_CONSTRAINT: &str = "messages_key_unique";

/// Decides from an error's SQLSTATE, the constraint it names, and whether
/// the connection is gone (closed, or an I/O error on its socket).
pub fn decide(code: Option<&str>, constraint: Option<&str>, broken: bool) -> Kind {
    if broken {
        return Kind::Connection;
    }
    let Some(code) = code else {
        // No SQLSTATE and no broken socket: the driver refused a value or a
        // row (a conversion), which the next attempt would refuse too.
        return Kind::Final;
    };
    match code {
        // serialization_failure, deadlock_detected: PostgreSQL rolled the
        // transaction back and asks for it to be retried (§13.2.3, §13.3.4).
        "40001" | "40P01" => Kind::Conflict,
        // unique_violation on the message key: another host stored the same
        // message a moment before us; the retry sees it (SPEC §3 "Once only").
        "23505" if constraint == Some(MESSAGE_KEY_CONSTRAINT) => Kind::Conflict,
        // admin_shutdown, crash_shutdown, cannot_connect_now (starting up or
        // shutting down), and the connection_exception class.
        "57P01" | "57P02" | "57P03" => Kind::Connection,
        c if c.starts_with("08") => Kind::Connection,
        // too_many_connections: the server refuses for now.
        "53300" => Kind::Connection,
        _ => Kind::Final,
    }
}

/// `decide` for a driver error.
pub fn classify(e: &postgres::Error) -> Kind {
    let db = e.as_db_error();
    let io = std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>());
    decide(
        e.code().map(|c| c.code()),
        db.and_then(|d| d.constraint()),
        e.is_closed() || io,
    )
}

/// `classify` for the first driver error in an `anyhow` chain; an error
/// that did not come from the database (a refusal, a bad message) is final.
pub fn classify_any(e: &anyhow::Error) -> Kind {
    match e.chain().find_map(|c| c.downcast_ref::<postgres::Error>()) {
        Some(pg) => classify(pg),
        None => Kind::Final,
    }
}

/// Should a failed connection attempt be tried again? A wrong password or
/// a missing database (28xxx, 3D000) will not mend in the next seconds: it
/// is reported at once (still exit 75 for `deliver`: a configuration the
/// admin fixes while the MTA keeps the mail).
pub fn connect_retryable(code: Option<&str>) -> bool {
    match code {
        None => true,
        Some(c) => !(c.starts_with("28") || c == "3D000" || c == "42501"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialization_failures_and_deadlocks_are_retried() {
        assert_eq!(decide(Some("40001"), None, false), Kind::Conflict);
        assert_eq!(decide(Some("40P01"), None, false), Kind::Conflict);
    }

    #[test]
    fn only_the_message_key_race_is_a_conflict_among_unique_violations() {
        assert_eq!(
            decide(Some("23505"), Some(MESSAGE_KEY_CONSTRAINT), false),
            Kind::Conflict
        );
        assert_eq!(
            decide(Some("23505"), Some("credentials_pkey"), false),
            Kind::Final
        );
        assert_eq!(decide(Some("23505"), None, false), Kind::Final);
    }

    #[test]
    fn a_lost_connection_or_a_server_going_away_may_reconnect() {
        assert_eq!(decide(None, None, true), Kind::Connection);
        assert_eq!(decide(None, None, false), Kind::Final, "a conversion error");
        assert_eq!(decide(Some("57P01"), None, false), Kind::Connection);
        assert_eq!(decide(Some("08006"), None, false), Kind::Connection);
        assert_eq!(decide(Some("53300"), None, false), Kind::Connection);
    }

    #[test]
    fn everything_else_is_final() {
        // lock_not_available: the lock wait already used the budget.
        assert_eq!(decide(Some("55P03"), None, false), Kind::Final);
        // read_only_sql_transaction, a check constraint, a syntax error.
        assert_eq!(decide(Some("25006"), None, false), Kind::Final);
        assert_eq!(decide(Some("23514"), None, false), Kind::Final);
        assert_eq!(decide(Some("42601"), None, false), Kind::Final);
    }

    #[test]
    fn bad_credentials_and_missing_databases_are_not_retried_when_connecting() {
        assert!(connect_retryable(None));
        assert!(connect_retryable(Some("57P03")));
        assert!(connect_retryable(Some("53300")));
        assert!(!connect_retryable(Some("28P01")));
        assert!(!connect_retryable(Some("28000")));
        assert!(!connect_retryable(Some("3D000")));
    }
}
