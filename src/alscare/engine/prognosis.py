"""ENCALS survival prediction (Westeneng 2018), from the inputs at diagnosis.

The eight inputs are read from the record as they stood at diagnosis: age at onset, diagnostic
delay, the progression rate (delta-FS) of the ALSFRS-R rating nearest the diagnosis date, the
FVC nearest the diagnosis date, bulbar onset, a definite revised El Escorial category (from the
criteria the engine found), FTD and a C9orf72 repeat expansion. Any missing input leaves the
prediction null and is named in ``missing``.

Survival runs from symptom onset: ``S(t) = 1 / (1 + exp(eta(ln t) + LP))`` with a restricted
cubic spline ``eta`` (coefficients and knots in ``kb.scoring.encals``). The median solves
``S(t) = 0.5`` by bisection on ``ln t`` within the spline's knots, where the model has data; the
paper's risk groups are not reported (their cut-points are unverified).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass

from alscare.engine.scores import alsfrs_r_total, progression_rate
from alscare.engine.timeline import Timeline, months_between
from alscare.knowledge import KnowledgeBase
from alscare.knowledge.scoring import EncalsBaseline, EncalsModel, EncalsPredictor
from alscare.schemas.assessment import Criteria, EncalsInputs, EncalsPrognosis, Prognosis
from alscare.schemas.patient import PatientRecord
from alscare.schemas.vocabulary import (
    ElEscorialCategory,
    FindingId,
    GeneticResult,
    OnsetSite,
)

__all__ = [
    "baseline_eta",
    "encals",
    "linear_predictor",
    "median_survival_months",
    "prognosis",
    "survival_probability",
    "transformed",
]

_C9ORF72 = "c9orf72"
_POSITIVE = (GeneticResult.PATHOGENIC, GeneticResult.LIKELY_PATHOGENIC)
_NO_ONSET = "symptom onset date (for the ENCALS prognosis)"
_NO_DIAGNOSIS = "diagnosis date (for the ENCALS prognosis, which takes its inputs at diagnosis)"
_BISECTION_STEPS = 100  # halves the knot range to far below any reported precision


@dataclass(frozen=True)
class _Input:
    """One model input: its value and the fact behind it, or what is missing."""

    value: float | bool | None = None
    because: str | None = None
    missing: str | None = None


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

    def cube(u: float) -> float:
        return max(u, 0.0) ** 3

    eta = baseline.gammas[0] + baseline.gammas[1] * x
    for gamma, knot in zip(baseline.gammas[2:], knots[1:-1], strict=True):
        share = (k_max - knot) / (k_max - k_min)
        basis = cube(x - knot) - share * cube(x - k_min) - (1 - share) * cube(x - k_max)
        eta += gamma * basis
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
    for _ in range(_BISECTION_STEPS):
        middle = (low + high) / 2
        if baseline_eta(middle, baseline) + lp < 0:
            low = middle
        else:
            high = middle
    return math.exp((low + high) / 2)


def _age_at_onset(timeline: Timeline) -> _Input:
    record = timeline.record
    onset = timeline.onset
    if onset is None:
        return _Input(missing=_NO_ONSET)
    if record.birth_date is not None:
        age = months_between(record.birth_date, onset) / 12
        return _Input(age, f"age at onset {age:.1f} years (born {record.birth_date})")
    if record.age_years is not None:
        age = record.age_years - months_between(onset, timeline.as_of) / 12
        return _Input(age, f"age at onset {age:.1f} years (aged {record.age_years:g} on as_of)")
    return _Input(missing="birth date or age (for the ENCALS age at onset)")


def _diagnostic_delay(timeline: Timeline) -> _Input:
    onset, diagnosed = timeline.onset, timeline.record.diagnosis_date
    if onset is None:
        return _Input(missing=_NO_ONSET)
    if diagnosed is None:
        return _Input(missing=_NO_DIAGNOSIS)
    delay = months_between(onset, diagnosed)
    return _Input(
        delay,
        f"diagnostic delay {delay:.1f} months (onset {onset}, diagnosis {diagnosed})",
    )


def _rate_at_diagnosis(timeline: Timeline, max_total: int) -> _Input:
    record, onset = timeline.record, timeline.onset
    if record.diagnosis_date is None:
        return _Input(missing=_NO_DIAGNOSIS)
    if onset is None:
        return _Input(missing=_NO_ONSET)
    if not record.alsfrs_r:
        return _Input(missing="ALSFRS-R rating (for the ENCALS progression rate at diagnosis)")
    diagnosed = record.diagnosis_date
    nearest = min(record.alsfrs_r, key=lambda r: (abs((r.date - diagnosed).days), r.date))
    rate = progression_rate(nearest, onset, max_total)
    if rate is None:
        return _Input(
            missing=f"time from symptom onset to the ALSFRS-R of {nearest.date} (for the "
            "ENCALS progression rate, undefined at 0 months or less)"
        )
    distance = _from_diagnosis(nearest.date, diagnosed)
    return _Input(
        rate,
        f"progression rate {rate:.2f} points/month from ALSFRS-R {alsfrs_r_total(nearest)} on "
        f"{nearest.date}, the rating nearest diagnosis ({distance})",
    )


def _from_diagnosis(when: dt.date, diagnosed: dt.date) -> str:
    days = (when - diagnosed).days
    if days == 0:
        return "on the diagnosis date"
    return f"{abs(days)} days {'after' if days > 0 else 'before'} diagnosis"


def _fvc_at_diagnosis(timeline: Timeline) -> _Input:
    record = timeline.record
    if record.diagnosis_date is None:
        return _Input(missing=_NO_DIAGNOSIS)
    diagnosed = record.diagnosis_date
    measured = [m for m in record.respiratory if m.fvc_percent_predicted is not None]
    if not measured:
        return _Input(missing="FVC % predicted (for the ENCALS prognosis)")
    nearest = min(measured, key=lambda m: (abs((m.date - diagnosed).days), m.date))
    return _Input(
        nearest.fvc_percent_predicted,
        f"FVC {nearest.fvc_percent_predicted:g} % predicted on {nearest.date}, the measurement "
        f"nearest diagnosis ({_from_diagnosis(nearest.date, diagnosed)})",
    )


def _bulbar_onset(record: PatientRecord) -> _Input:
    site = record.symptom_onset.site if record.symptom_onset else None
    if site is None:
        return _Input(missing="symptom onset site (for the ENCALS bulbar onset)")
    bulbar = site == OnsetSite.BULBAR
    return _Input(bulbar, f"{'bulbar' if bulbar else 'non-bulbar'} onset ({site})")


def _definite(criteria: Criteria) -> _Input:
    category = criteria.el_escorial.category
    if category is None:
        return _Input(missing="revised El Escorial category (for the ENCALS prognosis)")
    definite = category == ElEscorialCategory.DEFINITE
    return _Input(definite, f"revised El Escorial category {category}")


def _ftd(record: PatientRecord) -> _Input:
    said = [f.present for f in record.findings if f.id == FindingId.FTD_FEATURES]
    if record.cognition is not None and record.cognition.ftd is not None:
        said.append(record.cognition.ftd)
    if not said:
        return _Input(missing="FTD status, from cognition or the ftd_features finding (for ENCALS)")
    ftd = any(said)
    return _Input(ftd, "frontotemporal dementia" if ftd else "no frontotemporal dementia")


def _c9orf72(record: PatientRecord) -> _Input:
    results = [g.result for g in record.genetics if g.gene.lower() == _C9ORF72]
    if any(result in _POSITIVE for result in results):
        return _Input(True, "C9orf72 repeat expansion (pathogenic or likely pathogenic)")
    if GeneticResult.NEGATIVE in results:
        return _Input(False, "C9orf72 negative")
    return _Input(missing="C9orf72 result (for the ENCALS prognosis)")


def _inputs(timeline: Timeline, criteria: Criteria, kb: KnowledgeBase) -> dict[str, _Input]:
    record = timeline.record
    return {
        "age_at_onset_years": _age_at_onset(timeline),
        "diagnostic_delay_months": _diagnostic_delay(timeline),
        "progression_rate": _rate_at_diagnosis(timeline, kb.scoring.alsfrs_r.max_total),
        "fvc_percent_predicted": _fvc_at_diagnosis(timeline),
        "bulbar_onset": _bulbar_onset(record),
        "definite_el_escorial": _definite(criteria),
        "ftd": _ftd(record),
        "c9orf72": _c9orf72(record),
    }


def _shown(value: float | bool | None) -> float | bool | None:
    return round(value, 2) if isinstance(value, float) else value


def encals(timeline: Timeline, criteria: Criteria, kb: KnowledgeBase) -> EncalsPrognosis:
    """The ENCALS prediction: linear predictor, median survival and S(t) at the report times."""
    model = kb.scoring.encals
    inputs = _inputs(timeline, criteria, kb)
    shown = EncalsInputs.model_validate({name: _shown(i.value) for name, i in inputs.items()})
    because = [i.because for i in inputs.values() if i.because]
    missing = list(dict.fromkeys(i.missing for i in inputs.values() if i.missing))
    sources = tuple(dict.fromkeys((*model.source_ids, *kb.scoring.month.source_ids)))
    if missing:
        return EncalsPrognosis(
            inputs=shown, missing=tuple(missing), because=tuple(because), sources=sources
        )
    values = {name: float(i.value) for name, i in inputs.items() if i.value is not None}
    lp = linear_predictor(values, model)
    if lp is None:
        outside = [p.input for p in model.predictors if transformed(p, values[p.input]) is None]
        return EncalsPrognosis(
            inputs=shown,
            missing=(f"{', '.join(outside)} within the ENCALS model's range (above 0)",),
            because=tuple(because),
            sources=sources,
        )
    median = median_survival_months(lp, model.baseline)
    because.append(f"linear predictor {lp:.3f}")
    if median is None:
        knots = model.baseline.knots_ln_months
        because.append(
            "median survival outside the model's time range "
            f"({math.exp(knots[0]):.1f}-{math.exp(knots[-1]):.0f} months from onset)"
        )
    else:
        because.append(f"median survival {median:.1f} months from onset, where S(t) = 0.5")
    return EncalsPrognosis(
        linear_predictor=round(lp, 3),
        median_survival_months=None if median is None else round(median, 1),
        survival={
            str(months): round(survival_probability(months, lp, model.baseline), 3)
            for months in model.survival_months
        },
        inputs=shown,
        because=tuple(because),
        sources=sources,
    )


def prognosis(timeline: Timeline, criteria: Criteria, kb: KnowledgeBase) -> Prognosis:
    """The ENCALS prediction from the inputs at diagnosis."""
    return Prognosis(encals=encals(timeline, criteria, kb))
