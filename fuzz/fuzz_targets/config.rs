//! libFuzzer target: any text → the config parser, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pipedesk_fuzz::config(data);
});
