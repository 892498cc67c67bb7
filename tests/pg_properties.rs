//! `tests/properties/delivery.rs` on PostgreSQL: the delivery path's
//! properties, each case's desk on a fresh database of this binary's
//! throwaway cluster (`tests/common/pg.rs`), with fewer cases.

mod common;
#[path = "properties/delivery.rs"]
mod delivery;
