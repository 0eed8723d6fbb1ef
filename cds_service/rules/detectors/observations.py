"""Red flags from measurements: fever, NICE NG51 high-risk vital signs, inflammatory markers, weight loss.

Units are converted before any comparison (CRP in mg/L, mg/dL or nmol/L; WCC in 10^9/L or per uL;
temperature in Celsius or Fahrenheit; weight in kg, g or lb). Only the observations whose LOINC
codes are in the value sets are read, through the record's code index.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from cds_service.fhir.record import Resource, codings, reference_of
from cds_service.rules.detectors.findings import Findings, Reading, months_before, parse_date, status_of
from cds_service.rules.model import CodeRef, Evidence, RedFlagId

VOID = frozenset({"entered-in-error", "cancelled"})
SOURCE = "observation"
SYSTOLIC = "8480-6"

Convert = Callable[[float, str], float | None]


def _celsius(value: float, unit: str) -> float | None:
    if unit in {"cel", "°c", "c", "degc"}:
        return value
    if unit in {"[degf]", "°f", "f", "degf"}:
        return (value - 32) * 5 / 9
    return value if value < 45 else (value - 32) * 5 / 9  # no unit: a reading above 45 is Fahrenheit


def _crp_mg_per_l(value: float, unit: str) -> float | None:
    factors = {"mg/l": 1.0, "mg/dl": 10.0, "nmol/l": 1 / 9.524, "ug/ml": 1.0}
    return value * factors[unit] if unit in factors else None


def _wcc_10e9_per_l(value: float, unit: str) -> float | None:
    if unit in {"10*9/l", "10^9/l", "10*3/ul", "10^3/ul", "x10e9/l", "10*3/mm3", "k/ul", "giga/l"}:
        return value
    if unit in {"/ul", "/mm3", "{cells}/ul", "cells/ul"}:
        return value / 1000
    return value if value < 300 else value / 1000


def _kg(value: float, unit: str) -> float | None:
    return {"kg": value, "g": value / 1000, "[lb_av]": value * 0.45359237, "lb": value * 0.45359237}.get(
        unit, value
    )


def _as_is(value: float, unit: str) -> float | None:
    return value


def quantity(node: Any, convert: Convert) -> float | None:
    """The numeric value of a valueQuantity, converted to the unit the thresholds use."""
    qty = node.get("valueQuantity") if isinstance(node, dict) else None
    if not isinstance(qty, dict) or not isinstance(qty.get("value"), int | float):
        return None
    unit = str(qty.get("code") or qty.get("unit") or "").strip().lower()
    return convert(float(qty["value"]), unit)


def when(res: Resource) -> date | None:
    """When the observation was made."""
    period = res.get("effectivePeriod")
    start = period.get("start") if isinstance(period, dict) else None
    return parse_date(res.get("effectiveDateTime") or start or res.get("issued"))


def readings(
    reading: Reading, value_set_id: str, convert: Convert, since: date
) -> list[tuple[date, float, Resource]]:
    """Dated, converted values of a value set's observations from `since` to the order date, oldest first."""
    out: list[tuple[date, float, Resource]] = []
    floor = since.isoformat()
    for res in reading.coded(value_set_id):
        raw = res.get("effectiveDateTime")
        if isinstance(raw, str) and raw[:10] < floor:
            continue  # ISO dates compare as strings: skip old readings (most) before reading more
        if res.get("resourceType") != "Observation" or status_of(res) in VOID:
            continue
        dated = when(res)
        if dated is None or dated < since:
            continue
        value = quantity(res, convert)
        if value is None and value_set_id == "blood-pressure":
            value = systolic_component(res)
        if value is not None and dated <= reading.on:
            out.append((dated, value, res))
    out.sort(key=lambda item: item[0])
    return out


def systolic_component(res: Resource) -> float | None:
    """The systolic value of a blood-pressure panel."""
    components = res.get("component")
    for component in components if isinstance(components, list) else ():
        if isinstance(component, dict) and any(
            code == SYSTOLIC for _, code, _ in codings(component.get("code"))
        ):
            return quantity(component, _as_is)
    return None


def observation_evidence(res: Resource, what: str, dated: date) -> Evidence:
    """Evidence pointing at an observation."""
    system, code, display = next(codings(res.get("code")), (None, None, None))
    return Evidence(reference_of(res), what, CodeRef(system, code, display), dated.isoformat(), SOURCE)


def detect_observations(reading: Reading, findings: Findings) -> None:
    """Fever, high-risk vital signs, raised inflammatory markers, weight loss."""
    if "observations" in reading.record.unavailable:
        findings.note_unchecked(
            "observations (temperature, vital signs, CRP/WCC/ESR, weight) could not be read"
        )
        return
    if not reading.record.of_type("Observation"):
        return  # nothing measured: every check below would read an empty series
    detect_fever(reading, findings)
    detect_high_risk_vitals(reading, findings)
    detect_inflammatory_markers(reading, findings)
    detect_weight_loss(reading, findings)


def detect_fever(reading: Reading, findings: Findings) -> None:
    """A temperature at or above the fever threshold within the recent window."""
    since = reading.on - timedelta(days=int(reading.threshold("fever_recent_days")))
    limit = float(reading.threshold("fever_temperature_min"))
    for dated, value, res in readings(reading, "body-temperature", _celsius, since):
        findings.measured.update(("vital-signs", "temperature"))
        if value >= limit:
            what = f"Temperature {value:.1f} °C (fever: {limit:g} °C or more)"
            # Fever is its own finding, never 'systemically unwell' (issue 9 item 7).
            findings.add(RedFlagId.FEVER, observation_evidence(res, what, dated), "fever")


def detect_high_risk_vitals(reading: Reading, findings: Findings) -> None:
    """NICE NG51 high-risk signs in the latest recent reading of each vital sign, or NEWS2 at threshold."""
    since = reading.on - timedelta(days=int(reading.threshold("vital_signs_recent_days")))
    checks: tuple[tuple[str, Callable[[float], bool], str], ...] = (
        (
            "blood-pressure",
            lambda v: v <= float(reading.threshold("sepsis_systolic_bp_max")),
            "Systolic blood pressure {v:.0f} mmHg",
        ),
        (
            "heart-rate",
            lambda v: v > float(reading.threshold("sepsis_heart_rate_above")),
            "Heart rate {v:.0f}/min",
        ),
        (
            "respiratory-rate",
            lambda v: v >= float(reading.threshold("sepsis_respiratory_rate_min")),
            "Respiratory rate {v:.0f}/min",
        ),
        ("news2", lambda v: v >= float(reading.threshold("news2_score_min")), "NEWS2 score {v:.0f}"),
    )
    for value_set_id, is_high_risk, label in checks:
        values = readings(reading, value_set_id, _as_is, since)
        if not values:
            continue
        findings.measured.add("vital-signs")
        dated, value, res = values[-1]
        if is_high_risk(value):
            what = label.format(v=value) + " (NICE NG51 high-risk sign)"
            evidence = observation_evidence(res, what, dated)
            findings.add(RedFlagId.SYSTEMICALLY_UNWELL, evidence, "sepsis-high-risk")


def detect_inflammatory_markers(reading: Reading, findings: Findings) -> None:
    """Raised CRP, WCC or age-adjusted ESR, and the recent CRP/WCC results for the infection card."""
    since = reading.on - timedelta(days=int(reading.threshold("inflammatory_markers_recent_days")))
    bloods_since = reading.on - timedelta(days=int(reading.threshold("infection_bloods_recent_days")))
    tests: list[tuple[str, Convert, float | None, str]] = [
        ("crp", _crp_mg_per_l, float(reading.threshold("crp_upper_mg_per_l")), "CRP {v:g} mg/L"),
        ("wcc", _wcc_10e9_per_l, float(reading.threshold("wcc_upper_10e9_per_l")), "WCC {v:.1f} x10^9/L"),
        ("esr", _as_is, esr_limit(reading, findings.age), "ESR {v:g} mm/h"),
    ]
    for value_set_id, convert, limit, label in tests:
        for dated, value, res in readings(reading, value_set_id, convert, min(since, bloods_since)):
            text = label.format(v=round(value, 1))
            if value_set_id != "esr" and dated >= bloods_since:
                findings.infection_bloods.append(observation_evidence(res, text, dated))
            if limit is not None and dated >= since and value > limit:
                what = f"{text} (above {limit:g})"
                evidence = observation_evidence(res, what, dated)
                findings.add(RedFlagId.RAISED_INFLAMMATORY_MARKERS, evidence)


def esr_limit(reading: Reading, age: int | None) -> float | None:
    """The age- and sex-adjusted upper limit of ESR, or None without an age."""
    if age is None:
        return None
    gender = (reading.record.patient or {}).get("gender")
    rules = reading.threshold("esr_upper_limit_by_sex")
    rule = rules.get(gender if isinstance(gender, str) else "unknown") or rules["unknown"]
    return (age + float(rule["age_add"])) / float(rule["age_divisor"])


def detect_weight_loss(reading: Reading, findings: Findings) -> None:
    """More than the threshold % lost between a weight 3-12 months before the latest one and the latest."""
    low, high = (int(m) for m in reading.threshold("weight_loss_window_months"))
    latest_since = reading.on - timedelta(days=int(reading.threshold("weight_latest_recent_days")))
    series = readings(reading, "body-weight", _kg, months_before(latest_since, high))
    if not series or series[-1][0] < latest_since:
        return
    latest_date, latest, latest_res = series[-1]
    window_start, window_end = months_before(latest_date, high), months_before(latest_date, low)
    earlier = [(d, v) for d, v, _ in series if window_start <= d <= window_end]
    if not earlier:
        return
    findings.measured.add("weight-series")
    base_date, base = max(earlier, key=lambda item: item[1])
    lost = (base - latest) / base * 100 if base > 0 else 0.0
    if lost > float(reading.threshold("weight_loss_percent")):
        what = (
            f"Weight {latest:.1f} kg on {latest_date.isoformat()}, down {lost:.1f}% "
            f"from {base:.1f} kg on {base_date.isoformat()}"
        )
        findings.add(RedFlagId.WEIGHT_LOSS, observation_evidence(latest_res, what, latest_date))
