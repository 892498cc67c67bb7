//! `tests/front.rs` on PostgreSQL: the same suite, each desk on a fresh
//! database of this binary's throwaway cluster (`tests/common/pg.rs`).

#[path = "front.rs"]
mod suite;
