"""The decision contract: stable codes and the typed values that pass between pipeline stages.

Pathway and red-flag codes are fixed by shared/design.md ("extend, never rename"): EHR analytics,
audit and tests depend on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Pathway(StrEnum):
    """Where the order should go; exactly one per evaluated order."""

    EMERGENCY_DEPARTMENT = "emergency-department"
    URGENT_MRI_SUSPECTED_CANCER = "urgent-mri-suspected-cancer"
    MRI_WITH_INFECTION_BLOODS = "mri-with-infection-bloods"
    XRAY_SUSPECTED_FRACTURE = "xray-suspected-fracture"
    SPECIALIST_PATHWAY = "specialist-pathway"
    IMAGING_MAY_BE_APPROPRIATE = "imaging-may-be-appropriate"
    IMAGING_NOT_INDICATED = "imaging-not-indicated"


class RedFlagId(StrEnum):
    """The guideline's red flags, as stable ids."""

    NON_MECHANICAL_OR_NIGHT_PAIN = "non-mechanical-or-night-pain"
    TRAUMA = "trauma"
    OSTEOPOROSIS = "osteoporosis"
    STRUCTURAL_DEFORMITY = "structural-deformity"
    THORACIC_PAIN = "thoracic-pain"
    HISTORY_OF_CANCER = "history-of-cancer"
    CORTICOSTEROID_USE = "corticosteroid-use"
    HIV = "hiv"
    IV_DRUG_USE = "iv-drug-use"
    IMMUNOSUPPRESSION = "immunosuppression"
    SYSTEMICALLY_UNWELL = "systemically-unwell"
    WEIGHT_LOSS = "weight-loss"
    NEW_ONSET_UNDER_20 = "new-onset-under-20"
    NEW_ONSET_OVER_55 = "new-onset-over-55"
    SADDLE_ANAESTHESIA = "saddle-anaesthesia"
    BLADDER_OR_BOWEL_DYSFUNCTION = "bladder-or-bowel-dysfunction"
    LIMB_WEAKNESS = "limb-weakness"
    PROGRESSIVE_NEUROLOGY = "progressive-neurology"
    SCIATICA_WITH_NEUROLOGY = "sciatica-with-neurology"
    INFLAMMATORY_BACK_PAIN = "inflammatory-back-pain"
    RAISED_INFLAMMATORY_MARKERS = "raised-inflammatory-markers"
    # Extension (issue 3): a coded or stated spinal infection (discitis, vertebral osteomyelitis, abscess).
    SPINAL_INFECTION = "spinal-infection"


class Rating(StrEnum):
    """Argonaut PAMA rating (http://fhir.org/argonaut/CodeSystem/pama-rating)."""

    APPROPRIATE = "appropriate"
    NOT_APPROPRIATE = "not-appropriate"
    NO_CRITERIA_APPLY = "no-criteria-apply"


class Modality(StrEnum):
    """Imaging modality of a spinal order."""

    XRAY = "xray"
    CT = "ct"
    MRI = "mri"


class Region(StrEnum):
    """Spinal region imaged; an order may cover several."""

    CERVICAL = "cervical"
    THORACIC = "thoracic"
    LUMBAR = "lumbar"
    SACRAL = "sacral"
    WHOLE_SPINE = "whole-spine"
    UNSPECIFIED = "unspecified"


@dataclass(frozen=True)
class CodeRef:
    """A code as it was found in the record (system may be absent in real data)."""

    system: str | None
    code: str | None
    display: str | None = None


@dataclass(frozen=True)
class ImagingOrder:
    """A draft order the classifier recognised as spinal X-ray, CT or MRI."""

    reference: str  # "ServiceRequest/abc", as used in selections and in action resourceId
    resource: dict[str, Any]  # the raw draft order, as the client sent it
    modality: Modality
    regions: tuple[Region, ...]
    contrast: bool | None  # None when the code does not say
    matched: CodeRef  # the coding (or text) that made it spinal imaging
    matched_by: str  # "code" or "text"


@dataclass(frozen=True)
class Evidence:
    """Where in the record a red flag was seen."""

    reference: str | None  # "Condition/123", "ServiceRequest/abc" (order reason), None for derived facts
    what: str  # human-readable: "Secondary malignant neoplasm of vertebral column (SNOMED 94503003)"
    code: CodeRef | None = None
    date: str | None = None  # ISO date (or dateTime) the finding is dated to
    source: str = ""  # "problem list", "medication", "observation", "order reason", "draft order", "patient"


@dataclass(frozen=True)
class RedFlag:
    """A red flag found in the data, with everything that showed it."""

    id: RedFlagId
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class AskAbout:
    """A red flag the record cannot show: the card asks the GP instead of assuming absence."""

    id: RedFlagId
    question: str


@dataclass(frozen=True)
class Decision:
    """The outcome for one evaluated order: the single pathway and what led to it."""

    order: ImagingOrder
    pathway: Pathway
    rating: Rating
    consult_id: str  # "urn:uuid:..."; card uuids derive from it
    red_flags: tuple[RedFlag, ...] = ()
    ask_about: tuple[AskAbout, ...] = ()
    not_checked: tuple[str, ...] = ()  # plain-language data gaps: "medications could not be read"
    rationale: str = ""  # one sentence: why this pathway (for the card detail and audit)
    # Recent CRP/WCC results already on record, so the infection card need not order them again.
    recent_infection_bloods: tuple[Evidence, ...] = ()
    # The record says the patient has died: the card asks the GP to check the patient and the record.
    deceased: Evidence | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    # The red-flag check (issue 10): the answers applied ({red flag id: 'yes' | 'no'}) and the pathway
    # the record alone gave; both None when no answers applied.
    answers_used: dict[str, str] | None = None
    pathway_without_answers: Pathway | None = None

    @property
    def red_flag_ids(self) -> tuple[RedFlagId, ...]:
        """The ids of the red flags found, in order."""
        return tuple(flag.id for flag in self.red_flags)
