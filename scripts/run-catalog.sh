#!/usr/bin/env bash
# Runs the shared scenario catalog end to end and writes the report
# (rigor-report.json); extra arguments go to `rigor run`.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

cargo build --release --locked -p rigor
exec target/release/rigor run --catalog scenarios --json rigor-report.json "$@"
