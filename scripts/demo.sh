#!/usr/bin/env bash
# The demo: install, start the service locally, run every sample order through it over HTTP,
# then show one order's advice as a GP would read it. Exits non-zero if anything fails.
#
# The local demo runs with client authentication OFF (SPINE_CDS_AUTH=off) on 127.0.0.1 only,
# so that no JWT is needed; never run a reachable service like this.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh

# A free port unless one is asked for: 8080 is often taken (another service, the CDS Hooks Sandbox).
PORT=${SPINE_CDS_DEMO_PORT:-$(.venv/bin/python -c \
  "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")}
URL="http://127.0.0.1:${PORT}"
if .venv/bin/python -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)" \
    "$URL/healthz" 2>/dev/null; then
  echo "Something already answers on $URL: set SPINE_CDS_DEMO_PORT to a free port" >&2
  exit 1
fi
SCRATCH=$(mktemp -d)
LOG="$SCRATCH/serve.log"
export SPINE_CDS_AUTH=off
export SPINE_CDS_DATABASE_URL="sqlite:///$SCRATCH/demo.sqlite"
export SPINE_CDS_PUBLIC_URL="$URL"  # the red-flag check links on the cards point here
# One pair of keys for the server and `spine-cds evaluate` below, so every link printed works.
SPINE_CDS_SECRET_KEY=$(.venv/bin/python -c "import secrets; print(secrets.token_urlsafe(32))")
SPINE_CDS_PATIENT_HASH_KEY=$(.venv/bin/python -c "import secrets; print(secrets.token_urlsafe(32))")
export SPINE_CDS_SECRET_KEY SPINE_CDS_PATIENT_HASH_KEY
# The dashboard: a demo user with a one-off password, printed at the end.
export SPINE_CDS_DASHBOARD_USERS="$SCRATCH/dashboard-users.json"
DEMO_PASSWORD=$(.venv/bin/python -c "import secrets; print(secrets.token_urlsafe(12))")
printf '%s\n' "$DEMO_PASSWORD" | .venv/bin/spine-cds users add demo --password-stdin >/dev/null

.venv/bin/spine-cds serve --host 127.0.0.1 --port "$PORT" --workers 2 >"$LOG" 2>&1 &
SERVER=$!
stop_server() {
  kill "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
  rm -rf "$SCRATCH"
}
trap stop_server EXIT

echo "Starting spine-cds on $URL (auth off: local demo only) ..."
for _ in $(seq 1 100); do
  if .venv/bin/python -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)" \
      "$URL/healthz" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$SERVER" 2>/dev/null; then
    echo "spine-cds serve exited; its log:" >&2
    cat "$LOG" >&2
    exit 1
  fi
  sleep 0.2
done
if ! .venv/bin/python -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)" \
    "$URL/healthz" 2>/dev/null; then
  echo "spine-cds serve did not answer on $URL; its log:" >&2
  cat "$LOG" >&2
  exit 1
fi

echo
echo "== Every sample order through the service over HTTP =="
.venv/bin/spine-cds demo --url "$URL"

echo
echo "== One order as the GP sees it: an X-ray for suspected spinal metastases =="
.venv/bin/spine-cds evaluate sample_bundles/03-xray-for-suspected-metastases.json 2>/dev/null

echo
echo "== The red-flag check: the questions of one card (acute low back pain, no red flags on record) =="
echo "Open this link in a browser, answer, and the next order-select for that order uses the answers:"
.venv/bin/spine-cds check-link sample_bundles/17-acute-low-back-pain-no-red-flags.json --url "$URL"

echo
echo "== The clinical lead's dashboard (the log of the calls above) =="
echo "Open $URL/dashboard and sign in as user 'demo' with the one-off password: $DEMO_PASSWORD"
if [ -t 0 ]; then
  read -r -p "Press Enter to stop the service ... " _
fi
