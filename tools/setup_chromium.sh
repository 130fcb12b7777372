#!/usr/bin/env bash
# Debian's Chromium for the web page's browser tests (Playwright drives it with executable_path=/usr/bin/chromium;
# Playwright's own browser download cannot work offline). Idempotent; needs root (or sudo) when not installed.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium >/dev/null
command -v chromium >/dev/null
