#!/usr/bin/env bash
# Install what the tests need, then run every test in the repository.
#
# Works on a fresh Debian machine with a Rust toolchain. Tests run in release
# mode: the bank, crash and property tests do real work and are many times
# faster optimised, which more than pays for the longer build.
set -euo pipefail
cd "$(dirname "$0")/.."

# Tests of later layers install their clients here (apt-get, pip).
command -v cargo >/dev/null || { echo "cargo not found: install Rust (rustup) first" >&2; exit 1; }

cargo test --workspace --release --locked "$@"
