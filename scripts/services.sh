#!/usr/bin/env bash
# Install (if missing) and start the services Lectern needs: PostgreSQL 15 with pgvector, and Redis.
#
# Idempotent: every step checks before it acts, so `make services` is safe to rerun.
# With DATABASE_URL and REDIS_URL both set, this script installs and starts nothing: those
# servers are used as they are (the pgvector extension must already exist there).
set -euo pipefail

PG_VERSION=15
PG_PORT=${LECTERN_PG_PORT:-5432}
REDIS_PORT=${LECTERN_REDIS_PORT:-6379}
DB_NAME=${LECTERN_DB_NAME:-lectern}
DB_USER=${LECTERN_DB_USER:-lectern}
DB_PASSWORD=${LECTERN_DB_PASSWORD:-lectern}
STATE_DIR=${LECTERN_STATE_DIR:-/var/tmp/lectern}

log() { printf '[services] %s\n' "$*"; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

if [ -n "${DATABASE_URL:-}" ] && [ -n "${REDIS_URL:-}" ]; then
  log "DATABASE_URL and REDIS_URL are set: using those servers, installing nothing."
  exit 0
fi

need_root() {
  if [ "$(id -u)" != 0 ]; then
    die "installing and starting PostgreSQL/Redis needs root (apt-get, pg_ctlcluster).
  Either run as root on Debian bookworm, or set DATABASE_URL (PostgreSQL 15+ with the pgvector
  extension created in the database and in template1) and REDIS_URL to servers you run yourself."
  fi
  command -v apt-get >/dev/null || die "apt-get not found: this script supports Debian bookworm only.
  Set DATABASE_URL and REDIS_URL to your own PostgreSQL+pgvector and Redis servers instead."
}

APT_UPDATED=0
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$APT_UPDATED" = 0 ]; then
    log "apt-get update"
    apt-get update -qq
    APT_UPDATED=1
  fi
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The Debian archive address is read from this machine's own apt sources, never hard-coded.
debian_archive_uri() {
  local uri=""
  if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
    uri=$(awk '/^URIs:/{for (i = 2; i <= NF; i++) print $i}' /etc/apt/sources.list.d/*.sources \
      | grep -v -- '-security' | grep '/debian/\?$' | head -n1 || true)
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):/) {print $i; exit}}' \
      /etc/apt/sources.list || true)
  fi
  [ -n "$uri" ] || die "could not find a Debian archive in /etc/apt/sources.list*; cannot fetch pgvector's source."
  printf '%s' "$uri"
}

install_pgvector() {
  local ext_dir
  ext_dir=$(/usr/lib/postgresql/$PG_VERSION/bin/pg_config --sharedir 2>/dev/null || echo /usr/share/postgresql/$PG_VERSION)/extension
  if [ -f "$ext_dir/vector.control" ]; then
    return 0
  fi
  log "building pgvector from Debian trixie's source package (bookworm has none for PostgreSQL $PG_VERSION)"
  apt_install postgresql-server-dev-$PG_VERSION build-essential dpkg-dev
  local uri src_list build
  uri=$(debian_archive_uri)
  src_list=/etc/apt/sources.list.d/lectern-trixie-src.list
  build=$(mktemp -d)
  # A temporary deb-src entry: removed again whatever happens, so the machine's apt config is unchanged.
  trap 'rm -f "$src_list"; rm -rf "$build"' RETURN
  echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri trixie main" >"$src_list"
  chmod 755 "$build"
  apt-get update -qq -o Dir::Etc::sourcelist="$src_list" -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0
  (cd "$build" && apt-get source -qq --download-only pgvector >/dev/null && dpkg-source -x ./*.dsc src >/dev/null)
  make -s -C "$build/src" PG_CONFIG=/usr/lib/postgresql/$PG_VERSION/bin/pg_config >/dev/null
  make -s -C "$build/src" PG_CONFIG=/usr/lib/postgresql/$PG_VERSION/bin/pg_config install >/dev/null
  [ -f "$ext_dir/vector.control" ] || die "pgvector build finished but $ext_dir/vector.control is missing"
  log "pgvector $(grep default_version "$ext_dir/vector.control" | cut -d"'" -f2) installed"
}

start_postgres() {
  if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -q "^$PG_VERSION main$"; then
    log "creating PostgreSQL $PG_VERSION cluster"
    pg_createcluster $PG_VERSION main --port "$PG_PORT" >/dev/null
  fi
  if ! pg_lsclusters -h | awk -v v=$PG_VERSION '$1 == v && $2 == "main" {print $4}' | grep -q online; then
    log "starting PostgreSQL $PG_VERSION"
    pg_ctlcluster $PG_VERSION main start
  fi
  for _ in $(seq 1 30); do
    su postgres -c "psql -p $PG_PORT -Atqc 'select 1'" >/dev/null 2>&1 && break
    sleep 0.5
  done
  psql_su() { su postgres -c "psql -p $PG_PORT -v ON_ERROR_STOP=1 -Atq $*"; }
  if [ "$(psql_su "-c \"select 1 from pg_roles where rolname = '$DB_USER'\"")" != 1 ]; then
    log "creating role $DB_USER"
    # CREATEDB lets pytest-django create and drop its test database.
    psql_su "-c \"create role $DB_USER login createdb password '$DB_PASSWORD'\""
  fi
  if [ "$(psql_su "-c \"select 1 from pg_database where datname = '$DB_NAME'\"")" != 1 ]; then
    log "creating database $DB_NAME"
    psql_su "-c \"create database $DB_NAME owner $DB_USER\""
  fi
  # The extension is not trusted, so a superuser creates it; template1 too, so test databases have it.
  psql_su "-d template1 -c 'create extension if not exists vector'"
  psql_su "-d $DB_NAME -c 'create extension if not exists vector'"
}

start_redis() {
  if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    return 0
  fi
  # Redis is the Celery broker: queued tasks exist only there. Without the append-only file a Redis
  # restart loses them (tests/faults measured 5 of 8 requests left pending), so it is on.
  log "starting Redis on 127.0.0.1:$REDIS_PORT (append-only file in $STATE_DIR)"
  mkdir -p "$STATE_DIR"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly yes --appendfsync everysec \
    --daemonize yes \
    --dir "$STATE_DIR" --logfile "$STATE_DIR/redis.log" --pidfile "$STATE_DIR/redis.pid"
  for _ in $(seq 1 20); do
    redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0
    sleep 0.25
  done
  die "Redis did not answer on port $REDIS_PORT; see $STATE_DIR/redis.log"
}

need_root
apt_install postgresql-$PG_VERSION postgresql-client-$PG_VERSION redis-server
# The fault suite cuts a network namespace's loopback (tests/faults/netns.py): ip, unshare, nsenter, pgrep.
apt_install iproute2 util-linux procps
install_pgvector
start_postgres
start_redis
log "ready: postgres://$DB_USER:***@127.0.0.1:$PG_PORT/$DB_NAME  redis://127.0.0.1:$REDIS_PORT/0"
