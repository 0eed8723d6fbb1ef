"""The CDS services this product offers, each declared once.

Discovery, routing (which hook an endpoint stands for) and the prefetch checks all derive from these
declarations, so the document a client reads can never drift from what the endpoints do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cds_service.fhir.queries import PREFETCH_TEMPLATES, prefetch_templates
from cds_service.hooks.request import ORDER_SELECT, ORDER_SIGN, DiscoveryResponse, ServiceDefinition
from cds_service.knowledge import Knowledge
from cds_service.settings import Settings
from cds_service.smart.hook_answers import smart_enabled
from cds_service.smart.questionnaire import questionnaire_url

USAGE_REQUIREMENTS = (
    "Send the prefetch keys listed, or give the service FHIR API access (fhirServer, and "
    "fhirAuthorization when the server needs a token): without the patient and their conditions "
    "the service answers 412, and without medications, observations or procedures the card says "
    "which red flags could not be checked."
)


@dataclass(frozen=True)
class CdsService:
    """One service: its endpoint id, the hook it answers, and what it asks the client to prefetch."""

    id: str
    hook: str
    title: str
    description: str
    prefetch: Mapping[str, str] = field(default_factory=dict)
    usage_requirements: str = USAGE_REQUIREMENTS

    def definition(self) -> ServiceDefinition:
        """This service's entry in the discovery document."""
        return ServiceDefinition(
            hook=self.hook,
            title=self.title,
            description=self.description,
            id=self.id,
            prefetch=dict(self.prefetch) or None,
            usageRequirements=self.usage_requirements or None,
        )


def declare_services(knowledge: Knowledge, settings: Settings) -> tuple[CdsService, ...]:
    """The order-select and order-sign services, described against the guideline they implement."""
    guideline = knowledge.guideline
    # The clinician's answers in the EHR are asked for only when the SMART app writes them: other
    # deployments keep their prefetch (and FHIR calls) as they were.
    templates = (
        prefetch_templates(questionnaire_url(settings)) if smart_enabled(settings) else PREFETCH_TEMPLATES
    )
    source = f"Implements {guideline.label} ({guideline.version})."
    return (
        CdsService(
            id="spinal-imaging-order-select",
            hook=ORDER_SELECT,
            title="Spinal imaging red flags (order select)",
            description=(
                "While a GP selects a spinal X-ray, CT or MRI, checks the record for red flags and "
                f"advises on the imaging pathway for the selected orders. {source}"
            ),
            prefetch=templates,
        ),
        CdsService(
            id="spinal-imaging-order-sign",
            hook=ORDER_SIGN,
            title="Spinal imaging red flags (order sign)",
            description=(
                "When a GP signs orders, checks every spinal X-ray, CT or MRI among them against the "
                f"record's red flags and advises on the imaging pathway. {source}"
            ),
            prefetch=templates,
        ),
    )


def discovery_document(services: tuple[CdsService, ...]) -> DiscoveryResponse:
    """The body of `GET /cds-services`."""
    return DiscoveryResponse(services=[service.definition() for service in services])


def find_service(services: tuple[CdsService, ...], service_id: str) -> CdsService | None:
    """The service at `/cds-services/{service_id}`, if there is one."""
    return next((service for service in services if service.id == service_id), None)
