#!/usr/bin/env bash
# Several nodes, proven on one machine: a throwaway PostgreSQL (deploy/postgres/setup.sql), two
# `spine-cds serve` nodes with client authentication on, and nginx with TLS in front
# (deploy/nginx/), all on 127.0.0.1. A bounded load of hook calls and feedback goes through the
# proxy; one node is killed (SIGKILL) in the middle and restarted. Prints requests per node, errors,
# decisions and feedback stored, replayed tokens refused; exits non-zero if an invariant breaks.
#
#   scripts/cluster-demo.sh [--seconds 60] [--concurrency 8] [--kill-at 0.4]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh   # the service's .venv (with the PostgreSQL driver)

# Debian packages: PostgreSQL, nginx and openssl, installed when missing (as root).
missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
[ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
. scripts/debian-packages.sh
ensure_debian_packages "${missing[@]}"

exec .venv/bin/python bench/cluster_demo.py "$@"
