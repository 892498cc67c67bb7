//! `tests/fresh_desk.rs` on PostgreSQL: a fresh database of this binary's
//! throwaway cluster holds no schema until `init` (or a delivery) runs.

#[path = "fresh_desk.rs"]
mod suite;
