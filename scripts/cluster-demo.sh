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
scripts/bootstrap.sh --test >/dev/null   # the service's venv and PostgreSQL

if [ ! -x /usr/sbin/nginx ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
    # The package starts its own nginx on port 80; the demo runs its own on loopback ports.
    if command -v systemctl >/dev/null && systemctl is-active --quiet nginx 2>/dev/null; then
      systemctl stop nginx
    fi
  else
    echo "nginx is missing: run 'sudo apt-get install nginx' (Debian) first" >&2
    exit 1
  fi
fi
if ! command -v openssl >/dev/null; then
  echo "openssl is missing: run 'sudo apt-get install openssl' (Debian) first" >&2
  exit 1
fi

exec .venv/bin/python bench/cluster_demo.py "$@"
