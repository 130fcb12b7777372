#!/usr/bin/env bash
# Start a throwaway PostgreSQL 15 server with the pgvector extension on 127.0.0.1 and print its DSN on stdout.
#
#   export FACEREC_TEST_PG_DSN="$(bash tools/setup_postgres.sh)"
#   bash tools/setup_postgres.sh --stop          # stop the server (its data folder is kept for a fast restart)
#   bash tools/setup_postgres.sh --destroy       # stop it and delete its data folder
#   bash tools/setup_postgres.sh --no-install    # only start a cluster (what the tests do): installs nothing, and
#                                                # exits 3 when PostgreSQL or pgvector is not installed
#
# What it does, each step skipped when already done (a second run takes well under a second):
#   1. installs Debian's postgresql-15 and postgresql-server-dev-15 with apt-get (root only);
#   2. builds pgvector from Debian's source package and installs it into PostgreSQL 15. Debian 12 (bookworm) has no
#      binary pgvector package for PostgreSQL 15, so the source package is taken from trixie, read through a private
#      apt list folder: the system's apt sources are left untouched;
#   3. creates a cluster in $FACEREC_PG_DIR (default /tmp/facerec-pg) owned by the `postgres` user, trust
#      authentication, listening on 127.0.0.1 only, on a free port, and starts it.
# Progress goes to stderr; stdout carries only the DSN.
set -euo pipefail

PG_VERSION="${FACEREC_PG_VERSION:-15}"
PG_DIR="${FACEREC_PG_DIR:-/tmp/facerec-pg}"
PG_BIN="/usr/lib/postgresql/${PG_VERSION}/bin"
PG_SHARE="/usr/share/postgresql/${PG_VERSION}"
SRC_SUITE="${FACEREC_PGVECTOR_SUITE:-trixie}"

log() { echo "setup_postgres: $*" >&2; }
die() { log "error: $*"; exit 1; }

as_owner() {  # run a command as the cluster's owner
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

install_packages() {
    if [ -x "$PG_BIN/postgres" ] && [ -x "$PG_BIN/pg_config" ] \
        && [ -f "/usr/include/postgresql/${PG_VERSION}/server/postgres.h" ]; then
        return
    fi
    [ "$(id -u)" = 0 ] || die "PostgreSQL ${PG_VERSION} server/dev packages are missing and this is not root"
    log "installing postgresql-${PG_VERSION} and postgresql-server-dev-${PG_VERSION} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq "postgresql-${PG_VERSION}" "postgresql-server-dev-${PG_VERSION}" make gcc dpkg-dev >&2
}

install_pgvector() {
    if [ -f "$PG_SHARE/extension/vector.control" ] && [ -f "/usr/lib/postgresql/${PG_VERSION}/lib/vector.so" ]; then
        return
    fi
    [ "$(id -u)" = 0 ] || die "pgvector is not installed for PostgreSQL ${PG_VERSION} and this is not root"
    local work="${TMPDIR:-/tmp}/facerec-pgvector-build"
    rm -rf "$work"
    mkdir -p "$work/lists/partial" "$work/src"
    # the Debian mirror this machine is already configured with (its main archive, not the security one)
    local mirror
    mirror="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ {print $2}' | grep -v security \
              | grep -i debian | head -n 1)"
    if [ -z "$mirror" ]; then
        mirror="$(grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
                  | awk '{print $2}' | grep -v security | grep -i debian | head -n 1)"
    fi
    [ -n "$mirror" ] || die "cannot find this machine's Debian mirror in /etc/apt/sources.list*"
    echo "deb-src ${mirror} ${SRC_SUITE} main" > "$work/sources.list"
    local apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
                    -o "Dir::State::Lists=$work/lists" -o "APT::Sandbox::User=root")
    log "fetching pgvector's Debian source package from ${SRC_SUITE}"
    apt-get "${apt_opts[@]}" update -qq >&2
    (cd "$work/src" && apt-get "${apt_opts[@]}" source --download-only -qq pgvector >&2)
    local dsc
    dsc="$(ls "$work"/src/pgvector_*.dsc | head -n 1)"
    [ -n "$dsc" ] || die "no pgvector source package found in ${SRC_SUITE}"
    (cd "$work/src" && dpkg-source --no-check -x "$dsc" pgvector >&2)
    log "building $(basename "$dsc" .dsc) against PostgreSQL ${PG_VERSION}"
    make -s -C "$work/src/pgvector" PG_CONFIG="$PG_BIN/pg_config" OPTFLAGS="" -j2 >&2
    make -s -C "$work/src/pgvector" PG_CONFIG="$PG_BIN/pg_config" install >&2
    rm -rf "$work"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

dsn() { echo "postgresql://postgres@127.0.0.1:$(cat "$PG_DIR/port")/postgres"; }

start_cluster() {
    if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
        useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    fi
    if [ ! -f "$PG_DIR/data/PG_VERSION" ]; then
        rm -rf "$PG_DIR"
        mkdir -p "$PG_DIR"
        [ "$(id -u)" = 0 ] && chown postgres: "$PG_DIR"
        log "creating a cluster in $PG_DIR/data"
        as_owner "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --no-locale --no-sync >/dev/null
        as_owner mkdir -p "$PG_DIR/socket"
    fi
    if as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1 \
        && "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$(cat "$PG_DIR/port")"; then
        return
    fi
    local port
    port="$(free_port)"
    as_owner sh -c "echo $port > '$PG_DIR/port'"
    log "starting PostgreSQL ${PG_VERSION} on 127.0.0.1:$port"
    as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_DIR/socket -c max_connections=50" start >/dev/null \
        || { tail -n 20 "$PG_DIR/server.log" >&2; die "the server did not start"; }
    PGOPTIONS="-c client_min_messages=warning" "$PG_BIN/psql" -q -X -h 127.0.0.1 -p "$port" -U postgres -d template1 \
        -c "CREATE EXTENSION IF NOT EXISTS vector" >/dev/null
    PGOPTIONS="-c client_min_messages=warning" "$PG_BIN/psql" -q -X -h 127.0.0.1 -p "$port" -U postgres -d postgres \
        -c "CREATE EXTENSION IF NOT EXISTS vector" >/dev/null
}

stop_cluster() {
    if [ -f "$PG_DIR/data/PG_VERSION" ]; then
        as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast stop >/dev/null 2>&1 || true
    fi
}

installed() {
    [ -x "$PG_BIN/postgres" ] && [ -f "$PG_SHARE/extension/vector.control" ] \
        && [ -f "/usr/lib/postgresql/${PG_VERSION}/lib/vector.so" ]
}

case "${1:-}" in
    --stop) stop_cluster; exit 0 ;;
    --destroy) stop_cluster; rm -rf "$PG_DIR"; exit 0 ;;
    --no-install)
        installed || { log "PostgreSQL ${PG_VERSION} with pgvector is not installed (tools/setup_postgres.sh" \
                           "without options installs it; .ci/run does)"; exit 3; }
        start_cluster; dsn; exit 0 ;;
    "") ;;
    *) die "unknown option ${1}; use no option, --stop, --destroy or --no-install" ;;
esac

install_packages
install_pgvector
start_cluster
dsn
