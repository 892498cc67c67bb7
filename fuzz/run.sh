#!/usr/bin/env bash
# Fuzz the delivery path, the config parser and the HTML reading for a
# bounded time each.
#
#   fuzz/run.sh [SECONDS_PER_TARGET]      (default 60)
#   FUZZ_SANITIZER=none fuzz/run.sh 600   (faster; default: address, which
#                                          also watches SQLite's C code)
#
# Needs a nightly toolchain (libFuzzer's sanitizer flags); installs
# cargo-fuzz when it is missing. New inputs go to fuzz/corpus/<target>
# (not committed); the committed seeds are fuzz/seeds/<target>, which
# `cargo test` also replays on stable (tests/properties.rs). A crash leaves
# its input in fuzz/artifacts/<target>/: copy it into fuzz/seeds/<target>/
# so the normal suite keeps it fixed, then fix the bug.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-60}"
sanitizer="${FUZZ_SANITIZER:-address}"

if ! rustup toolchain list | grep -q '^nightly'; then
    echo "fuzz: installing the nightly toolchain" >&2
    rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

status=0
for target in deliver_path config html; do
    mkdir -p "corpus/$target"
    echo "fuzz: $target for ${secs}s" >&2
    # -rss_limit_mb: a message that makes the parser balloon is a bug too.
    # -max_len: room for deep MIME nesting and long header lines.
    if ! cargo +nightly fuzz run --sanitizer "$sanitizer" "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$secs" -rss_limit_mb=2048 -max_len=262144 -timeout=10 \
        -print_final_stats=1; then
        status=1
    fi
done
exit "$status"
