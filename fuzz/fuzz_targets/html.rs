//! libFuzzer target: any bytes as an HTML body → its text, never a panic,
//! never more text than a bound linear in the markup (see `src/lib.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pipedesk_fuzz::html(data);
});
