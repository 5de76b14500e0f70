#!/usr/bin/env bash
# Runs the shared scenario catalog end to end and writes the reports
# (rigor-report.json, .md, .html and JUnit rigor-junit.xml); extra
# arguments go to `rigor run`.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

cargo build --release --locked -p rigor
exec target/release/rigor run --catalog scenarios \
  --json rigor-report.json --markdown rigor-report.md --html rigor-report.html \
  --junit rigor-junit.xml "$@"
