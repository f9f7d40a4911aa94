#!/usr/bin/env bash
# Bring up the whole site: migrate, admin user, demo content, then web (ASGI), Celery worker and beat.
# Ctrl-C stops everything this script started. Safe to rerun: nothing is duplicated.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=.venv/bin
HOST=${LECTERN_HOST:-127.0.0.1}
PORT=${LECTERN_PORT:-8000}
export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-site_config.settings.dev}
export WAGTAILADMIN_BASE_URL=${WAGTAILADMIN_BASE_URL:-http://$HOST:$PORT}
LOG_DIR=${LECTERN_LOG_DIR:-/var/tmp/lectern/logs}
mkdir -p "$LOG_DIR"

step() { printf '\n==> %s\n' "$*"; }

step "Migrating the database"
$BIN/python manage.py migrate --noinput
step "Admin user"
$BIN/python manage.py ensure_admin
step "Demo content"
$BIN/python manage.py load_demo_content
# Pages and documents whose index entry is current are skipped in milliseconds; what was indexed by
# another embedder (a database from before a switch of AI_EMBEDDER or of the default) is re-embedded
# here, before the site answers questions from it.
step "Search index (only what is missing or was embedded by another embedder)"
$BIN/python manage.py reindex --all --in-process
$BIN/python manage.py reindex --documents
for cmd in sync_prompts; do
  if $BIN/python manage.py help "$cmd" >/dev/null 2>&1; then
    step "$cmd"
    $BIN/python manage.py "$cmd"
  fi
done

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "Stopping web, worker and beat..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "Stopped. (PostgreSQL and Redis keep running; they are shared services.)"
}
trap cleanup INT TERM EXIT

step "Starting web, worker and beat (logs in $LOG_DIR)"
# ASGI serves each request from a thread of its own: pooled connections, not one per thread.
# --no-proxy-headers: uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1 on its own;
# which proxies to believe is LECTERN_TRUSTED_PROXIES' decision (README, Configuration).
DATABASE_POOL=${DATABASE_POOL:-true} \
$BIN/uvicorn site_config.asgi:application --host "$HOST" --port "$PORT" --workers 1 --no-proxy-headers \
  >"$LOG_DIR/web.log" 2>&1 &
pids+=($!)
# One BLAS thread per worker process: with two processes on two cores, OpenBLAS's own threads
# only contend (the local embedder measured ~8x slower at batch 1 on a busy machine).
# One worker for every workload queue (no -Q, LECTERN_WORKER_WORKLOADS unset: all of them); it
# takes the queues in turn, so a visitor's answer never waits behind a whole re-index. A deployment
# runs a worker per workload group instead (docker-compose.yml, docs/DEPLOYMENT.md).
OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} \
$BIN/celery -A site_config worker --loglevel=INFO --concurrency=2 --hostname "lectern-demo@%h" \
  >"$LOG_DIR/worker.log" 2>&1 &
pids+=($!)
$BIN/celery -A site_config beat --loglevel=INFO --schedule "$LOG_DIR/celerybeat-schedule" \
  >"$LOG_DIR/beat.log" 2>&1 &
pids+=($!)

# Wait until the web server answers and a worker has registered (healthz turns 200).
health=$($BIN/python scripts/wait_healthy.py "http://$HOST:$PORT/healthz" 90 || true)

cat <<MSG

Lectern is running.
  Site:    http://$HOST:$PORT/
  Admin:   http://$HOST:$PORT/admin/   ($(cat .demo-credentials 2>/dev/null || echo "see above"))
  Health:  http://$HOST:$PORT/healthz  -> $health
  Logs:    $LOG_DIR/{web,worker,beat}.log
Press Ctrl-C to stop.
MSG

# A visitor's question only a demo PDF answers (its fee schedule): the answer cites the PDF's page.
step "A visitor asks a question answered by a demo PDF"
$BIN/python scripts/demo_ask.py "http://$HOST:$PORT" "How much does the payroll add-on cost per employee?" 240 \
  || echo "(no answer citing a document yet: the worker may still be indexing; ask on /ask/ in a minute)"
wait -n "${pids[@]}" || true
echo "A process exited; see the logs in $LOG_DIR."
