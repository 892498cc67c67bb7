//! libFuzzer target: bytes → parse → route → one transaction → outbox, with
//! the contract's checks (see `src/lib.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pipedesk_fuzz::deliver_path(data);
});
