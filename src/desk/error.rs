//! The desk's one vocabulary of refusals: why an operation did not happen
//! for a reason of its input (not a fault of the machine). Each front end
//! maps it once — `exit::code_for` to a sysexits code, the web's `ApiError`
//! to a status — and everything else is a plain `anyhow::Error`: a fault
//! (75 for `deliver`, 500 on the web).

use crate::model::Ticket;

/// Why the desk refused to do something.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such ticket (SPEC §3: `deliver` exits 67).
    #[error("no ticket #{0}")]
    NoTicket(i64),
    /// An address at our domains that means nothing here (`deliver`: 67).
    #[error("{0}")]
    NoAddress(String),
    /// The message itself is unacceptable: empty or too large (`deliver`:
    /// 65, never retried).
    #[error("{0}")]
    Refused(String),
    /// Not allowed now, or not by this person.
    #[error("{0}")]
    NotAllowed(String),
    /// The ticket changed since the version the caller saw.
    #[error("ticket #{} has changed since (it is at version {} now)", .0.id, .0.version)]
    Stale(Box<Ticket>),
    /// Input a person gave that cannot be used (an address, a password, a
    /// search).
    #[error("{0}")]
    BadInput(String),
}

impl Error {
    /// A queue name the config does not know, with those it does (`a`,
    /// `a or b`, `a, b or c`): the one message of every front end, as
    /// `model::UnknownStatus` is for a status.
    pub fn unknown_queue(name: &str, known: &[&str]) -> Error {
        Error::BadInput(format!("unknown queue {name:?} ({})", one_of(known)))
    }

    /// The desk's refusal somewhere in `e`'s chain, below any context
    /// added on the way up.
    pub fn find(e: &anyhow::Error) -> Option<&Error> {
        e.chain().find_map(|c| c.downcast_ref::<Error>())
    }
}

/// `words` as a person reads a choice: `a`, `a or b`, `a, b or c`.
fn one_of(words: &[&str]) -> String {
    match words.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_choice_reads_as_a_sentence() {
        assert_eq!(one_of(&["general"]), "general");
        assert_eq!(one_of(&["general", "spam"]), "general or spam");
        assert_eq!(one_of(&["general", "web", "spam"]), "general, web or spam");
        assert_eq!(
            Error::unknown_queue("wbe", &["general", "web"]).to_string(),
            "unknown queue \"wbe\" (general or web)"
        );
    }
}
