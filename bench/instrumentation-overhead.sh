#!/usr/bin/env bash
# What Basalt's always-on instrumentation costs (DESIGN §7 rule 7): two
# single-process playgrounds on this machine, one as shipped and one started
# with `--no-instrumentation` (no statement or request metrics, statement
# summary, slow log or heap sampling), each loaded with the same sysbench
# tables; oltp_point_select then runs against them in turn, ROUNDS times
# each, interleaved (the first of each round alternating) so that drift of
# the machine hits both alike. Prints
# every run's queries per second and the server's CPU time per query (read
# from /proc: steadier than throughput on a machine sysbench shares), the
# medians, and the loss (goal: at most 3%).
#
#   bash bench/instrumentation-overhead.sh
#   ROUNDS=5 TIME=30 BASALT_BIN=/path/to/basalt bash bench/instrumentation-overhead.sh
#
# The same measurement compares two builds (whether a change costs CPU):
# OFF_BIN is the second server's binary and OFF_FLAGS its flags, LABELS
# names the two, WORKLOAD picks the sysbench workload, and PAUSE idles
# after each run so that the background work a write workload leaves (LSM
# flushes, compactions) is not measured in the next run.
#
#   BASALT_BIN=/tmp/after OFF_BIN=/tmp/before OFF_FLAGS= LABELS="after before" \
#     WORKLOAD=oltp_read_write PAUSE=10 bash bench/instrumentation-overhead.sh
#
# Both servers listen on 127.0.0.1 only and are stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

TABLES=${TABLES:-4}
SIZE=${SIZE:-100000}
THREADS=${THREADS:-16}
TIME=${TIME:-20}
ROUNDS=${ROUNDS:-7}
SETTLE=${SETTLE:-20}
ON_PORT=${ON_PORT:-14100}
OFF_PORT=${OFF_PORT:-14200}
WORKLOAD=${WORKLOAD:-oltp_point_select}
PAUSE=${PAUSE:-0}
OFF_FLAGS=${OFF_FLAGS---no-instrumentation}
read -r on_label off_label <<<"${LABELS:-on off}"

if ! command -v sysbench >/dev/null || ! command -v mariadb >/dev/null; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq mariadb-client sysbench >/dev/null
fi
if [ -z "${BASALT_BIN:-}" ]; then
  cargo build --profile dist --locked -p basalt
  BASALT_BIN="${CARGO_TARGET_DIR:-target}/dist/basalt"
fi
OFF_BIN=${OFF_BIN:-$BASALT_BIN}
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

start() { # name, binary, port, extra flags...
  local name=$1 bin=$2 port=$3
  shift 3
  "$bin" "$@" playground --data-dir "$work/$name" --port "$port" --status-port 0 --host 127.0.0.1 \
    >"$work/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 150); do
    mariadb -h127.0.0.1 -P"$port" -uroot -e "SELECT 1" >/dev/null 2>&1 && return
    sleep 0.2
  done
  echo "$name did not start:" >&2
  cat "$work/$name.log" >&2
  exit 1
}

sb() { # port, command, extra...
  local port=$1 command=$2
  shift 2
  sysbench "$WORKLOAD" --mysql-host=127.0.0.1 --mysql-port="$port" --mysql-user=root --mysql-db=sbtest \
    --tables="$TABLES" --table-size="$SIZE" "$@" "$command"
}

start on "$BASALT_BIN" "$ON_PORT"
# shellcheck disable=SC2086 # OFF_FLAGS is a list of flags
start off "$OFF_BIN" "$OFF_PORT" $OFF_FLAGS
for port in "$ON_PORT" "$OFF_PORT"; do
  mariadb -h127.0.0.1 -P"$port" -uroot -e "CREATE DATABASE sbtest"
  sb "$port" prepare --threads="$TABLES" >/dev/null
done
sleep "$SETTLE"

# CPU seconds (user + system) the server process `pid` has used.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"; }

declare -A runs=([on]="" [off]="") cpus=([on]="" [off]="") pid=([on]="${pids[0]}" [off]="${pids[1]}")
for round in $(seq "$ROUNDS"); do
  # Who goes first alternates, so that an order effect cancels out.
  order="on off"
  [ $((round % 2)) -eq 0 ] && order="off on"
  for side in $order; do
    port=$ON_PORT
    [ "$side" = off ] && port=$OFF_PORT
    before=$(cpu "${pid[$side]}")
    out=$(sb "$port" run --threads="$THREADS" --time="$TIME")
    after=$(cpu "${pid[$side]}")
    qps=$(echo "$out" | awk '/queries:/ {gsub(/\(/, "", $3); print $3}')
    queries=$(echo "$out" | awk '/queries:/ {print $2}')
    us=$(awk -v a="$after" -v b="$before" -v q="$queries" 'BEGIN { printf "%.2f", (a - b) * 1e6 / q }')
    runs[$side]+="$qps "
    cpus[$side]+="$us "
    label=$on_label
    [ "$side" = off ] && label=$off_label
    echo "round $round, $label: $qps qps, $us us of server CPU per query"
    sleep "$PAUSE"
  done
done

median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
on=$(echo "${runs[on]}" | median)
off=$(echo "${runs[off]}" | median)
cpu_on=$(echo "${cpus[on]}" | median)
cpu_off=$(echo "${cpus[off]}" | median)
echo
echo "$WORKLOAD, $TABLES x $SIZE rows, $THREADS threads, ${TIME}s per run, $ROUNDS rounds, $(nproc) cores"
echo "| server | median qps | median server CPU per query (us) |"
echo "|---|---:|---:|"
echo "| $on_label ($BASALT_BIN) | $on | $cpu_on |"
echo "| $off_label ($OFF_BIN $OFF_FLAGS) | $off | $cpu_off |"
awk -v on="$on" -v off="$off" -v con="$cpu_on" -v coff="$cpu_off" -v a="$on_label" -v b="$off_label" 'BEGIN {
  printf "throughput lost by %s against %s: %.1f%% (instrumentation goal: at most 3%%)\n", a, b, (off > 0 ? (off - on) / off * 100 : 0)
  printf "server CPU per query added: %.1f%%\n", (coff > 0 ? (con - coff) / coff * 100 : 0)
}'
