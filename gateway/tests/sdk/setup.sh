#!/usr/bin/env bash
# Installs what the SDK conformance tests (gateway/tests/sdk_conformance.rs) run:
#   .venv/         a Python venv with the pinned packages of requirements.txt
#   node_modules/  the official `openai` and `@anthropic-ai/sdk` npm packages, from
#                  package-lock.json
# Idempotent: each part is redone only when its pin file changed, so a second run
# takes well under a second. Needs python3 (with venv) and npm on PATH; reaches
# only PyPI and the npm registry.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

python="${PYTHON:-python3}"
venv="$here/.venv"

# --- Python -----------------------------------------------------------------
py_want="$(sha256sum requirements.txt | cut -d' ' -f1)"
py_stamp="$venv/.requirements.sha256"
if [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c "" 2>/dev/null \
    && [[ -f "$py_stamp" && "$(cat "$py_stamp")" == "$py_want" ]]; then
    echo "sdk setup: python venv up to date ($venv)"
else
    if ! [[ -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c "" 2>/dev/null; then
        rm -rf "$venv"
        echo "sdk setup: creating python venv with $("$python" --version 2>&1)"
        if ! "$python" -m venv "$venv"; then
            echo "sdk setup: '$python -m venv' failed; on Debian install python3-venv" >&2
            exit 1
        fi
    fi
    echo "sdk setup: installing requirements.txt"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        --no-input -r requirements.txt
    echo "$py_want" >"$py_stamp"
fi

# --- Node -------------------------------------------------------------------
if ! command -v npm >/dev/null; then
    echo "sdk setup: npm not found on PATH; install Node.js (>= 20) and npm" >&2
    exit 1
fi
node_want="$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)"
node_stamp="$here/node_modules/.setup.sha256"
if [[ -f "$node_stamp" && "$(cat "$node_stamp")" == "$node_want" ]]; then
    echo "sdk setup: node_modules up to date"
else
    echo "sdk setup: npm ci"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$node_want" >"$node_stamp"
fi

echo "sdk setup: ready (python: $("$venv/bin/python" -c 'import openai, anthropic; print("openai", openai.__version__ + ", anthropic", anthropic.__version__)'), node: openai $(node -p 'require("./node_modules/openai/package.json").version'), @anthropic-ai/sdk $(node -p 'require("./node_modules/@anthropic-ai/sdk/package.json").version'))"
