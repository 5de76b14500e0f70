#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit tests and end-to-end tests
# against real redis-server processes and real WebAssembly components.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
