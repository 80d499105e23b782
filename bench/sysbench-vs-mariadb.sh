#!/usr/bin/env bash
# sysbench against a private MariaDB (Debian's package, innodb_flush_log_at_trx_commit=1
# so both sides make every commit durable) and the Basalt playground, on this
# machine, in the same run: each workload runs against MariaDB, then Basalt,
# and the table gives QPS, p95 latency and Basalt's ratio to MariaDB.
#
#   bash bench/sysbench-vs-mariadb.sh            # defaults below
#   TIME=60 WORKLOADS="oltp_point_select" bash bench/sysbench-vs-mariadb.sh
#   BASALT_BIN=/path/to/basalt bash bench/sysbench-vs-mariadb.sh
#   KV=3 bash bench/sysbench-vs-mariadb.sh    # `playground --kv 3`: PD, three
#                                             # stores and SQL as processes
#
# Both servers listen on 127.0.0.1 only and are stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

TABLES=${TABLES:-4}
SIZE=${SIZE:-100000}
THREADS=${THREADS:-16}
TIME=${TIME:-30}
# Seconds both servers sit idle after loading, so that the background work a
# bulk load leaves behind (InnoDB's page flushing, the LSM's flushes and
# compactions) is not measured as part of the first workloads.
SETTLE=${SETTLE:-30}
WORKLOADS=${WORKLOADS:-"oltp_point_select oltp_read_only oltp_read_write"}
# Stores of the Basalt side: 0 is the single-process playground; N runs
# `playground --kv N` (every region replicated to min(N, 3) stores). Each
# table gets regions of its own, which PD spreads over the stores; set
# REGION_SPLIT_SIZE (e.g. 16MiB) to cut them smaller than the default 96MiB.
KV=${KV:-0}
REGION_SPLIT_SIZE=${REGION_SPLIT_SIZE:-96MiB}
MARIADB_PORT=${MARIADB_PORT:-13306}
BASALT_PORT=${BASALT_PORT:-14000}
export MARIADB_PORT

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if ! command -v mariadbd >/dev/null || ! command -v sysbench >/dev/null; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq mariadb-server mariadb-client sysbench >/dev/null
fi

# BASALT_BIN=path uses a binary already built instead of building one.
if [ -z "${BASALT_BIN:-}" ]; then
  cargo build --profile dist --locked -p basalt
  BASALT_BIN="${CARGO_TARGET_DIR:-target}/dist/basalt"
fi
work=$(mktemp -d)
basalt_pid=""
cleanup() {
  [ -n "$basalt_pid" ] && kill "$basalt_pid" 2>/dev/null && wait "$basalt_pid" 2>/dev/null
  bash tests/sql/mariadb.sh stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

bash tests/sql/mariadb.sh start
cluster=()
[ "$KV" -gt 0 ] && cluster=(--kv "$KV" --region-split-size "$REGION_SPLIT_SIZE")
"$BASALT_BIN" playground --data-dir "$work/basalt" --port "$BASALT_PORT" --status-port 0 --host 127.0.0.1 \
  "${cluster[@]}" >"$work/basalt.log" 2>&1 &
basalt_pid=$!
for _ in $(seq 100); do
  mariadb -h127.0.0.1 -P"$BASALT_PORT" -uroot -e "SELECT 1" >/dev/null 2>&1 && break
  sleep 0.2
done

sb() { # port, workload, command, extra...
  local port=$1 workload=$2 command=$3
  shift 3
  sysbench "$workload" --mysql-host=127.0.0.1 --mysql-port="$port" --mysql-user=root --mysql-db=sbtest \
    --tables="$TABLES" --table-size="$SIZE" "$@" "$command"
}

for port in "$MARIADB_PORT" "$BASALT_PORT"; do
  mariadb -h127.0.0.1 -P"$port" -uroot -e "DROP DATABASE IF EXISTS sbtest; CREATE DATABASE sbtest"
  start=$(date +%s)
  sb "$port" oltp_common prepare --threads="$TABLES" >/dev/null
  echo "loaded $TABLES x $SIZE rows on port $port in $(( $(date +%s) - start )) s"
done

sleep "$SETTLE"

declare -A qps p95
for w in $WORKLOADS; do
  for side in mariadb basalt; do
    port=$MARIADB_PORT
    [ "$side" = basalt ] && port=$BASALT_PORT
    out=$(sb "$port" "$w" run --threads="$THREADS" --time="$TIME" --percentile=95)
    qps[$side.$w]=$(echo "$out" | awk '/queries:/ {gsub(/\(/, "", $3); print $3}')
    p95[$side.$w]=$(echo "$out" | awk '/95th percentile:/ {print $3}')
    echo "$w on $side: ${qps[$side.$w]} qps, p95 ${p95[$side.$w]} ms"
  done
done

echo
side="single-process playground"
[ "$KV" -gt 0 ] && side="playground --kv $KV (regions split at $REGION_SPLIT_SIZE)"
echo "Basalt: $side; sysbench $TABLES x $SIZE rows, $THREADS threads, ${TIME}s per run, ${SETTLE}s idle after loading, $(nproc) cores"
printf "| %-22s | %12s | %9s | %12s | %9s | %6s |\n" workload "MariaDB qps" "p95 ms" "Basalt qps" "p95 ms" ratio
printf "|%s|%s|%s|%s|%s|%s|\n" "------------------------" "-------------:" "----------:" "-------------:" "----------:" "-------:"
for w in $WORKLOADS; do
  ratio=$(awk -v b="${qps[basalt.$w]}" -v m="${qps[mariadb.$w]}" 'BEGIN { printf "%.2f", (m > 0 ? b / m : 0) }')
  printf "| %-22s | %12s | %9s | %12s | %9s | %6s |\n" "$w" "${qps[mariadb.$w]}" "${p95[mariadb.$w]}" \
    "${qps[basalt.$w]}" "${p95[basalt.$w]}" "${ratio}x"
done
