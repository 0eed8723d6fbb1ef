"""`spine-cds check-link FILE`: send one sample order to a running service, print its card's
red-flag check link (the URL a GP opens from the card)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import requests

from cds_service.cards.templating import labels
from cds_service.samples import SampleError, load_sample, service_id_for


def register(sub: Any) -> None:
    """Add the `check-link` sub-command."""
    parser = sub.add_parser(
        "check-link", help="print the red-flag check link a running service puts on a sample's card"
    )
    parser.add_argument("sample", type=Path, help="a sample bundle or CDS Hooks request file")
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="base URL of the running service")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the answer")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the link; exit 1 when the card has none (it asks nothing) or the call fails."""
    try:
        sample = load_sample(args.sample)
    except SampleError as error:
        print(error, file=sys.stderr)
        return 1
    url = f"{args.url.rstrip('/')}/cds-services/{service_id_for(sample.request)}"
    try:
        response = requests.post(url, json=sample.request, timeout=args.timeout)
    except requests.RequestException as error:
        print(f"{url}: {type(error).__name__}", file=sys.stderr)
        return 1
    if response.status_code != 200:
        print(f"{url} answered {response.status_code}", file=sys.stderr)
        return 1
    wanted = labels()["check_link"]
    for card in response.json().get("cards", []):
        for link in card.get("links") or []:
            if link.get("label") == wanted:
                print(link["url"])
                return 0
    print(f"{sample.name}: the card asks no red-flag questions, so it has no check link", file=sys.stderr)
    return 1
