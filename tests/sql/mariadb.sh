#!/usr/bin/env bash
# A private MariaDB (Debian's mariadb-server package) for differential tests
# and benchmarks: expectations for the SQL corpus come from it.
#
#   tests/sql/mariadb.sh start    # initialise (first time) and start; waits until ready
#   tests/sql/mariadb.sh stop     # shut down (data dir kept; `clean` removes it)
#   tests/sql/mariadb.sh status   # exit 0 if it answers
#   tests/sql/mariadb.sh clean    # stop and remove the data dir
#
# Environment:
#   MARIADB_PORT  TCP port on 127.0.0.1 (default 13306)
#   MARIADB_DIR   where datadir, socket, pid and log live
#                 (default ${TMPDIR:-/tmp}/basalt-mariadb-$MARIADB_PORT)
#
# The server listens on 127.0.0.1 only, root has an empty password over TCP,
# sql_mode is MySQL 8.0's default, character set utf8mb4 with
# utf8mb4_general_ci, and every commit is flushed (innodb_flush_log_at_trx_commit=1).
# Connect with: mariadb -h127.0.0.1 -P"$MARIADB_PORT" -uroot
set -euo pipefail

PORT="${MARIADB_PORT:-13306}"
DIR="${MARIADB_DIR:-${TMPDIR:-/tmp}/basalt-mariadb-$PORT}"
DATADIR="$DIR/data"
SOCKET="$DIR/mysqld.sock"
PIDFILE="$DIR/mysqld.pid"
LOG="$DIR/mysqld.log"
SQL_MODE="ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"
START_TIMEOUT="${MARIADB_START_TIMEOUT:-60}"

die() { echo "mariadb.sh: $*" >&2; exit 1; }

for bin in mariadbd mariadb-install-db mariadb-admin mariadb; do
    command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] ||
        die "$bin not found: apt-get install -y mariadb-server mariadb-client"
done
MARIADBD="$(command -v mariadbd || echo /usr/sbin/mariadbd)"

# --user=root is required when we run as root (mariadbd refuses otherwise);
# as any other user, run as that user.
USER_OPT="--user=$(id -un)"

running_pid() {
    [ -f "$PIDFILE" ] || return 1
    local pid
    pid="$(cat "$PIDFILE" 2>/dev/null)" || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    echo "$pid"
}

ping_tcp() {
    mariadb-admin --no-defaults --protocol=TCP -h127.0.0.1 -P"$PORT" -uroot \
        --connect-timeout=2 ping >/dev/null 2>&1
}

port_in_use() {
    # true if something (not ours) already listens on the port
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null
}

do_start() {
    if pid="$(running_pid)"; then
        if ping_tcp; then
            echo "mariadb.sh: already running (pid $pid) on 127.0.0.1:$PORT, socket $SOCKET"
            return 0
        fi
        die "mariadbd pid $pid (from $PIDFILE) is alive but does not answer on port $PORT; run '$0 stop' first (log: $LOG)"
    fi
    if port_in_use; then
        die "port $PORT on 127.0.0.1 is already in use by another process; set MARIADB_PORT"
    fi
    mkdir -p "$DIR"
    if [ ! -d "$DATADIR/mysql" ]; then
        rm -rf "$DATADIR"
        echo "mariadb.sh: initialising $DATADIR"
        mariadb-install-db --no-defaults "$USER_OPT" --datadir="$DATADIR" \
            --auth-root-authentication-method=normal --skip-test-db \
            --skip-name-resolve >"$DIR/install.log" 2>&1 ||
            { cat "$DIR/install.log" >&2; die "mariadb-install-db failed"; }
    fi
    rm -f "$PIDFILE" "$SOCKET"
    # --no-defaults: ignore /etc/mysql/*.cnf so the machine's config cannot leak in.
    nohup "$MARIADBD" --no-defaults "$USER_OPT" \
        --datadir="$DATADIR" \
        --port="$PORT" --bind-address=127.0.0.1 \
        --socket="$SOCKET" --pid-file="$PIDFILE" \
        --log-error="$LOG" \
        --skip-name-resolve \
        --innodb-flush-log-at-trx-commit=1 \
        --innodb-buffer-pool-size=256M \
        --sql-mode="$SQL_MODE" \
        --character-set-server=utf8mb4 \
        --collation-server=utf8mb4_general_ci \
        --max-connections=500 \
        --skip-log-bin \
        </dev/null >/dev/null 2>&1 &
    local launched=$!
    local deadline=$((SECONDS + START_TIMEOUT))
    until ping_tcp; do
        if ! kill -0 "$launched" 2>/dev/null; then
            tail -30 "$LOG" >&2 || true
            die "mariadbd exited during start-up (log: $LOG)"
        fi
        [ "$SECONDS" -lt "$deadline" ] || { tail -30 "$LOG" >&2 || true; die "not ready after ${START_TIMEOUT}s (log: $LOG)"; }
        sleep 0.3
    done
    # With --skip-name-resolve a TCP client from 127.0.0.1 is matched against
    # host '127.0.0.1', not 'localhost': make sure root exists there too.
    mariadb --no-defaults -S "$SOCKET" -uroot -e \
        "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
         GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;" ||
        die "could not set up root@127.0.0.1"
    echo "mariadb.sh: running (pid $(cat "$PIDFILE")) on 127.0.0.1:$PORT, socket $SOCKET, dir $DIR"
}

do_stop() {
    local pid
    if ! pid="$(running_pid)"; then
        echo "mariadb.sh: not running (dir $DIR)"
        return 0
    fi
    mariadb-admin --no-defaults -S "$SOCKET" -uroot shutdown >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 60))
    while kill -0 "$pid" 2>/dev/null; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "mariadb.sh: pid $pid did not stop in 60s, killing" >&2
            kill -9 "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.2
    done
    rm -f "$PIDFILE"
    echo "mariadb.sh: stopped (pid $pid)"
}

case "${1:-}" in
    start) do_start ;;
    stop) do_stop ;;
    restart) do_stop; do_start ;;
    status)
        if running_pid >/dev/null && ping_tcp; then
            echo "mariadb.sh: running on 127.0.0.1:$PORT (dir $DIR)"
        else
            echo "mariadb.sh: not running (dir $DIR)"; exit 1
        fi ;;
    clean) do_stop; rm -rf "$DIR"; echo "mariadb.sh: removed $DIR" ;;
    *) echo "usage: $0 start|stop|restart|status|clean  (env MARIADB_PORT, MARIADB_DIR)" >&2; exit 2 ;;
esac
