# shellcheck shell=bash
# PG_TEST_URL is for the scripts that source this file.
# shellcheck disable=SC2034
# A throwaway PostgreSQL server for a test run, from Debian's server binaries (package
# `postgresql`, no system service): initdb into a temporary directory, started on a free
# loopback port with fsync off, stopped and deleted by pg_test_stop. What
# tests/common/postgres.rs does for one test binary, here for scripts/test's run of the
# hub suite on PostgreSQL (SPORTELLO_TEST_POSTGRES, tests/common/hub_setup.rs).

# pg_test_start: starts the server (fsync off, unless PG_TEST_FSYNC=on: a bench measures
# durable commits); sets PG_TEST_URL (postgres://sportello@127.0.0.1:PORT,
# no database: each test hub creates its own) and PG_TEST_DIR.
pg_test_start() {
    local bin
    bin=$(find /usr/lib/postgresql -maxdepth 3 -name initdb -path '*/bin/*' | sort -V | tail -1)
    bin=${bin%/initdb}
    [ -x "$bin/pg_ctl" ] || { echo "PostgreSQL's server binaries are not installed" >&2; return 1; }
    PG_TEST_DIR=$(mktemp -d /tmp/sportello-pg-suite.XXXXXX)
    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    # initdb refuses to run as root: the server then runs as Debian's `postgres` user.
    local as=()
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres "$PG_TEST_DIR"
        as=(runuser -u postgres --)
    fi
    "${as[@]}" "$bin/initdb" -D "$PG_TEST_DIR/data" -U sportello -A trust -E UTF8 \
        --no-sync --no-instructions >/dev/null
    "${as[@]}" "$bin/pg_ctl" -D "$PG_TEST_DIR/data" -l "$PG_TEST_DIR/data/server.log" -w \
        -o "-p $port -c listen_addresses=127.0.0.1 -k $PG_TEST_DIR/data -c fsync=${PG_TEST_FSYNC:-off} -c max_connections=300" \
        start >/dev/null
    PG_TEST_BIN=$bin
    PG_TEST_AS=("${as[@]}")
    PG_TEST_URL="postgres://sportello@127.0.0.1:$port"
}

# pg_test_stop: stops the server of pg_test_start and deletes its files.
pg_test_stop() {
    [ -n "${PG_TEST_DIR:-}" ] || return 0
    "${PG_TEST_AS[@]}" "$PG_TEST_BIN/pg_ctl" -D "$PG_TEST_DIR/data" -m immediate stop \
        >/dev/null 2>&1 || true
    rm -rf "$PG_TEST_DIR"
    PG_TEST_DIR=
}
