"""Package list for setuptools; everything else is in pyproject.toml.

cards_templates/ and sample_bundles/ sit at the top level (the client's design card) but install as
cds_service.cards_templates and cds_service.sample_bundles (pyproject's package-dir). `packages.find`
in pyproject cannot name them, so the list is built here; scripts/check-install.sh proves the result.
"""

from setuptools import find_namespace_packages, setup

setup(
    packages=[
        *find_namespace_packages(include=["cds_service*"]),
        "cds_service.cards_templates",
        "cds_service.sample_bundles",
    ]
)
