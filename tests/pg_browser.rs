//! `tests/browser.rs` on PostgreSQL: its scenarios in which the store
//! answers, in a real headless Chromium (drags, lanes, a second browser, a
//! delivery appearing on the open board by LISTEN/NOTIFY, a stale drop, a
//! late answer, a reply), each desk on a fresh database of this binary's
//! throwaway cluster (`tests/common/pg.rs`).

#[path = "browser.rs"]
mod suite;
