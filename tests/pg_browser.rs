//! The browser scenarios in which the store answers (`tests/browser/live.rs`:
//! drags and lanes seen on a second board, a delivery appearing on an open
//! board by LISTEN/NOTIFY, a stale drop, a late answer, a reply mailed) in a
//! real headless Chromium on PostgreSQL, each desk on a fresh database of
//! this binary's throwaway cluster (`tests/common/pg.rs`).

mod common;
#[path = "browser/live.rs"]
mod live;
