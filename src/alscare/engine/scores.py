"""ALSFRS-R total and domains, progression rate (delta-FS), slope, FVC, weight loss and BMI.

The item list, domains, bands and their sources come from ``kb.scoring``; durations are
``months_between`` (days / 30.4375). Each value that cannot be computed is ``None`` and says
why in ``missing``; each value computed names the record facts it used in ``because``.
"""

from __future__ import annotations

import datetime as dt

from alscare.engine.timeline import Timeline, months_between
from alscare.knowledge import KnowledgeBase
from alscare.knowledge.scoring import AlsfrsRDomains, ProgressionBands
from alscare.schemas.assessment import AlsfrsScore, Scores
from alscare.schemas.patient import AlsfrsRating, PatientRecord
from alscare.schemas.vocabulary import AlsfrsItem

__all__ = [
    "alsfrs_r_score",
    "alsfrs_r_total",
    "bmi",
    "latest_fvc",
    "progression_band",
    "progression_rate",
    "scores",
    "weight_loss_percent",
]


def alsfrs_r_total(rating: AlsfrsRating) -> int:
    """The ALSFRS-R total: the sum of the twelve items."""
    return sum(rating.items.values())


def alsfrs_r_score(rating: AlsfrsRating, domains: AlsfrsRDomains) -> AlsfrsScore:
    """Total and the four domain subscores of one rating."""

    def subtotal(items: tuple[AlsfrsItem, ...]) -> int:
        return sum(rating.items[item] for item in items)

    return AlsfrsScore(
        date=rating.date,
        total=alsfrs_r_total(rating),
        bulbar=subtotal(domains.bulbar),
        fine_motor=subtotal(domains.fine_motor),
        gross_motor=subtotal(domains.gross_motor),
        respiratory=subtotal(domains.respiratory),
        item_5="5b" if rating.uses_item_5b else "5a",
    )


def progression_rate(rating: AlsfrsRating, onset: dt.date, max_total: int) -> float | None:
    """Delta-FS, points lost per month from onset to the rating; None when no time has passed."""
    months = months_between(onset, rating.date)
    if months <= 0:
        return None
    return (max_total - alsfrs_r_total(rating)) / months


def progression_band(rate: float, bands: ProgressionBands) -> str:
    """slow, intermediate or fast (the band limits themselves are intermediate)."""
    if rate < bands.slow_below:
        return "slow"
    if rate > bands.fast_above:
        return "fast"
    return "intermediate"


def latest_fvc(record: PatientRecord) -> tuple[float, dt.date] | None:
    """The latest FVC % predicted and its date (series are in date order on the timeline)."""
    measured = [m for m in record.respiratory if m.fvc_percent_predicted is not None]
    if not measured:
        return None
    last = measured[-1]
    assert last.fvc_percent_predicted is not None  # filtered above
    return last.fvc_percent_predicted, last.date


def weight_loss_percent(premorbid_kg: float, current_kg: float) -> float:
    """Weight lost since the premorbid weight, in % of it (negative for a gain)."""
    return (premorbid_kg - current_kg) / premorbid_kg * 100


def bmi(weight_kg: float, height_cm: float) -> float:
    """Body-mass index, kg/m2."""
    return weight_kg / (height_cm / 100) ** 2


class _Collected:
    """What the score functions found: facts used, data lacking, sources of the rules used."""

    def __init__(self) -> None:
        self.because: list[str] = []
        self.missing: list[str] = []
        self.sources: list[str] = []


def _alsfrs_r_part(timeline: Timeline, kb: KnowledgeBase, found: _Collected) -> dict[str, object]:
    ratings = timeline.record.alsfrs_r
    if not ratings:
        found.missing.append("ALSFRS-R rating (for the ALSFRS-R scores and progression rate)")
        return {}
    params = kb.scoring
    latest = ratings[-1]
    score = alsfrs_r_score(latest, params.alsfrs_r_domains)
    found.sources += [*params.alsfrs_r.source_ids, *params.alsfrs_r_domains.source_ids]
    found.because.append(
        f"ALSFRS-R {score.total}/{params.alsfrs_r.max_total} on {score.date} (bulbar "
        f"{score.bulbar}, fine motor {score.fine_motor}, gross motor {score.gross_motor}, "
        f"respiratory {score.respiratory}; item {score.item_5})"
    )
    values: dict[str, object] = {"alsfrs_r": score}
    values.update(_rate(timeline, latest, kb, found))
    values["alsfrs_r_slope"] = _slope(ratings, found)
    return values


def _rate(
    timeline: Timeline, latest: AlsfrsRating, kb: KnowledgeBase, found: _Collected
) -> dict[str, object]:
    params = kb.scoring
    if timeline.onset is None:
        found.missing.append("symptom onset date (for the progression rate)")
        return {}
    rate = progression_rate(latest, timeline.onset, params.alsfrs_r.max_total)
    if rate is None:
        found.missing.append(
            f"time from symptom onset ({timeline.onset}) to the ALSFRS-R rating of "
            f"{latest.date} (for the progression rate, undefined at 0 months or less)"
        )
        return {}
    months = months_between(timeline.onset, latest.date)
    bands = params.progression_bands
    band = progression_band(rate, bands)
    found.sources += [
        *params.progression_rate.source_ids,
        *params.month.source_ids,
        *bands.source_ids,
    ]
    found.because.append(
        f"symptom onset {timeline.onset}, {months:.1f} months before the ALSFRS-R of "
        f"{latest.date}: progression rate {rate:.2f} points/month, {band} (slow below "
        f"{bands.slow_below:g}, fast above {bands.fast_above:g} points/month"
        f"{'' if bands.verified else '; band limits unverified'})"
    )
    return {"progression_rate": round(rate, 2), "progression_band": band}


def _slope(ratings: tuple[AlsfrsRating, ...], found: _Collected) -> float | None:
    first, latest = ratings[0], ratings[-1]
    months = months_between(first.date, latest.date)
    if months <= 0:
        found.missing.append("a second ALSFRS-R rating on a later date (for the ALSFRS-R slope)")
        return None
    slope = (alsfrs_r_total(latest) - alsfrs_r_total(first)) / months
    found.because.append(
        f"ALSFRS-R {alsfrs_r_total(first)} on {first.date} and {alsfrs_r_total(latest)} on "
        f"{latest.date}: slope {slope:+.2f} points/month"
    )
    return round(slope, 2)


def _fvc_part(record: PatientRecord, found: _Collected) -> dict[str, object]:
    fvc = latest_fvc(record)
    if fvc is None:
        found.missing.append("FVC % predicted")
        return {}
    found.because.append(f"FVC {fvc[0]:g} % predicted on {fvc[1]}")
    return {"fvc_percent_predicted": fvc[0]}


def _weight_part(record: PatientRecord, found: _Collected) -> dict[str, object]:
    if not record.weights:
        found.missing.append("body weight (for weight loss and BMI)")
        return {}
    weight = record.weights[-1]
    found.because.append(f"weight {weight.kg:g} kg on {weight.date}")
    values: dict[str, object] = {}
    if record.premorbid_weight_kg is None:
        found.missing.append("premorbid weight (for weight loss)")
    else:
        loss = weight_loss_percent(record.premorbid_weight_kg, weight.kg)
        found.because.append(
            f"premorbid weight {record.premorbid_weight_kg:g} kg: "
            f"{'loss' if loss >= 0 else 'gain'} of {abs(loss):.1f} %"
        )
        values["weight_loss_percent"] = round(loss, 1)
    if record.height_cm is None:
        found.missing.append("height (for BMI)")
    else:
        index = bmi(weight.kg, record.height_cm)
        found.because.append(f"height {record.height_cm:g} cm: BMI {index:.1f} kg/m2")
        values["bmi"] = round(index, 1)
    return values


def scores(timeline: Timeline, kb: KnowledgeBase) -> Scores:
    """The scores of the latest entries on ``timeline.as_of``."""
    found = _Collected()
    values = _alsfrs_r_part(timeline, kb, found)
    values.update(_fvc_part(timeline.record, found))
    values.update(_weight_part(timeline.record, found))
    return Scores.model_validate(
        {
            **values,
            "missing": tuple(found.missing),
            "because": tuple(found.because),
            "sources": tuple(dict.fromkeys(found.sources)),
        }
    )
