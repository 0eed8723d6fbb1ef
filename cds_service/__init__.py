"""Spinal imaging CDS Hooks service: red flags, pathways and cards for spinal X-ray, CT and MRI."""

from cds_service.app import create_app
from cds_service.settings import Settings

__all__ = ["Settings", "create_app"]
__version__ = "0.1.0"
