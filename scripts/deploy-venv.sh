#!/usr/bin/env bash
# Installs the schema validators of the deployment examples (pinned, from
# PyPI) into target/deploy-venv, once: check-jsonschema (with the GitHub
# workflow and GitLab CI schemas built in) and kubernetes-validate (with
# the Kubernetes resource schemas built in). Prints the venv's bin folder.
# Idempotent and quick when already installed.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/deploy-venv
check_jsonschema=0.39.0
kubernetes_validate=1.37.0
if ! "$venv/bin/python" - "$check_jsonschema" "$kubernetes_validate" >/dev/null 2>&1 <<'PY'
import sys
from importlib.metadata import version
sys.exit(not (version("check-jsonschema") == sys.argv[1] and version("kubernetes-validate") == sys.argv[2]))
PY
then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q "check-jsonschema==$check_jsonschema" "kubernetes-validate==$kubernetes_validate" >&2
fi
echo "$PWD/$venv/bin"
