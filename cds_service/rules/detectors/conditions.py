"""Red flags from the problem list: Condition resources, read with their status and dates.

Design.md safety rule 2: refuted and entered-in-error never count; a resolved cancer is still a
history of carcinoma; current findings (retention, weakness, fever) need an active status and a
recent date.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from cds_service.fhir.record import Resource, codings
from cds_service.rules.detectors.findings import ConditionFacts, Findings, Reading, evidence_for, parse_date
from cds_service.rules.model import RedFlagId

NEVER_COUNTS = frozenset({"refuted", "entered-in-error"})
ACTIVE = frozenset({"active", "recurrence", "relapse"})
SOURCE = "problem list"

# How each kind of finding is read: "history" (any clinical status), "chronic" (still active,
# any date), "current" (active and recent), "trauma" (recent, whatever the status: injuries are
# often marked resolved within days), "recent-infection" (the same, in its own window), "recent-use"
# (active, or ended within a window: injecting drug use that stopped years ago does not count).
HISTORY, CHRONIC, CURRENT, TRAUMA = "history", "chronic", "current", "trauma"
RECENT_INFECTION, RECENT_USE = "recent-infection", "recent-use"
# Statuses that say a finding has ended.
ENDED = frozenset({"inactive", "remission", "resolved"})

# value set -> (red flag, how it is read, features it brings)
CONDITION_FLAGS: tuple[tuple[str, RedFlagId, str, tuple[str, ...]], ...] = (
    ("cancer-metastatic", RedFlagId.HISTORY_OF_CANCER, HISTORY, ("metastatic",)),
    ("cancer-listed-sites", RedFlagId.HISTORY_OF_CANCER, HISTORY, ("listed-site",)),
    ("cancer-spinal-primary", RedFlagId.HISTORY_OF_CANCER, HISTORY, ("spinal-malignancy",)),
    ("cancer-suspected", RedFlagId.HISTORY_OF_CANCER, CHRONIC, ("suspected-cancer",)),
    ("cauda-equina", RedFlagId.BLADDER_OR_BOWEL_DYSFUNCTION, CURRENT, ("cauda-equina",)),
    ("bladder-bowel-dysfunction", RedFlagId.BLADDER_OR_BOWEL_DYSFUNCTION, CURRENT, ()),
    ("saddle-anaesthesia", RedFlagId.SADDLE_ANAESTHESIA, CURRENT, ()),
    ("progressive-neurology", RedFlagId.PROGRESSIVE_NEUROLOGY, CURRENT, ()),
    ("foot-drop", RedFlagId.LIMB_WEAKNESS, CURRENT, ("foot-drop",)),
    ("limb-weakness", RedFlagId.LIMB_WEAKNESS, CURRENT, ()),
    # Radiculopathy and sciatica still active count however long ago they began: persistent
    # sciatica with neurology is exactly what the specialist pathway is for.
    ("radiculopathy", RedFlagId.SCIATICA_WITH_NEUROLOGY, CHRONIC, ()),
    ("hiv", RedFlagId.HIV, HISTORY, ()),
    ("iv-drug-use", RedFlagId.IV_DRUG_USE, RECENT_USE, ()),
    ("iv-drug-use-past", RedFlagId.IV_DRUG_USE, RECENT_USE, ()),
    ("immunodeficiency", RedFlagId.IMMUNOSUPPRESSION, CHRONIC, ()),
    ("transplant", RedFlagId.IMMUNOSUPPRESSION, HISTORY, ("transplant",)),
    ("osteoporosis", RedFlagId.OSTEOPOROSIS, CHRONIC, ()),
    ("osteoporotic-fracture", RedFlagId.OSTEOPOROSIS, TRAUMA, ("recent-osteoporotic-fracture",)),
    ("vertebral-fracture", RedFlagId.TRAUMA, TRAUMA, ("vertebral-fracture",)),
    # A low-energy injury is weighed against age (guideline 'Consider age versus force'); the same
    # injury also in the trauma set is taken out of 'trauma' by combine_flags.
    ("low-energy-trauma", RedFlagId.LOW_ENERGY_TRAUMA, TRAUMA, ()),
    ("trauma", RedFlagId.TRAUMA, TRAUMA, ()),
    ("structural-deformity", RedFlagId.STRUCTURAL_DEFORMITY, CHRONIC, ()),
    ("inflammatory-back-pain", RedFlagId.INFLAMMATORY_BACK_PAIN, CHRONIC, ()),
    ("spinal-infection", RedFlagId.SPINAL_INFECTION, CURRENT, ("spinal-infection",)),
    # Fever is its own finding, never 'systemically unwell' (issue 9 item 7).
    ("fever", RedFlagId.FEVER, CURRENT, ("fever",)),
    ("night-sweats", RedFlagId.NIGHT_SWEATS, CURRENT, ()),
    ("recent-infection", RedFlagId.RECENT_INFECTION, RECENT_INFECTION, ()),
    ("diabetes", RedFlagId.DIABETES, CHRONIC, ()),
    ("failure-to-improve", RedFlagId.FAILURE_TO_IMPROVE, CURRENT, ()),
    ("limb-paraesthesia", RedFlagId.LIMB_PARAESTHESIA, CURRENT, ()),
    ("persistent-radicular-pain", RedFlagId.PERSISTENT_RADICULAR_PAIN, CHRONIC, ()),
    ("post-surgical-leg-pain", RedFlagId.POST_SURGICAL_LEG_PAIN, CURRENT, ()),
    ("new-confusion", RedFlagId.SYSTEMICALLY_UNWELL, CURRENT, ("sepsis-high-risk",)),
    ("weight-loss", RedFlagId.WEIGHT_LOSS, CURRENT, ()),
    # "Persistent" thoracic pain: still active, however long ago it began.
    ("thoracic-back-pain", RedFlagId.THORACIC_PAIN, CHRONIC, ()),
    ("night-pain", RedFlagId.NON_MECHANICAL_OR_NIGHT_PAIN, CURRENT, ()),
)

CONDITION_SETS = frozenset(value_set_id for value_set_id, _, _, _ in CONDITION_FLAGS)


def status_code(res: Resource, element: str) -> str | None:
    """The code of Condition.clinicalStatus or .verificationStatus (or None)."""
    concept = res.get(element)
    if concept is None:
        return None
    raw = concept.get("coding") if isinstance(concept, dict) else None
    if isinstance(raw, list):  # the usual shape, read without the generator (called per condition and set)
        for coding in raw:
            code = coding.get("code") if isinstance(coding, dict) else None
            if isinstance(code, str) and code:
                return code
        return None
    for _, code, _ in codings(concept):
        if code:
            return code
    return None


def onset_date(res: Resource) -> date | None:
    """When the condition began (onset, else recorded date)."""
    period: Any = res.get("onsetPeriod")
    starts = [res.get("onsetDateTime"), period.get("start") if isinstance(period, dict) else None]
    for value in [*starts, res.get("recordedDate")]:
        found = parse_date(value)
        if found is not None:
            return found
    return None


def facts(reading: Reading, res: Resource) -> ConditionFacts:
    """A condition's statuses and onset, read once per decision (one condition is weighed for
    several value sets and its evidence dated)."""
    key = id(res)  # the record holds every resource for the whole decision
    found = reading.condition_facts.get(key)
    if found is None:
        found = reading.condition_facts[key] = ConditionFacts(
            status_code(res, "verificationStatus"),
            status_code(res, "clinicalStatus"),
            onset_date(res),
        )
    return found


def counts(res: Resource, how: str, reading: Reading) -> bool:
    """Whether this condition counts, given how its kind of finding is read."""
    verification, clinical, onset = facts(reading, res)
    if verification in NEVER_COUNTS:
        return False
    if onset is not None and onset > reading.on:
        return False  # recorded after the order date: not known when the order was placed
    if how == HISTORY:
        return True
    if how in (TRAUMA, RECENT_INFECTION):
        days = "trauma_recent_days" if how == TRAUMA else "recent_infection_days"
        window = timedelta(days=int(reading.threshold(days)))
        return onset is None or reading.on - onset <= window
    if how == RECENT_USE:
        return recent_use(res, clinical, onset, reading)
    if clinical is not None and clinical not in ACTIVE:
        return False
    abated = parse_date(res.get("abatementDateTime"))
    if clinical is None and abated is not None and abated <= reading.on:
        return False  # no status given, but the record says it ended
    if how == CHRONIC:
        return True
    # Current: an undated active finding still counts (never reassure on missing data).
    window = timedelta(days=int(reading.threshold("current_finding_recent_days")))
    return onset is None or reading.on - onset <= window


def recent_use(res: Resource, clinical: str | None, onset: date | None, reading: Reading) -> bool:
    """Use that goes on, or ended within the window (an ended record without any date still counts).

    A record that says the use is past ("Previously injecting drug user") is read as ended.
    """
    past = reading.knowledge.value_set("iv-drug-use-past").match(res.get("code")) is not None
    if clinical not in ENDED and not past:
        return True
    ended = parse_date(res.get("abatementDateTime")) or onset
    if ended is None:
        return True  # when it ended is unknown: never reassure on missing data
    since = reading.on - timedelta(days=int(reading.threshold("iv_drug_use_recent_months")) * 30)
    return ended >= since


def detect_conditions(reading: Reading, findings: Findings) -> None:
    """Every problem-list red flag, with its evidence."""
    if "conditions" in reading.record.unavailable:
        findings.note_unchecked(
            "conditions (problem list: cancer, osteoporosis, HIV, neurology) could not be read"
        )
        return
    reading.require(CONDITION_SETS)
    holding = reading.sets_with_conditions()
    for value_set_id, flag, how, features in CONDITION_FLAGS:
        if value_set_id not in holding:
            continue  # no condition of this record can be in the set: skip its look-up
        for res, matched in reading.conditions_in(value_set_id):
            if counts(res, how, reading):
                findings.add(flag, evidence_for(res, matched, facts(reading, res).onset, SOURCE), *features)
    detect_other_cancer(reading, findings)
    detect_sciatica(reading, findings)


def detect_other_cancer(reading: Reading, findings: Findings) -> None:
    """Any other cancer (not the listed sites), excluding skin non-melanoma and benign tumours."""
    # A cancer already found as listed-site or metastatic is that, not also an "other" cancer.
    known = {e.reference for e in findings.flags.get(RedFlagId.HISTORY_OF_CANCER, []) if e.reference}
    for res, matched in reading.conditions_in("cancer-any"):
        if reading.match("cancer-excluded", res.get("code")) is not None or not counts(res, HISTORY, reading):
            continue
        evidence = evidence_for(res, matched, facts(reading, res).onset, SOURCE)
        if evidence.reference not in known:
            findings.add(RedFlagId.HISTORY_OF_CANCER, evidence, "other-cancer")


def detect_sciatica(reading: Reading, findings: Findings) -> None:
    """Active sciatica: 'with neurology' only once limb weakness is also found (see combine_flags)."""
    for res, matched in reading.conditions_in("sciatica"):
        if counts(res, CHRONIC, reading):
            findings.sciatica.append(evidence_for(res, matched, facts(reading, res).onset, SOURCE))
