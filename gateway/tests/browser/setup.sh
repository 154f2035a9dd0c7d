#!/usr/bin/env bash
# Installs what the dashboard browser test (gateway/tests/browser.rs) runs:
#   /usr/bin/chromium  Debian's chromium package (apt-get), if it is missing
#   node_modules/      playwright-core, pinned in package-lock.json (it drives the
#                      system Chromium; it never downloads a browser of its own)
# Idempotent: a second run takes well under a second. Needs npm on PATH, and
# root (or sudo) for apt-get when Chromium is missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

# --- Chromium ---------------------------------------------------------------
if [[ -x /usr/bin/chromium ]]; then
    echo "browser setup: chromium present ($(/usr/bin/chromium --version 2>/dev/null | head -n1))"
else
    echo "browser setup: installing Debian's chromium package"
    sudo=""
    if [[ "$(id -u)" != 0 ]]; then
        sudo="sudo"
    fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq chromium >/dev/null
    if ! [[ -x /usr/bin/chromium ]]; then
        echo "browser setup: apt-get installed chromium, but /usr/bin/chromium is missing" >&2
        exit 1
    fi
fi

# --- playwright-core ----------------------------------------------------------
if ! command -v npm >/dev/null; then
    echo "browser setup: npm not found on PATH; install Node.js (>= 20) and npm" >&2
    exit 1
fi
want="$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)"
stamp="$here/node_modules/.setup.sha256"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    echo "browser setup: node_modules up to date"
else
    echo "browser setup: npm ci"
    # playwright-core never downloads browsers; this only keeps npm from trying.
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
    echo "$want" >"$stamp"
fi

echo "browser setup: ready (playwright-core $(node -p 'require("./node_modules/playwright-core/package.json").version'))"
