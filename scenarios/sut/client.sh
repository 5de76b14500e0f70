#!/bin/bash
# A shell client of the service under test, as a team would ship next to its
# API: prints one `key: value` line per check, for a scenario to validate.
# Pure bash (/dev/tcp), no curl needed. Usage: PORT=8080 client.sh
set -u
port="${PORT:?PORT must be set}"

request() { # method path [body]
    local body="${3:-}"
    exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
    printf '%s %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
        "$1" "$2" "$port" "${#body}" "$body" >&3
    cat <&3
    exec 3<&-
}

status_of() { head -n 1 | cut -d ' ' -f 2; }

echo "health: $(request GET /health | status_of)"
echo "create: $(request POST /items '{"name":"from-shell"}' | status_of)"
echo "list-contains-shell-item: $(request GET /items | grep -c 'from-shell')"
echo "missing: $(request GET /items/no-such-item | status_of)"
echo "done"
