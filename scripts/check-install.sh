#!/usr/bin/env bash
# Proves a plain (non-editable) `pip install .` is complete: a fresh venv in a temp dir, then, from
# another directory so nothing is read from the source tree, validate the installed knowledge and
# run an installed sample bundle through the service in-process.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

"$PY" -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q --disable-pip-version-check .
cd "$WORK"

"$WORK/venv/bin/spine-cds" knowledge validate
SPINE_CDS_AUTH=off SPINE_CDS_DATABASE_URL="sqlite:///$WORK/check.sqlite" "$WORK/venv/bin/python" - <<'EOF'
from importlib import resources

import cds_service
from cds_service import Settings, create_app
from cds_service.samples import default_samples_dir, load_sample, sample_files, service_id_for

assert "site-packages" in cds_service.__file__, f"not the installed package: {cds_service.__file__}"
samples = sample_files(default_samples_dir())
assert samples and "site-packages" in str(samples[0]), f"sample bundles not installed: {samples[:1]}"
templates = [p.name for p in resources.files("cds_service.cards_templates").iterdir()]
assert any(name.endswith(".j2") for name in templates), "no card templates installed"

sample = load_sample(samples[0])
client = create_app(Settings()).test_client()
response = client.post(f"/cds-services/{service_id_for(sample.request)}", json=sample.request)
assert response.status_code == 200, response.get_data(as_text=True)
cards = response.get_json()["cards"]
print(f"installed package answers {sample.name}: {len(cards)} card(s)")
for card in cards:
    print(f"  [{card['indicator']}] {card['summary']}")
EOF
echo "check-install: OK"
