//! `tests/access.rs` on PostgreSQL: the same suite (passwd, revoke, the
//! reload on SIGHUP), each desk on a fresh database of this binary's
//! throwaway cluster (`tests/common/pg.rs`).

#[path = "access.rs"]
mod suite;
