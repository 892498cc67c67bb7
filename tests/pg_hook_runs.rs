//! `tests/hook_runs.rs` on PostgreSQL: the same suite, each desk on a fresh
//! database of this binary's throwaway cluster (`tests/common/pg.rs`), and
//! its concurrent flushes from two hosts on one database (SPEC §7).

#[path = "hook_runs.rs"]
mod suite;
