//! `tests/reliability.rs` on PostgreSQL: the same suite, each desk on a
//! fresh database of this binary's throwaway cluster (`tests/common/pg.rs`),
//! with PostgreSQL's own failures where the suite tests SQLite's.

#[path = "reliability.rs"]
mod suite;
