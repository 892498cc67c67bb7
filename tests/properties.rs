//! Properties over generated input (proptest) and the fuzz seeds replayed:
//! the delivery path on SQLite (`properties/delivery.rs`, which
//! `tests/pg_properties.rs` runs on PostgreSQL), and what needs no store,
//! the config parser, the HTML reading (`properties/html.rs`) and the fuzz
//! targets' checks, once.

mod common;
#[path = "properties/delivery.rs"]
mod delivery;
#[path = "properties/html.rs"]
mod html;

use pipedesk::config::Config;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_config_parser_never_panics(text in "[\\[\\]a-z_=\" .#0-9\n-]{0,200}") {
        let _ = Config::parse(&text);
    }
}

/// The fuzz targets' checks (`fuzz/src/lib.rs`), on stable Rust.
#[path = "../fuzz/src/lib.rs"]
mod fuzz_checks;

/// Every committed fuzz seed, and every crash input copied there after a
/// fix, replayed through the same checks the fuzz targets run.
#[test]
fn fuzz_seeds_replay_cleanly() {
    let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    let mut replayed = 0;
    for (target, check) in [
        ("deliver_path", fuzz_checks::deliver_path as fn(&[u8])),
        ("config", fuzz_checks::config),
        ("html", fuzz_checks::html),
    ] {
        for entry in std::fs::read_dir(seeds.join(target)).unwrap() {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let result = std::panic::catch_unwind(|| check(&data));
            assert!(result.is_ok(), "{target}: {} fails", path.display());
            replayed += 1;
        }
    }
    assert!(replayed > 100, "only {replayed} seeds found");
}
