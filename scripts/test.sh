#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit tests and end-to-end tests
# against real redis-server processes and real WebAssembly components.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
# The independent WebSocket server of the websocket tests (pip, into target/).
scripts/ws-venv.sh >/dev/null
# The schema validators of the deployment examples (pip, into target/).
scripts/deploy-venv.sh >/dev/null

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
