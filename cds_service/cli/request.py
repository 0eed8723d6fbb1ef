"""`spine-cds request FILE`: print the CDS Hooks request an EHR would send for a sample bundle.

The output is ready to post with curl, e.g. (service started with authentication off, locally)::

    spine-cds request sample_bundles/03-xray-for-suspected-metastases.json \
      | curl -s -H 'Content-Type: application/json' -d @- \
          http://127.0.0.1:8080/cds-services/spinal-imaging-order-select
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from cds_service.samples import ORDER_HOOKS, SampleError, load_sample, service_id_for


def register(sub: Any) -> None:
    """Add the `request` sub-command."""
    parser = sub.add_parser(
        "request",
        help="print the CDS Hooks request for a sample bundle (to post with curl -d @-)",
    )
    parser.add_argument(
        "file", type=Path, help="a sample Bundle (sample_bundles/) or a CDS Hooks request JSON"
    )
    parser.add_argument("--hook", choices=ORDER_HOOKS, help="hook of the request (default order-select)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the request as JSON on stdout, and the service path it goes to on stderr."""
    try:
        sample = load_sample(args.file, hook=args.hook)
    except SampleError as exc:
        print(f"spine-cds request: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(sample.request, indent=2, ensure_ascii=False))
    print(f"POST it to /cds-services/{service_id_for(sample.request)}", file=sys.stderr)
    return 0
