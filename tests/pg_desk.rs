//! `tests/desk.rs` on PostgreSQL: the desk's rules in process, each desk on
//! a fresh database of this binary's throwaway cluster (`tests/common/pg.rs`).

#[path = "desk.rs"]
mod suite;
