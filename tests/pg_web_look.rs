//! `tests/web_look.rs` on PostgreSQL: the merge question, the message
//! downloads, the mail list and the folded quotes, each desk on a fresh
//! database of this binary's throwaway cluster (`tests/common/pg.rs`).

#[path = "web_look.rs"]
mod suite;
