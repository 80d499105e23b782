#!/usr/bin/env bash
# Whether a change made Basalt slower: two builds (before and after) each run
# bench/sysbench-vs-mariadb.sh in turn, ROUNDS times, interleaved (the first
# of each round alternating), so that drift of the machine hits both alike.
# Each run measures MariaDB beside Basalt, and the ratio Basalt/MariaDB of
# the same run is what is compared. Prints every run's ratios, each build's
# median ratio per workload, and after/before.
#
#   bash bench/compare-builds.sh /path/to/basalt-before /path/to/basalt-after
#   ROUNDS=3 TIME=20 SETTLE=15 WORKLOADS="oltp_read_write" bash bench/compare-builds.sh A B
#
# Build both the same way (e.g. `cargo build --release` at each commit, with
# the binary copied aside). The servers listen on 127.0.0.1 only and are
# stopped after each run.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -ne 2 ]; then
  echo "usage: $0 BEFORE_BIN AFTER_BIN" >&2
  exit 2
fi
before=$1
after=$2
ROUNDS=${ROUNDS:-2}
export TIME=${TIME:-20} SETTLE=${SETTLE:-15}
export WORKLOADS=${WORKLOADS:-"oltp_point_select oltp_read_only oltp_read_write"}

results=$(mktemp)
trap 'rm -f "$results"' EXIT

run() { # label, binary
  echo "== $1 ($2)"
  local out
  out=$(BASALT_BIN=$2 bash bench/sysbench-vs-mariadb.sh)
  echo "$out"
  echo "$out" | awk -v label="$1" -F'|' \
    '/^\| oltp_/ { gsub(/ /, "", $2); gsub(/[ x]/, "", $7); print label, $2, $7 }' >>"$results"
}

for round in $(seq "$ROUNDS"); do
  if [ $((round % 2)) -eq 1 ]; then
    run before "$before"
    run after "$after"
  else
    run after "$after"
    run before "$before"
  fi
done

echo
echo "ratios Basalt/MariaDB per run, $ROUNDS rounds, ${TIME}s per workload:"
sort -k2,2 -k1,1 "$results" | awk '{ printf "  %-18s %-7s %s\n", $2, $1, $3 }'
echo
printf "| %-18s | %8s | %8s | %12s |\n" workload before after after/before
printf "|%s|%s|%s|%s|\n" "--------------------" "---------:" "---------:" "-------------:"
for w in $WORKLOADS; do
  median() { awk -v l="$1" -v w="$w" '$1 == l && $2 == w { print $3 }' "$results" | sort -n |
    awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
  b=$(median before)
  a=$(median after)
  awk -v w="$w" -v b="$b" -v a="$a" 'BEGIN { printf "| %-18s | %8.2f | %8.2f | %11.2fx |\n", w, b, a, (b > 0 ? a / b : 0) }'
done
