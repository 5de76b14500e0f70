#!/usr/bin/env bash
# Installs Python's `websockets` (pinned) into target/ws-venv, once: the
# independent WebSocket server the websocket tests check the client against.
# Prints the venv's python. Idempotent and quick when already installed.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/ws-venv
version=15.0.1
if ! "$venv/bin/python" -c "import websockets, sys; sys.exit(websockets.__version__ != '$version')" >/dev/null 2>&1; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q "websockets==$version" >&2
fi
echo "$PWD/$venv/bin/python"
