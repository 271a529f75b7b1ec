"""The ENCALS prognosis as a RiskAssessment.

``status`` is ``final`` when the model answered (its figures, or "not applicable" with none),
``registered`` when inputs were missing: no result exists, and the notes name what is missing.
No figure is ever made up. ``prediction`` holds the figures of the assessment as they are:

- survival from symptom onset: outcome ``prognosis.encals.event_free``, the probability of
  being free of the model's event ``whenRange.high`` months after onset; the median is the entry
  with probability 0.5 (where S(t) = 0.5, as the model defines it);
- survival from the assessment date for a patient free of the event on it: outcome
  ``prognosis.encals.event_free_after_assessment``, months counted from the assessment date.

The notes state the event, the estimate, the inputs, the reasons and the ENCALS caveat.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Final

from alscare.interop.fhir.assessment_parts import Export, Json, compact, concept, marked, notes
from alscare.presentation import (
    ENCALS_CAVEAT,
    ENCALS_NOT_APPLICABLE,
    encals_conditional,
    encals_estimate,
    encals_event,
    encals_inputs,
    number,
    percent,
)
from alscare.schemas.assessment import EncalsPrognosis

__all__ = ["encals_risk_assessment"]

_DISPLAY: Final = "Prognosis (ENCALS model)"
_UCUM: Final = "http://unitsofmeasure.org"
# UCUM's "mo" is the mean Julian month, 365.25 / 12 days: the code is only written when the
# knowledge base counts months the same way.
_UCUM_MONTH_DAYS: Final = 365.25 / 12
# The median survival is the time at which the probability of being event-free is one half.
_MEDIAN: Final = 0.5


def encals_risk_assessment(export: Export) -> Json:
    encals = export.assessment.prognosis.encals
    resource = {
        **export.resource("RiskAssessment", "prognosis-encals"),
        "extension": export.marks(encals.verified, encals.sources),
        "status": "registered" if encals.missing else "final",
        "code": concept("prognosis.encals", _DISPLAY, marked(_DISPLAY, encals.verified)),
        "subject": export.subject(),
        "occurrenceDateTime": export.date,
        "prediction": [*_from_onset(encals, export), *_from_assessment(encals, export)],
        "note": notes(
            *_summary(encals, export),
            because=encals.because,
            missing=encals.missing,
            verified=encals.verified,
        ),
    }
    return compact(resource)


def _summary(encals: EncalsPrognosis, export: Export) -> Iterator[str]:
    """What every view says of the model, in its words."""
    yield f"Event predicted: {encals_event(encals)}; times are months from symptom onset."
    yield f"Estimate: {encals_estimate(encals)}."
    yield encals_conditional(encals, export.assessment.as_of)
    if encals.applicable is False:
        yield ENCALS_NOT_APPLICABLE
    rows = encals_inputs(encals, export.words)
    yield "Inputs at diagnosis: " + "; ".join(f"{name}: {value}" for name, value in rows) + "."
    yield ENCALS_CAVEAT


def _from_onset(encals: EncalsPrognosis, export: Export) -> Iterator[Json]:
    event = encals_event(encals)
    outcome = concept(
        "prognosis.encals.event_free", "Free of the ENCALS event", f"Free of the event: {event}"
    )
    for months, probability in _ordered(encals.survival or {}):
        rationale = f"{percent(probability)} free of the event {months} months from symptom onset"
        yield _prediction(outcome, probability, months, rationale, export)
    if encals.median_survival_months is not None:
        rationale = encals_estimate(encals)
        yield _prediction(outcome, _MEDIAN, encals.median_survival_months, rationale, export)


def _from_assessment(encals: EncalsPrognosis, export: Export) -> Iterator[Json]:
    conditional = encals.conditional
    if conditional is None:
        return
    day = export.date
    outcome = concept(
        "prognosis.encals.event_free_after_assessment",
        "Free of the ENCALS event after the assessment date, given none by it",
        f"Free of the event ({encals_event(encals)}), given none by {day}",
    )
    since = number(conditional.months_since_onset, "months")
    for months, probability in _ordered(conditional.survival):
        rationale = (
            f"{percent(probability)} free of the event {months} months after {day}, for a "
            f"patient free of it on that date, {since} after onset"
        )
        yield _prediction(outcome, probability, months, rationale, export)
    if conditional.median_survival_months is not None:
        rationale = encals_conditional(encals, export.assessment.as_of)
        median = conditional.median_survival_months
        yield _prediction(outcome, _MEDIAN, median, rationale, export)


def _ordered(survival: Mapping[str, float]) -> list[tuple[int | float, float]]:
    """The survival figures by months (the assessment keys them by the months as text)."""
    rows = [(_months(key), probability) for key, probability in survival.items()]
    return sorted(rows)


def _months(key: str) -> int | float:
    value = float(key)
    return int(value) if value.is_integer() else value


def _prediction(
    outcome: Json, probability: float, months: float, rationale: str, export: Export
) -> Json:
    return {
        "outcome": outcome,
        "probabilityDecimal": probability,
        "whenRange": {"high": _duration(months, export)},
        "rationale": rationale,
    }


def _duration(months: float, export: Export) -> Json:
    quantity: Json = {"value": months, "unit": "months"}
    if export.kb.scoring.month.days_per_month == _UCUM_MONTH_DAYS:
        quantity.update(system=_UCUM, code="mo")
    return quantity
