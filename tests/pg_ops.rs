//! `tests/ops.rs` on PostgreSQL: the same suite, each desk on a fresh
//! database of this binary's throwaway cluster (`tests/common/pg.rs`):
//! there `backup` refuses and names `pg_dump`.

#[path = "ops.rs"]
mod suite;
