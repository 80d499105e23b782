#!/usr/bin/env bash
# Install what the tests need, then run every test in the repository.
#
# Works on a fresh Debian machine with a Rust toolchain, as root (or with
# sudo for apt-get). Rust tests run in release mode: the bank, crash and
# property tests do real work and are many times faster optimised. Then the
# client-level tests (pytest) run real clients (pymysql, the mariadb CLI,
# sysbench) against a real `basalt playground` process on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo >/dev/null || { echo "cargo not found: install Rust (rustup) first" >&2; exit 1; }

# Clients the tests drive: the mariadb CLI and sysbench from Debian, and
# MariaDB's server, the reference the differential tests run beside Basalt;
# pymysql, pytest and prometheus_client (to parse /metrics) from PyPI.
# Installed only when missing.
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if ! command -v mariadb >/dev/null || ! command -v sysbench >/dev/null ||
  { ! command -v mariadbd >/dev/null && [ ! -x /usr/sbin/mariadbd ]; }; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq mariadb-server mariadb-client sysbench >/dev/null
fi
python3 -c "import pymysql, pytest, prometheus_client" 2>/dev/null || python3 -m pip install -q pymysql pytest prometheus_client

cargo test --workspace --release --locked "$@"
cargo build --release --locked -p basalt
# In CI a missing binary or reference server is an error, not a reason to skip.
BASALT_REQUIRE_BINARY=1 BASALT_REQUIRE_MARIADB=1 python3 -m pytest tests -q
