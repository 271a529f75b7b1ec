"""ENCALS survival prediction (Westeneng 2018), from the inputs at diagnosis.

The eight inputs are read from the record as they stood at diagnosis: age at onset, diagnostic
delay, the progression rate (delta-FS) of the complete ALSFRS-R rating nearest the diagnosis
date, the FVC nearest the diagnosis date, bulbar onset, a definite revised El Escorial category
(from the criteria the engine found), FTD and a C9orf72 repeat expansion (a causal variant by
the knowledge base's one definition). Any missing input leaves the prediction null and is named
in ``missing``.

Survival runs from symptom onset: ``S(t) = 1 / (1 + exp(eta(ln t) + LP))`` with a restricted
cubic spline ``eta`` (coefficients and knots in ``kb.scoring.encals``). The median solves
``S(t) = 0.5`` by bisection on ``ln t`` within the spline's knots, where the model has data; the
paper's risk groups are not reported (their cut-points are unverified).

The prediction is made safe for counselling: ``event`` names the composite endpoint; outside
the model's credible range (a diagnostic delay below the turning point of its transform, or a
rating or FVC taken too far from the diagnosis date) it is ``applicable: false`` with null
numbers and the reasons; and ``conditional`` gives survival from the assessment date for a
patient still event-free then (null once the event is recorded).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from alscare.engine.facts import Facts, number_text, on
from alscare.engine.scores import alsfrs_r_total, progression_rate
from alscare.engine.state import PatientState, months_between
from alscare.knowledge import KnowledgeBase
from alscare.knowledge.scoring import EncalsBaseline, EncalsModel, EncalsPredictor
from alscare.schemas.patient import InterventionRecord
from alscare.schemas.vocabulary import (
    ElEscorialCategory,
    InterventionEvent,
    InterventionKind,
    OnsetSite,
)

__all__ = [
    "baseline_eta",
    "conditional_survival",
    "Endpoint",
    "encals",
    "endpoints_reached",
    "linear_predictor",
    "median_survival_months",
    "survival_probability",
    "transformed",
]

_C9ORF72 = "C9orf72"
_NO_ONSET = "symptom onset date (for the ENCALS prognosis)"
_NO_DIAGNOSIS = "diagnosis date (for the ENCALS prognosis, which takes its inputs at diagnosis)"
# Bisection stops when ln t is known to within this: far below any reported precision.
_LN_MONTHS_TOLERANCE = 1e-9
# NIV over this many hours a day is part of the model's event.
_EVENT_NIV_HOURS = 23


class _Input(NamedTuple):
    """One model input: its value and the fact behind it, or what is missing, and when the
    input lies outside the model's credible range, why."""

    value: float | bool | None = None
    because: str | None = None
    missing: str | None = None
    outside: str | None = None


def transformed(predictor: EncalsPredictor, value: float) -> float | None:
    """The fractional-polynomial transform of one input; None outside its domain."""
    z = (value + predictor.shift) / predictor.scale
    needs_positive = any(p <= 0 or not p.is_integer() for p in predictor.powers)
    if needs_positive and z <= 0:
        return None
    return sum(math.log(z) if p == 0 else z**p for p in predictor.powers)


def linear_predictor(values: Mapping[str, float], model: EncalsModel) -> float | None:
    """The ENCALS linear predictor; None when an input lies outside its transform's domain."""
    total = 0.0
    for predictor in model.predictors:
        term = transformed(predictor, values[predictor.input])
        if term is None:
            return None
        total += predictor.coefficient * term
    return total


def baseline_eta(x: float, baseline: EncalsBaseline) -> float:
    """The baseline spline at ``x = ln(months)``, with the cube on every truncated term."""
    knots = baseline.knots_ln_months
    k_min, k_max = knots[0], knots[-1]
    low_cube = (x - k_min) ** 3 if x > k_min else 0.0
    high_cube = (x - k_max) ** 3 if x > k_max else 0.0
    eta = baseline.gammas[0] + baseline.gammas[1] * x
    for gamma, knot in zip(baseline.gammas[2:], knots[1:-1], strict=True):
        share = (k_max - knot) / (k_max - k_min)
        knot_cube = (x - knot) ** 3 if x > knot else 0.0
        eta += gamma * (knot_cube - share * low_cube - (1 - share) * high_cube)
    return eta


def _logistic_survival(eta: float) -> float:
    """1 / (1 + e^eta) without overflow for large |eta|."""
    if eta >= 0:
        tail = math.exp(-eta)
        return tail / (1 + tail)
    return 1 / (1 + math.exp(eta))


def survival_probability(months: float, lp: float, baseline: EncalsBaseline) -> float:
    """S(t): the probability of no event (death, tracheostomy, NIV > 23 h/day) by ``months``
    from symptom onset."""
    return _logistic_survival(baseline_eta(math.log(months), baseline) + lp)


def median_survival_months(lp: float, baseline: EncalsBaseline) -> float | None:
    """The t with S(t) = 0.5, by bisection on ln t between the outer knots; None when S stays
    on one side of 0.5 over that range (the model has no data there)."""
    low, high = baseline.knots_ln_months[0], baseline.knots_ln_months[-1]
    if baseline_eta(low, baseline) + lp >= 0 or baseline_eta(high, baseline) + lp < 0:
        return None
    return math.exp(_bisect(low, high, lambda x: baseline_eta(x, baseline) + lp < 0))


def _bisect(low: float, high: float, below: Callable[[float], bool]) -> float:
    """The point where ``below`` turns from true to false, between ``low`` and ``high``."""
    while high - low > _LN_MONTHS_TOLERANCE:
        middle = (low + high) / 2
        if below(middle):
            low = middle
        else:
            high = middle
    return (low + high) / 2


def _age_at_onset(state: PatientState) -> _Input:
    onset = state.onset
    if onset is None:
        return _Input(missing=_NO_ONSET)
    age = state.age_on(onset)
    if age is None:
        return _Input(missing="birth date or age (for the ENCALS age at onset)")
    return _Input(age, f"age at onset {age:.1f} years (onset {onset})")


def _diagnostic_delay(state: PatientState, model: EncalsModel) -> _Input:
    onset, diagnosed = state.onset, state.diagnosis_date
    if onset is None:
        return _Input(missing=_NO_ONSET)
    if diagnosed is None:
        return _Input(missing=_NO_DIAGNOSIS)
    delay = months_between(onset, diagnosed)
    because = f"diagnostic delay {delay:.1f} months (onset {onset}, diagnosis {diagnosed})"
    minimum = model.applicability.min_diagnostic_delay_months
    outside = None
    if delay < minimum:
        outside = (
            f"diagnostic delay {delay:.1f} months is below {number_text(minimum)} months, where "
            "the model's delay term turns and a shorter delay would predict longer survival"
        )
    return _Input(delay, because, outside=outside)


def _from_diagnosis(when: dt.date, diagnosed: dt.date) -> str:
    days = (when - diagnosed).days
    if days == 0:
        return "on the diagnosis date"
    return f"{abs(days)} days {'after' if days > 0 else 'before'} diagnosis"


def _window_problem(when: dt.date, diagnosed: dt.date, what: str, model: EncalsModel) -> str | None:
    window = model.applicability.input_window_months
    months = abs(months_between(diagnosed, when))
    if months <= window:
        return None
    return (
        f"{what} nearest diagnosis is from {when}, {number_text(months)} months from the "
        f"diagnosis date (more than {number_text(window)} months: not an input at diagnosis)"
    )


def _rate_at_diagnosis(state: PatientState, kb: KnowledgeBase) -> _Input:
    onset, diagnosed = state.onset, state.diagnosis_date
    if diagnosed is None:
        return _Input(missing=_NO_DIAGNOSIS)
    if onset is None:
        return _Input(missing=_NO_ONSET)
    ratings = state.complete_ratings
    if not ratings:
        return _Input(
            missing="an ALSFRS-R rating with every item rated (for the ENCALS progression rate)"
        )
    nearest = min(ratings, key=lambda r: (abs((r.date - diagnosed).days), r.date))
    total = alsfrs_r_total(nearest)
    assert total is not None  # complete ratings have a total
    rate = progression_rate(total, kb.scoring.alsfrs_r.max_total, onset, nearest.date)
    if rate is None:
        return _Input(
            missing=f"time from symptom onset to the ALSFRS-R of {nearest.date} (for the "
            "ENCALS progression rate, undefined at 0 months or less)"
        )
    assumed = "; item 5 taken as 5a, not recorded" if nearest.gastrostomy_assumed else ""
    because = (
        f"progression rate {rate:.2f} points/month from ALSFRS-R {total} on {nearest.date}, the "
        f"rating nearest diagnosis ({_from_diagnosis(nearest.date, diagnosed)}{assumed})"
    )
    outside = _window_problem(nearest.date, diagnosed, "the ALSFRS-R rating", kb.scoring.encals)
    return _Input(rate, because, outside=outside)


def _fvc_at_diagnosis(state: PatientState, model: EncalsModel) -> _Input:
    diagnosed = state.diagnosis_date
    if diagnosed is None:
        return _Input(missing=_NO_DIAGNOSIS)
    measured = [m for m in state.respiratory if m.fvc_percent_predicted is not None]
    if not measured:
        return _Input(missing="FVC % predicted (for the ENCALS prognosis)")
    nearest = min(measured, key=lambda m: (abs((m.date - diagnosed).days), m.date))
    value = nearest.fvc_percent_predicted
    assert value is not None  # filtered above
    because = (
        f"FVC {value:g} % predicted on {nearest.date}, the measurement nearest diagnosis "
        f"({_from_diagnosis(nearest.date, diagnosed)})"
    )
    return _Input(
        value, because, outside=_window_problem(nearest.date, diagnosed, "the FVC", model)
    )


def _bulbar_onset(state: PatientState) -> _Input:
    site = state.onset_site
    if site is None:
        return _Input(missing="symptom onset site (for the ENCALS bulbar onset)")
    bulbar = site == OnsetSite.BULBAR
    return _Input(bulbar, f"{'bulbar' if bulbar else 'non-bulbar'} onset ({site})")


def _definite(category: ElEscorialCategory | None) -> _Input:
    if category is None:
        return _Input(missing="revised El Escorial category (for the ENCALS prognosis)")
    definite = category == ElEscorialCategory.DEFINITE
    return _Input(definite, f"revised El Escorial category {category.value.replace('_', ' ')}")


def _yes_no(facts: Facts, name: str, missing: str) -> _Input:
    fact = facts(name)
    if fact.value is None:
        return _Input(missing=missing)
    return _Input(bool(fact.value), fact.because)


def _inputs(facts: Facts, category: ElEscorialCategory | None) -> dict[str, _Input]:
    state, kb = facts.state, facts.kb
    model = kb.scoring.encals
    return {
        "age_at_onset_years": _age_at_onset(state),
        "diagnostic_delay_months": _diagnostic_delay(state, model),
        "progression_rate": _rate_at_diagnosis(state, kb),
        "fvc_percent_predicted": _fvc_at_diagnosis(state, model),
        "bulbar_onset": _bulbar_onset(state),
        "definite_el_escorial": _definite(category),
        "ftd": _yes_no(facts, "cognition.ftd", "FTD status (for the ENCALS prognosis)"),
        "c9orf72": _yes_no(
            facts, f"variant.{_C9ORF72}", "C9orf72 result (for the ENCALS prognosis)"
        ),
    }


def _shown(value: float | bool | None) -> float | bool | None:
    return round(value, 2) if isinstance(value, float) else value


class Endpoint(NamedTuple):
    """A part of the model's composite endpoint the record shows: ``kind`` is ``death``,
    ``tracheostomy`` or ``niv_over_23h``; ``date`` may have been supplied by the v1 upgrade."""

    kind: str
    date: dt.date | None
    inferred: bool = False


def endpoints_reached(state: PatientState) -> tuple[Endpoint, ...]:
    """Each part of the model's event the record shows on or before the assessment date, once
    (its first occurrence), in this order: death, tracheostomy, NIV over 23 hours a day."""
    reached: list[Endpoint] = []
    if state.death_date is not None:
        reached.append(Endpoint("death", state.death_date))
    events = state.interventions or {}
    for kind, parts in (
        ("tracheostomy", events.get(InterventionKind.TRACHEOSTOMY, ())),
        ("niv_over_23h", events.get(InterventionKind.NIV, ())),
    ):
        started = next((event for event in parts if _endpoint_start(kind, event)), None)
        if started is not None:
            reached.append(Endpoint(kind, started.date, started.date_inferred))
    return tuple(reached)


def _endpoint_start(kind: str, event: InterventionRecord) -> bool:
    if event.event != InterventionEvent.STARTED:
        return False
    return kind == "tracheostomy" or (event.hours_per_day or 0) > _EVENT_NIV_HOURS


def _event_reached(state: PatientState) -> str | None:
    """The model's event in words, when the record shows it on or before the assessment date."""
    reached = endpoints_reached(state)
    if not reached:
        return None
    first = reached[0]
    if first.kind == "death":
        return f"died on {first.date}"
    if first.kind == "tracheostomy":
        return f"tracheostomy{on(first.date, first.inferred)}"
    return f"NIV over {_EVENT_NIV_HOURS} hours a day{on(first.date, first.inferred, 'from')}"


def conditional_survival(
    lp: float, since_onset: float, horizons: tuple[int, ...], baseline: EncalsBaseline
) -> tuple[float | None, dict[str, float]]:
    """Median survival from now and S(now + h) / S(now), for someone event-free ``since_onset``
    months after onset."""
    now = survival_probability(since_onset, lp, baseline)
    if now <= 0:  # the model gives no chance of being event-free now: nothing to condition on
        return None, {}
    survival = {str(h): survival_probability(since_onset + h, lp, baseline) / now for h in horizons}
    target = now / 2
    low, high = math.log(since_onset), baseline.knots_ln_months[-1]
    if low >= high or baseline_eta(high, baseline) + lp < math.log(1 / target - 1):
        return None, survival
    ln_median = _bisect(
        low, high, lambda x: _logistic_survival(baseline_eta(x, baseline) + lp) > target
    )
    return math.exp(ln_median) - since_onset, survival


def encals(facts: Facts, category: ElEscorialCategory | None) -> dict[str, Any]:
    """The ENCALS prediction (wire data): linear predictor, median survival, S(t) at the report
    times, the event, whether it applies, and the survival conditional on the assessment date."""
    state, kb = facts.state, facts.kb
    model = kb.scoring.encals
    inputs = _inputs(facts, category)
    result: dict[str, Any] = {
        "inputs": {name: _shown(i.value) for name, i in inputs.items()},
        "event": model.event,
        "sources": tuple(dict.fromkeys((*model.source_ids, *kb.scoring.month.source_ids))),
    }
    because = [i.because for i in inputs.values() if i.because]
    missing = list(dict.fromkeys(i.missing for i in inputs.values() if i.missing))
    if missing:
        return {**result, "missing": tuple(missing), "because": tuple(because)}
    outside = [i.outside for i in inputs.values() if i.outside]
    if outside:
        return _not_applicable(result, because, outside, model)
    values = {name: float(i.value) for name, i in inputs.items() if i.value is not None}
    lp = linear_predictor(values, model)
    if lp is None:
        names = [p.input for p in model.predictors if transformed(p, values[p.input]) is None]
        return {
            **result,
            "missing": (f"{', '.join(names)} within the ENCALS model's range (above 0)",),
            "because": tuple(because),
        }
    median = median_survival_months(lp, model.baseline)
    because.append(f"linear predictor {lp:.3f}")
    knots = model.baseline.knots_ln_months
    if median is None:
        because.append(
            "median survival outside the model's time range "
            f"({math.exp(knots[0]):.1f}-{math.exp(knots[-1]):.0f} months from onset)"
        )
    else:
        because.append(f"median survival {median:.1f} months from symptom onset, where S(t) = 0.5")
    result.update(
        linear_predictor=round(lp, 3),
        median_survival_months=None if median is None else round(median, 1),
        survival={
            str(months): round(survival_probability(months, lp, model.baseline), 3)
            for months in model.survival_months
        },
        applicable=True,
        conditional=_conditional(state, lp, model, because),
    )
    result["because"] = tuple(because)
    result["verified"] = model.verified and model.applicability.window.verified
    return result


def _not_applicable(
    result: dict[str, Any], because: list[str], outside: list[str], model: EncalsModel
) -> dict[str, Any]:
    applicability = model.applicability
    sources = (*applicability.delay.source_ids, *applicability.window.source_ids)
    return {
        **result,
        "applicable": False,
        "because": (*because, *(f"not applicable: {reason}" for reason in outside)),
        "sources": tuple(dict.fromkeys((*result["sources"], *sources))),
        "verified": applicability.window.verified,
    }


def _conditional(
    state: PatientState, lp: float, model: EncalsModel, because: list[str]
) -> dict[str, Any] | None:
    onset = state.onset
    assert onset is not None  # the inputs need an onset date
    reached = _event_reached(state)
    if reached is not None:
        because.append(f"the event has occurred ({reached}): no survival from the assessment date")
        return None
    since_onset = months_between(onset, state.as_of)
    if since_onset <= 0:
        return None
    median, survival = conditional_survival(
        lp, since_onset, model.conditional_months, model.baseline
    )
    because.append(
        f"event-free {since_onset:.1f} months after onset on the assessment date: "
        + (
            f"median {median:.1f} more months"
            if median is not None
            else "median beyond the model's time range"
        )
    )
    return {
        "months_since_onset": round(since_onset, 1),
        "median_survival_months": None if median is None else round(median, 1),
        "survival": {months: round(value, 3) for months, value in survival.items()},
    }
