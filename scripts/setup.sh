#!/usr/bin/env bash
# Installs what rigor's builds, tests and catalog need on a fresh machine:
# - the wasm32-wasip2 Rust target (scenarios compile to it);
# - redis-server and redis-tools (the managed default Redis target, the real
#   server of the tests, redis-benchmark for the bench);
# - python3 with venv (the service under test, env-startup, componentize-py,
#   and `rigor build` installs PyPI `ziglang` for C and Zig scenarios);
# - nodejs and npm (`rigor build` installs componentize-js from npm);
# - xmllint and chromium (the report tests validate JUnit and render HTML);
# - prometheus (the live-output tests feed a real server by remote write;
#   Debian 12's 2.42 has the receiver and native histograms);
# - fio and hyperfine (references of the benchmarks only).
# Everything missing is installed with one apt-get run when running as root;
# otherwise the script says what to install.
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

required=()
optional=()
command -v redis-server >/dev/null 2>&1 || required+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || required+=(redis-tools)
if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1 \
  || [ ! -x /usr/bin/python3 ]; then
  required+=(python3 python3-venv)
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  required+=(nodejs npm)
fi
command -v xmllint >/dev/null 2>&1 || required+=(libxml2-utils)
command -v chromium >/dev/null 2>&1 || required+=(chromium)
command -v prometheus >/dev/null 2>&1 || required+=(prometheus)
command -v fio >/dev/null 2>&1 || optional+=(fio)
command -v hyperfine >/dev/null 2>&1 || optional+=(hyperfine)

wanted=("${required[@]}" "${optional[@]}")
if [ ${#wanted[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${wanted[*]}"
    apt-get update -qq
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${wanted[@]}" >/dev/null; then
      # The benchmark references are not worth failing for.
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${required[@]}" >/dev/null
    fi
  elif [ ${#required[@]} -gt 0 ]; then
    echo "setup: missing ${required[*]}. Install them (Debian/Ubuntu: sudo apt-get install ${required[*]})." >&2
    echo "       Without redis-server, run Redis scenarios against your own server: rigor run --redis redis://HOST:PORT" >&2
    exit 1
  else
    echo "setup: note: ${optional[*]} not installed; only the benchmarks use them" >&2
  fi
fi
