#!/usr/bin/env bash
# Install Debian's wrk, the HTTP load generator bench/http_throughput.py drives. Idempotent: does
# nothing when wrk is already on PATH, so `make bench` is safe to rerun.
set -euo pipefail
if command -v wrk >/dev/null; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "[bench-tools] wrk is missing; install Debian's 'wrk' package (the HTTP benchmark needs it)." >&2
  exit 1
fi
echo "[bench-tools] installing Debian's wrk"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null
command -v wrk >/dev/null || { echo "[bench-tools] wrk is still missing after apt-get install" >&2; exit 1; }
