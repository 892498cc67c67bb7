//! `tests/web.rs` on PostgreSQL: the same suite (pages, API, the live
//! board), each desk on a fresh database of this binary's throwaway cluster
//! (`tests/common/pg.rs`).

#[path = "web.rs"]
mod suite;
