"""The hook call's shortcuts find exactly what the plain lookups find (they exist only for speed).

Card and suggestion uuids are what feedback and the decision log join on; the record's code lookups
and the value sets' text matches decide which red flags are found and in what order evidence is shown.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds_service.cards.ids import card_uuid, suggestion_uuid
from cds_service.fhir.record import RECORD_TYPES, PatientRecord, concept_text
from cds_service.knowledge import Knowledge, load_knowledge
from cds_service.rules.detectors.findings import Reading
from cds_service.rules.detectors.lookups import KnowledgeLookups
from cds_service.rules.detectors.medications import (
    MedicineClass,
    MedicineClassifier,
    MedicineMatcher,
    coding_tuples,
    course_of,
)
from cds_service.rules.detectors.pattern_set import PatternSet, without_lookarounds
from cds_service.rules.model import CodeRef, ImagingOrder, Modality, Region

SYNTHEA = Path(__file__).parent / "data" / "synthea"
SAMPLES = Path(__file__).parent.parent / "sample_bundles"
ORDER = ImagingOrder(
    reference="ServiceRequest/mri",
    resource={"resourceType": "ServiceRequest", "id": "mri", "status": "draft"},
    modality=Modality.MRI,
    regions=(Region.LUMBAR,),
    contrast=None,
    matched=CodeRef("http://www.ama-assn.org/go/cpt", "72148", "MRI lumbar spine"),
    matched_by="code",
)


def test_card_and_suggestion_uuids_are_the_name_based_uuids_of_the_consult_id() -> None:
    for _ in range(200):
        consult = uuid.uuid4()
        consult_id = f"urn:uuid:{consult}"
        assert card_uuid(consult_id) == str(uuid.uuid5(consult, "card"))
        for key in ("cancel-order", "switch-to-mri", "order-infection-bloods"):
            assert suggestion_uuid(consult_id, key) == str(uuid.uuid5(consult, f"suggestion:{key}"))


@pytest.mark.parametrize("path", sorted(SYNTHEA.glob("*.json")), ids=lambda p: p.name[:20])
def test_a_records_coded_entries_are_found_for_every_value_set_in_the_same_order(path: Path) -> None:
    knowledge = load_knowledge()
    resources = [
        e["resource"]
        for e in json.loads(path.read_text("utf-8"))["entry"]
        if e["resource"]["resourceType"] in RECORD_TYPES
    ]
    record = PatientRecord.from_resources(None, resources, as_of=date(2026, 11, 20))
    reading = Reading(ORDER, record, knowledge, date(2026, 11, 20))
    for value_set_id, value_set in knowledge.value_sets.items():
        expected = record.with_any_code(value_set.keys())
        assert [id(r) for r in reading.coded(value_set_id)] == [id(r) for r in expected], value_set_id


def sample_texts() -> list[str]:
    """Every condition text, display and order note of the samples, plus words GPs write."""
    texts = [
        "suspected cauda equina, not excluded",
        "known prostate cancer, new back pain",
        "AIDS diagnosed 2010",
        "hay fever",
        "fever and rigors",
        "immunosuppressed after transplant",
        "skin cancer",
        "skin cancer (melanoma)",
        "fell from a ladder",
        "",
    ]
    for path in sorted(SAMPLES.glob("*.json")):
        for entry in json.loads(path.read_text("utf-8"))["entry"]:
            res = entry["resource"]
            for concept in [res.get("code"), *(res.get("reasonCode") or [])]:
                if isinstance(concept, dict):
                    texts.append(concept.get("text") or "")
                    texts += [c.get("display") or "" for c in concept.get("coding") or []]
            texts += [note.get("text") or "" for note in res.get("note") or []]
    return texts


def each_set_s_own_words(knowledge: Knowledge, text: str) -> dict[str, str]:
    """{value set id: words} as each finding value set's own patterns, tried one by one, find them."""
    return {
        value_set_id: found
        for value_set_id, value_set in knowledge.value_sets.items()
        if "imaging" not in value_set_id and (found := value_set.match_text(text)) is not None
    }


def test_words_match_the_same_value_sets_as_each_set_s_own_patterns() -> None:
    knowledge = load_knowledge()
    words = KnowledgeLookups.for_knowledge(knowledge).words
    for text in sample_texts():
        expected = each_set_s_own_words(knowledge, text)
        assert dict(words.matches(text)) == expected, text


def test_words_find_every_set_when_one_place_in_the_text_matches_several() -> None:
    knowledge = load_knowledge()
    words = KnowledgeLookups.for_knowledge(knowledge).words
    found = words.matches("spinal cord compression with sciatica")
    assert set(found) >= {"cancer-metastatic", "progressive-neurology", "sciatica", "back-pain"}


@pytest.mark.parametrize(
    "text",
    [
        "saddle anæsthesia and \u017faddle numbness",  # not ASCII: every pattern is searched
        "?sepsis after a fall",  # a pattern that starts with punctuation, not a word
        "t-spine pain, NEWS2 score 7, x-ray clear",
        "AIDS",
        "aids to daily living",
        # Look-arounds, which RE2 reads without: Python still applies them.
        "Never injecting drug user",
        "Previously injecting drug user; now on methadone",
        "Diabetes insipidus",
        "hay fever, no night sweats",
        "AIDS-related lymphoma",
        # Python's \s takes these ASCII separators; RE2's does not.
        "lung\x1ccancer",
        "lung\x0bcarcinoma, weight loss",
    ],
)
def test_words_match_what_the_patterns_match_in_unusual_writing(text: str) -> None:
    knowledge = load_knowledge()
    words = KnowledgeLookups.for_knowledge(knowledge).words
    expected = each_set_s_own_words(knowledge, text)
    assert dict(words.matches(text)) == expected


@pytest.mark.parametrize(
    "value_set_id", ["local-corticosteroids", "systemic-corticosteroids", "immunosuppressants"]
)
def test_a_medicine_s_words_are_found_as_one_alternation_of_the_set_s_patterns_finds_them(
    value_set_id: str,
) -> None:
    value_set = load_knowledge().value_set(value_set_id)
    matcher = MedicineMatcher(value_set)
    alternation = re.compile("|".join(f"(?:{p.pattern})" for p in value_set.text_patterns), re.IGNORECASE)
    medicines = [
        "Prednisolone 5mg tablets",
        "Hydrocortisone 1% cream",
        "Fluticasone propionate nasal spray",
        "Betamethasone valerate 0.1% ointment and oral prednisolone",
        "Methotrexate 2.5mg tablets weekly",
        "intra-articular triamcinolone injection",
        "Budesonide inhaler, dexamethasone eye drops",
        "paracetamol",
    ]
    for text in medicines:
        found = alternation.search(text)
        matched = matcher.match((), text)
        assert (matched.display if matched else None) == (found.group(0) if found else None), text


def _pattern_words() -> list[str]:
    """Words and word beginnings the value sets' patterns are written with, to build texts from."""
    words: set[str] = set()
    for value_set in load_knowledge().value_sets.values():
        for pattern in value_set.text_patterns:
            words.update(re.findall(r"[a-z]{2,}", pattern.pattern.lower()))
    return sorted(words)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            st.sampled_from(_pattern_words()),
            st.sampled_from(["no", "not", "denies", "L5", "T12", "3/7", "NEWS2", "x-ray", "c-spine"]),
            st.text(alphabet="abcdefghijklmnopqrstuvwxyzSALTE0123456789", min_size=1, max_size=8),
        ),
        min_size=1,
        max_size=12,
    ),
    st.lists(
        st.sampled_from([" ", " ", "  ", "-", ", ", ". ", "/", "(", ")", "; ", "\n", "\x1c", "\t"]),
        min_size=12,
        max_size=12,
    ),
)
def test_any_text_made_of_the_patterns_words_matches_the_same_value_sets_as_each_set_s_own_patterns(
    words: list[str], separators: list[str]
) -> None:
    # RE2's shortlist only narrows which patterns are searched: whatever the text, a note that names a
    # red flag must be found exactly as reading it against every value set's patterns finds it.
    text = "".join(word + separator for word, separator in zip(words, separators, strict=False))
    knowledge = load_knowledge()
    found = KnowledgeLookups.for_knowledge(knowledge).words.matches(text)
    expected = each_set_s_own_words(knowledge, text)
    assert dict(found) == expected, text


def test_a_pattern_re2_cannot_read_is_still_searched_for_every_text() -> None:
    # A back-reference is beyond RE2: the pattern is left off its set, and Python searches it always.
    patterns = [re.compile(r"\bsaddle\b", re.IGNORECASE), re.compile(r"\b(\w)\1ing\b", re.IGNORECASE)]
    shortlist = PatternSet(patterns)
    assert shortlist.always == (1,)
    assert list(shortlist.candidates("a boot lacing")) == [1]
    assert list(shortlist.candidates("saddle numbness")) == [0, 1]


@pytest.mark.parametrize(
    ("pattern", "relaxed"),
    [
        (r"(?<!never )(?<!not )\binjects?\s+(heroin|drugs)\b", r"\binjects?\s+(heroin|drugs)\b"),
        (r"\bdiabet(es|ic)\b(?!\s+insipidus)", r"\bdiabet(es|ic)\b"),
        (r"(?<!\bhay\s)(?<![(])\bfever\w*\b", r"\bfever\w*\b"),
        (r"\bskin\s+cancer\b(?!.*(melanoma|mole\)))", r"\bskin\s+cancer\b"),
        (r"[(?!]\(?=x\)", r"[(?!]\(?=x\)"),  # a class and escapes, not look-arounds
    ],
)
def test_look_arounds_are_dropped_for_re2_and_nothing_else(pattern: str, relaxed: str) -> None:
    assert without_lookarounds(pattern) == relaxed


_DATES = st.one_of(
    st.dates(min_value=date(1980, 1, 1), max_value=date(2027, 12, 31)).map(date.isoformat),
    st.sampled_from(["2019", "2025-06", "2026-11-20T09:00:00Z", "not a date", ""]),
)


@settings(max_examples=300, deadline=None)
@given(
    status=st.sampled_from(
        ["active", "stopped", "completed", "on-hold", "unknown", "entered-in-error", None]
    ),
    start=st.one_of(st.none(), _DATES),
    start_element=st.sampled_from(["authoredOn", "effectiveDateTime", "dateAsserted"]),
    end=st.one_of(st.none(), _DATES),
    end_element=st.sampled_from(["effectivePeriod", "dispenseRequest", "dosageInstruction"]),
    since=st.dates(min_value=date(2020, 1, 1), max_value=date(2026, 11, 20)),
)
def test_an_old_stopped_course_is_set_aside_only_when_it_could_not_count(
    status: str | None, start: str | None, start_element: str, end: str | None, end_element: str, since: date
) -> None:
    # The shortcut skips a stopped prescription whose assumed supply ran out before every look-back
    # window: whatever the prescription says, a course it sets aside is one that could not count
    # (not ongoing, over before `since`), and any other course is exactly the one read in full.
    res: dict[str, object] = {"resourceType": "MedicationRequest", "id": "m"}
    if status is not None:
        res["status"] = status
    if start is not None:
        res[start_element] = start
    if end is not None:
        res[end_element] = {
            "effectivePeriod": {"end": end},
            "dispenseRequest": {"validityPeriod": {"end": end}},
            "dosageInstruction": [{"timing": {"repeat": {"boundsPeriod": {"end": end}}}}],
        }[end_element]
    on, supply = date(2026, 11, 20), timedelta(days=30)
    full = course_of(res, on, supply)
    short = course_of(res, on, supply, since - supply)
    if short is None and full is not None:
        assert not full.ongoing
        assert full.end is not None and full.end < since
    else:
        assert short == full


def _medicine_codings() -> list[tuple[str | None, str]]:
    """Codings to build medicines from: every code the three medicine sets list (under each system
    they give), the same codes under no system, trimmed badly, or under another system."""
    knowledge = load_knowledge()
    out: list[tuple[str | None, str]] = []
    for value_set_id in ("local-corticosteroids", "systemic-corticosteroids", "immunosuppressants"):
        for system, code in knowledge.value_set(value_set_id).codes:
            out += [(system, code), (None, code), (system, f" {code} "), ("urn:oid:1.2.3", code)]
    out += [("http://snomed.info/sct", "1234567"), ("http://www.whocc.no/atc", "L04AX03"), (None, "")]
    return out


@settings(max_examples=300, deadline=None)
@given(
    codings=st.lists(st.sampled_from(_medicine_codings()), max_size=3),
    words=st.lists(st.sampled_from([*_pattern_words(), "tablets", "5mg", "cream", "oral"]), max_size=4),
)
def test_a_medicine_is_classified_as_the_three_sets_matchers_classify_it(
    codings: list[tuple[str | None, str]], words: list[str]
) -> None:
    # The classifier settles most medicines (no set's words, no set's code) without asking each set;
    # whatever the medicine, its answer must be the one the three sets' own matchers give.
    knowledge = load_knowledge()
    classifier = MedicineClassifier(
        knowledge.value_set("local-corticosteroids"),
        knowledge.value_set("systemic-corticosteroids"),
        knowledge.value_set("immunosuppressants"),
    )
    concept: dict[str, object] = {"coding": [{"system": s, "code": c} for s, c in codings]}
    if words:
        concept["text"] = " ".join(words)
    codes, text = coding_tuples(concept), concept_text(concept)
    local = classifier.local.match(codes, text)
    expected = MedicineClass(
        None if local else classifier.steroid.match(codes, text), classifier.immuno.match(codes, text), text
    )
    assert classifier.classify(concept) == expected
