#!/usr/bin/env bash
# Installs what rigor's builds and tests need on a fresh machine:
# the wasm32-wasip2 Rust target (scenarios compile to it) and redis-server
# (the managed default Redis target, and the real server the tests use).
set -euo pipefail

if command -v rustup >/dev/null 2>&1; then
  if ! rustup target list --installed | grep -qx wasm32-wasip2; then
    echo "setup: installing the wasm32-wasip2 target"
    rustup target add wasm32-wasip2
  fi
else
  sysroot=$(rustc --print sysroot)
  if [ ! -d "$sysroot/lib/rustlib/wasm32-wasip2" ]; then
    echo "setup: the wasm32-wasip2 target is missing and rustup is not available; install Rust with rustup" >&2
    exit 1
  fi
fi

if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing redis-server"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  else
    echo "setup: redis-server is not installed. Install it (Debian/Ubuntu: sudo apt-get install redis-server)," >&2
    echo "       or run scenarios against your own server with: rigor run --redis redis://HOST:PORT" >&2
    exit 1
  fi
fi

# python3 with venv: the system under test of the process/http scenarios
# (scenarios/sut/service.py) and env-startup's virtual environment.
if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1 \
  || [ ! -x /usr/bin/python3 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing python3 and python3-venv"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
  else
    echo "setup: python3 with venv is not installed (Debian/Ubuntu: sudo apt-get install python3 python3-venv)" >&2
    exit 1
  fi
fi

# Node.js and npm: `rigor build` installs componentize-js from npm to build
# JavaScript scenarios (componentize-py comes from PyPI through python3's venv).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing nodejs and npm"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  else
    echo "setup: Node.js and npm are not installed (Debian/Ubuntu: sudo apt-get install nodejs npm)" >&2
    exit 1
  fi
fi

# The report tests: xmllint validates JUnit output against its XSD, headless
# Chromium renders the HTML report.
missing_report_tools=()
command -v xmllint >/dev/null 2>&1 || missing_report_tools+=(libxml2-utils)
command -v chromium >/dev/null 2>&1 || missing_report_tools+=(chromium)
if [ ${#missing_report_tools[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${missing_report_tools[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing_report_tools[@]}" >/dev/null
  else
    echo "setup: ${missing_report_tools[*]} not installed (Debian/Ubuntu: sudo apt-get install ${missing_report_tools[*]})" >&2
    exit 1
  fi
fi

# fio: the reference of the fs benchmark (`rigor-bench fs`); not needed by
# the tests, so a machine without it only gets a note.
if ! command -v fio >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing fio (for the fs benchmark)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fio >/dev/null
  else
    echo "setup: fio is not installed; the fs benchmark needs it (Debian/Ubuntu: sudo apt-get install fio)" >&2
  fi
fi
