#!/usr/bin/env bash
# Install Debian's Chromium for the Playwright browser tests (Playwright's own browser download
# is not used: the tests launch /usr/bin/chromium). Idempotent.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "[browser] /usr/bin/chromium is missing; install Debian's 'chromium' package (browser tests need it)." >&2
  exit 1
fi
echo "[browser] installing Debian's chromium"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
