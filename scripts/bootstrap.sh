#!/usr/bin/env bash
# Installs what the service and its tests need, from the package registries only.
#   scripts/bootstrap.sh          the service (.venv) and the real FHIR server (.venv-fhir)
#   scripts/bootstrap.sh --test   also PostgreSQL (Debian package), for the storage tests
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

if [ ! -x .venv/bin/python ]; then "$PY" -m venv .venv; fi
.venv/bin/pip install -q --disable-pip-version-check -e '.[dev]'

# The real FHIR server lives in its own venv so its dependencies never mix with ours.
if [ ! -x .venv-fhir/bin/sekmet ]; then
  "$PY" -m venv .venv-fhir
  .venv-fhir/bin/pip install -q --disable-pip-version-check 'sekmet-fhir==0.1.1'
fi

if [ "${1:-}" = "--test" ]; then
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    else
      echo "PostgreSQL is missing: run 'sudo apt-get install postgresql' (Debian) first" >&2
      exit 1
    fi
  fi
fi
