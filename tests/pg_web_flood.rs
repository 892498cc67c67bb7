//! `tests/web_flood.rs` on PostgreSQL: the same flood, its desk on a
//! fresh database of this binary's throwaway cluster (the store holds file
//! handles of its own: sockets to the server).

#[path = "web_flood.rs"]
mod suite;
