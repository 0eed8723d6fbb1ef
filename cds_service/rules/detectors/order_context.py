"""Red flags the GP states on the order itself, and medicines being prescribed in the same session.

A GP who writes "suspected cauda equina" or "known prostate cancer, new back pain" in the order's
reason or notes has told us a red flag; one who writes "no saddle anaesthesia" has told us the
opposite, so a negated phrase never counts. A steroid in the same session's draft orders is a
steroid being started now.
"""

from __future__ import annotations

from typing import Any

from cds_service.fhir.record import Resource, codings
from cds_service.rules.detectors.conditions import CONDITION_FLAGS, NEVER_COUNTS, onset_date, status_code
from cds_service.rules.detectors.findings import Findings, Reading, describe, evidence_for
from cds_service.rules.detectors.medications import judge_medicines
from cds_service.rules.detectors.order_words import as_list
from cds_service.rules.model import CodeRef, Evidence, RedFlagId

# Free text can say more than the problem list: these value sets are read from the order's words.
TEXT_FLAGS: tuple[tuple[str, RedFlagId | None, tuple[str, ...]], ...] = (
    *((vs, flag, features) for vs, flag, _, features in CONDITION_FLAGS),
    ("cancer-any", RedFlagId.HISTORY_OF_CANCER, ("cancer-in-order",)),
    ("trauma-dangerous-mechanism", RedFlagId.TRAUMA, ("dangerous-mechanism",)),
    ("systemically-unwell-text", RedFlagId.SYSTEMICALLY_UNWELL, ()),
    ("acutely-unwell-text", RedFlagId.SYSTEMICALLY_UNWELL, ("sepsis-high-risk",)),
    ("systemic-corticosteroids", RedFlagId.CORTICOSTEROID_USE, ("current-steroid",)),
    ("immunosuppressants", RedFlagId.IMMUNOSUPPRESSION, ()),
    ("sciatica", None, ()),
)

# A use the order states as past is not read as current use.
PAST_USE = {"iv-drug-use": "iv-drug-use-past", "iv-drug-use-past": "iv-drug-use-past"}

TEXT_SETS = frozenset(value_set_id for value_set_id, _, _ in TEXT_FLAGS)


def detect_order_context(reading: Reading, findings: Findings) -> None:
    """Red flags in the order's coded reasons, referenced conditions, free text and the session's drafts."""
    order = reading.order.resource
    reference = reading.order.reference
    reading.require(TEXT_SETS)
    reasons = [coding for concept in as_list(order.get("reasonCode")) for coding in codings(concept)]
    # Which sets each reason code is in, asked once per code rather than once per set and code.
    reason_sets = [reading.lookups.sets_containing(system, code) for system, code, _ in reasons]
    texts = reading.order_texts()
    stated = set().union(*reason_sets, *(part for said in texts for part in said.matches))
    for flag_vs, flag, features in TEXT_FLAGS:
        if flag_vs not in stated:
            continue  # neither a reason code nor the order's words are in this set
        for (system, code, display), in_sets in zip(reasons, reason_sets, strict=True):
            if flag_vs in in_sets:
                matched = CodeRef(system, code, display)
                record_stated(
                    findings,
                    flag,
                    features,
                    Evidence(reference, describe(matched), matched, None, "order reason"),
                )
        for said in texts:
            # Each part's value-set matches were worked out once, for every set (Reading.order_texts).
            for part_matches in said.matches:
                words = part_matches.get(flag_vs)
                if flag_vs in PAST_USE and PAST_USE[flag_vs] in part_matches:
                    continue  # "ex-IVDU": when it ended is not said, and the GP wrote it as past
                if words is not None:
                    matched = CodeRef(None, None, words)
                    what = f'"{said.text.strip()}" (stated on the order)'
                    evidence = Evidence(reference, what, matched, None, said.where)
                    record_stated(findings, flag, features, evidence)
                    break
    for condition in referenced_conditions(order, reading):
        judge_referenced_condition(condition, reading, findings)
    drafts = [
        d
        for d in reading.record.draft_orders
        if d.get("resourceType") in ("MedicationRequest", "MedicationStatement")
    ]
    if drafts:
        judge_medicines(reading, findings, drafts, source="draft order")


def record_stated(
    findings: Findings, flag: RedFlagId | None, features: tuple[str, ...], evidence: Evidence
) -> None:
    """Add a flag the order states (sciatica is kept aside until limb weakness is known)."""
    if flag is None:
        findings.sciatica.append(evidence)
        return
    findings.add(flag, evidence, *features, "stated-in-order")


def referenced_conditions(order: Resource, reading: Reading) -> list[Resource]:
    """The conditions the order's reasonReference points at (record or contained resources)."""
    wanted: set[str] = set()
    for ref in as_list(order.get("reasonReference")):
        target = ref.get("reference") if isinstance(ref, dict) else None
        if isinstance(target, str):
            wanted.add(target.split("/_history")[0])
    if not wanted:
        return []
    found = [res for res in reading.record.of_type("Condition") if f"Condition/{res.get('id')}" in wanted]
    for contained in as_list(order.get("contained")):
        if isinstance(contained, dict) and f"#{contained.get('id')}" in wanted:
            found.append(contained)
    return found


def judge_referenced_condition(condition: Resource, reading: Reading, findings: Findings) -> None:
    """A condition given as the order's reason is current by definition (unless refuted)."""
    if status_code(condition, "verificationStatus") in NEVER_COUNTS:
        return
    code: Any = condition.get("code")
    for flag_vs, flag, features in TEXT_FLAGS:
        matched = reading.knowledge.value_set(flag_vs).match(code)
        if matched is None:
            continue
        if flag_vs == "cancer-any" and reading.knowledge.value_set("cancer-excluded").match(code):
            continue
        evidence = evidence_for(condition, matched, onset_date(condition), "order reason")
        record_stated(findings, flag, tuple(f for f in features if f != "cancer-in-order"), evidence)
