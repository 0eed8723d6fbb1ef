#!/usr/bin/env bash
# Installs what the service and its tests need, from the package registries only.
#   scripts/bootstrap.sh          the service (.venv) and the real FHIR server (.venv-fhir)
#   scripts/bootstrap.sh --test   also PostgreSQL and Chromium (Debian packages) and axe-core (npm),
#                                 for the storage and web-page tests
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
  missing=()
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  [ -x /usr/lib/chromium/chromium ] || missing+=(chromium)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  # nginx and openssl: the several-node test (tests/test_cluster_demo.py, scripts/cluster-demo.sh).
  [ -x /usr/sbin/nginx ] || missing+=(nginx)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  . scripts/debian-packages.sh
  ensure_debian_packages "${missing[@]}"
  # axe-core checks the web pages for WCAG 2.1 AA in the browser tests (served from disk, no CDN).
  AXE_VERSION=4.11.4
  if ! grep -qs "\"version\": \"$AXE_VERSION\"" var/node/node_modules/axe-core/package.json; then
    mkdir -p var/node
    npm install --silent --no-audit --no-fund --prefix var/node "axe-core@$AXE_VERSION" >/dev/null
  fi
fi
