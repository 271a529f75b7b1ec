"""ALSFRS-R total and domains, progression rate (delta-FS), slope, FVC, weight loss and BMI.

:func:`derived_scores` computes every value unrounded, with its date, whether it is stale
(older than the repeat window the knowledge base cites) and whether it is implausible (beyond
the knowledge base's data-quality limits: flagged, and not used for advice). Rules read these
unrounded values through the facts; :meth:`DerivedScores.wire` rounds them for the assessment
only. Durations are ``months_between`` (days / 30.4375).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from alscare.engine.facts import Fact, Facts, number_text
from alscare.engine.record_facts import how_stale, stale
from alscare.engine.state import PatientState, months_between
from alscare.knowledge import KnowledgeBase
from alscare.knowledge.scoring import AlsfrsRDomains, ProgressionBands
from alscare.schemas.patient import AlsfrsRating
from alscare.schemas.vocabulary import AlsfrsItem

__all__ = [
    "DerivedScores",
    "alsfrs_r_score",
    "alsfrs_r_total",
    "bmi",
    "derived_scores",
    "progression_band",
    "progression_rate",
    "weight_loss_percent",
]

# The repeat window each score follows (rules/definitions.yaml measurement ids).
_WINDOW_OF = {
    "alsfrs_r": "alsfrs_r",
    "progression_rate": "alsfrs_r",
    "fvc_percent_predicted": "fvc_percent_predicted",
    "weight_loss_percent": "weight",
    "bmi": "weight",
}
_ROUNDING = {"progression_rate": 2, "alsfrs_r_slope": 2, "weight_loss_percent": 1, "bmi": 1}


def alsfrs_r_total(rating: AlsfrsRating) -> int | None:
    """The ALSFRS-R total: the sum of the twelve items; None when one was not rated."""
    if rating.unrated():
        return None
    return sum(score or 0 for score in rating.items.values())


def alsfrs_r_score(rating: AlsfrsRating, domains: AlsfrsRDomains) -> dict[str, Any]:
    """Total and the four domain subscores of a rating with every item rated."""

    def subtotal(items: tuple[AlsfrsItem, ...]) -> int:
        return sum(rating.items[item] or 0 for item in items)

    return {
        "date": rating.date,
        "total": alsfrs_r_total(rating),
        "bulbar": subtotal(domains.bulbar),
        "fine_motor": subtotal(domains.fine_motor),
        "gross_motor": subtotal(domains.gross_motor),
        "respiratory": subtotal(domains.respiratory),
        "item_5": "5b" if rating.gastrostomy else "5a",
    }


def progression_rate(total: int, max_total: int, onset: dt.date, rated: dt.date) -> float | None:
    """Delta-FS, points lost per month from onset to the rating; None when no time has passed."""
    months = months_between(onset, rated)
    if months <= 0:
        return None
    return (max_total - total) / months


def progression_band(rate: float, bands: ProgressionBands) -> str:
    """slow, intermediate or fast (the band limits themselves are intermediate)."""
    if rate < bands.slow_below:
        return "slow"
    if rate > bands.fast_above:
        return "fast"
    return "intermediate"


def weight_loss_percent(premorbid_kg: float, current_kg: float) -> float:
    """Weight lost since the premorbid weight, in % of it (negative for a gain)."""
    return (premorbid_kg - current_kg) / premorbid_kg * 100


def bmi(weight_kg: float, height_cm: float) -> float:
    """Body-mass index, kg/m2."""
    return weight_kg / (height_cm / 100) ** 2


@dataclass(frozen=True, slots=True)
class Derived:
    """One derived value, unrounded, with its date and, when implausible, why."""

    value: float
    date: dt.date
    sentence: str
    implausible: str | None = None


@dataclass
class DerivedScores:
    """Every score of the assessment date, unrounded (see the module docstring)."""

    rating: dict[str, Any] | None = None
    values: dict[str, Derived] = field(default_factory=dict)
    band: str | None = None
    stale: tuple[str, ...] = ()
    # why each stale score is stale, by score
    stale_notes: dict[str, str] = field(default_factory=dict)
    because: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    verified: bool = True

    def window_of(self, name: str) -> str:
        return _WINDOW_OF.get(name, name)

    def fact(self, name: str, label: str, unit: str, digits: int) -> Fact:
        """A derived value as a fact for the rules: unknown when missing or implausible."""
        derived = self.values.get(name)
        if derived is None:
            return Fact(None, f"{label} not known")
        if derived.implausible is not None:
            return Fact(None, f"{derived.sentence}: not used, {derived.implausible}")
        return Fact(derived.value, derived.sentence)

    def wire(self) -> dict[str, Any]:
        """The scores of the assessment, rounded."""
        scores: dict[str, Any] = {"alsfrs_r": self.rating}
        for name, derived in self.values.items():
            digits = _ROUNDING.get(name)
            scores[name] = derived.value if digits is None else round(derived.value, digits)
        scores.update(
            progression_band=self.band,
            missing=tuple(dict.fromkeys(self.missing)),
            because=tuple(self.because),
            sources=tuple(dict.fromkeys(self.sources)),
            dates={
                **({"alsfrs_r": self.rating["date"]} if self.rating else {}),
                **{name: derived.date for name, derived in self.values.items()},
            },
            stale=self.stale,
            implausible=tuple(n for n, d in self.values.items() if d.implausible is not None),
            notes=self.notes(),
            verified=self.verified,
        )
        return scores

    def notes(self) -> dict[str, str]:
        """Why each stale or implausible score is flagged, in the order of the scores."""
        notes = dict(self.stale_notes)
        for name, derived in self.values.items():
            if derived.implausible is not None:
                stale = notes.get(name)
                implausible = f"implausible, not used for advice: {derived.implausible}"
                notes[name] = f"{stale}; {implausible}" if stale else implausible
        return notes


def derived_scores(facts: Facts) -> DerivedScores:
    """The scores of the latest entries on the assessment date."""
    state, kb = facts.state, facts.kb
    found = DerivedScores()
    _alsfrs_r_part(state, kb, found)
    _fvc_part(state, found)
    _weight_part(state, kb, found)
    _staleness(state, kb, found)
    return found


def _alsfrs_r_part(state: PatientState, kb: KnowledgeBase, found: DerivedScores) -> None:
    latest = state.rating
    if latest is None:
        found.missing.append("ALSFRS-R rating (for the ALSFRS-R scores and progression rate)")
        return
    complete = state.complete_ratings
    if latest.unrated():
        unrated = ", ".join(item.value.replace("_", " ") for item in latest.unrated())
        found.because.append(f"ALSFRS-R of {latest.date} leaves items unrated: {unrated}")
    if not complete:
        found.missing.append("an ALSFRS-R rating with every item rated (for the total)")
        return
    rating = complete[-1]
    params = kb.scoring
    score = alsfrs_r_score(rating, params.alsfrs_r_domains)
    found.rating = score
    found.sources += [*params.alsfrs_r.source_ids, *params.alsfrs_r_domains.source_ids]
    assumed = " (5b or 5a not recorded: taken as 5a)" if rating.gastrostomy_assumed else ""
    latest_note = "" if rating is latest else ", the latest with every item rated"
    found.because.append(
        f"ALSFRS-R {score['total']}/{params.alsfrs_r.max_total} on {rating.date}{latest_note} "
        f"(bulbar {score['bulbar']}, fine motor {score['fine_motor']}, gross motor "
        f"{score['gross_motor']}, respiratory {score['respiratory']}; item {score['item_5']}"
        f"{assumed})"
    )
    _rate(state, rating, score["total"], kb, found)
    _slope(complete, found)


def _rate(
    state: PatientState, rating: AlsfrsRating, total: int, kb: KnowledgeBase, found: DerivedScores
) -> None:
    params = kb.scoring
    onset = state.onset
    if onset is None:
        found.missing.append("symptom onset date (for the progression rate)")
        return
    rate = progression_rate(total, params.alsfrs_r.max_total, onset, rating.date)
    if rate is None:
        found.missing.append(
            f"time from symptom onset ({onset}) to the ALSFRS-R rating of {rating.date} (for "
            "the progression rate, undefined at 0 months or less)"
        )
        return
    months = months_between(onset, rating.date)
    limit = kb.rules.implausible_by_value.get("progression_rate")
    implausible = limit.reason if limit and limit.min_months and months < limit.min_months else None
    sentence = (
        f"progression rate (ΔFS) {number_text(rate, 2)} points/month, from symptom onset "
        f"{onset} to the ALSFRS-R of {rating.date} ({number_text(months)} months)"
    )
    found.values["progression_rate"] = Derived(rate, rating.date, sentence, implausible)
    found.sources += [*params.progression_rate.source_ids, *params.month.source_ids]
    if implausible is not None:
        found.because.append(f"{sentence}: implausible, {implausible}")
        found.sources += limit.source_ids if limit else ()
        found.verified = False
        return
    bands = params.progression_bands
    band = found.band = progression_band(rate, bands)
    found.sources += bands.source_ids
    found.verified = found.verified and bands.verified and params.progression_rate.verified
    found.because.append(
        f"{sentence}: {band} (slow below {bands.slow_below:g}, fast above {bands.fast_above:g} "
        f"points/month{'' if bands.verified else '; band limits unverified'})"
    )


def _slope(complete: tuple[AlsfrsRating, ...], found: DerivedScores) -> None:
    first, latest = complete[0], complete[-1]
    months = months_between(first.date, latest.date)
    if months <= 0:
        found.missing.append("a second ALSFRS-R rating on a later date (for the ALSFRS-R slope)")
        return
    first_total, latest_total = alsfrs_r_total(first) or 0, alsfrs_r_total(latest) or 0
    slope = (latest_total - first_total) / months
    found.values["alsfrs_r_slope"] = Derived(
        slope, latest.date, f"ALSFRS-R slope {slope:+.2f} points/month"
    )
    found.because.append(
        f"ALSFRS-R {first_total} on {first.date} and {latest_total} on {latest.date}: slope "
        f"{slope:+.2f} points/month"
    )


def _fvc_part(state: PatientState, found: DerivedScores) -> None:
    entry = state.latest_with("fvc_percent_predicted")
    if entry is None or entry.fvc_percent_predicted is None:
        found.missing.append("FVC % predicted")
        return
    value = entry.fvc_percent_predicted
    sentence = f"FVC {number_text(value)} % predicted on {entry.date}"
    found.values["fvc_percent_predicted"] = Derived(value, entry.date, sentence)
    found.because.append(sentence)


def _weight_part(state: PatientState, kb: KnowledgeBase, found: DerivedScores) -> None:
    if not state.weights:
        found.missing.append("body weight (for weight loss and BMI)")
        return
    weight = state.weights[-1]
    record = state.record
    if record.premorbid_weight_kg is None:
        found.missing.append("premorbid weight (for weight loss)")
    elif not math.isfinite(loss := weight_loss_percent(record.premorbid_weight_kg, weight.kg)):
        # A premorbid weight near zero passes the schema (> 0) but gives no number at all.
        found.missing.append(
            f"a premorbid weight that can be compared ({record.premorbid_weight_kg:g} kg cannot)"
        )
    else:
        word = "loss" if loss >= 0 else "gain"
        sentence = (
            f"weight {weight.kg:g} kg on {weight.date}, a {word} of {number_text(abs(loss))} % "
            f"from the premorbid {record.premorbid_weight_kg:g} kg"
        )
        _add_checked(found, kb, "weight_loss_percent", Derived(loss, weight.date, sentence))
    if record.height_cm is None:
        found.missing.append("height (for BMI)")
    else:
        index = bmi(weight.kg, record.height_cm)
        sentence = (
            f"BMI {number_text(index)} kg/m2 (weight {weight.kg:g} kg on {weight.date}, height "
            f"{record.height_cm:g} cm)"
        )
        _add_checked(found, kb, "bmi", Derived(index, weight.date, sentence))


def _add_checked(found: DerivedScores, kb: KnowledgeBase, name: str, derived: Derived) -> None:
    """Add a value, flagged when it lies beyond the data-quality limits."""
    limit = kb.rules.implausible_by_value.get(name)
    outside = limit is not None and (
        (limit.below is not None and derived.value < limit.below)
        or (limit.above is not None and derived.value > limit.above)
    )
    if outside and limit is not None:
        derived = Derived(derived.value, derived.date, derived.sentence, limit.reason)
        found.because.append(f"{derived.sentence}: implausible, {limit.reason}")
        found.sources += limit.source_ids
        found.verified = found.verified and limit.verified
    else:
        found.because.append(derived.sentence)
    found.values[name] = derived


def _staleness(state: PatientState, kb: KnowledgeBase, found: DerivedScores) -> None:
    dates: dict[str, dt.date] = {}
    if found.rating is not None:
        dates["alsfrs_r"] = found.rating["date"]
    dates.update((name, derived.date) for name, derived in found.values.items())
    stale_names, notes = [], {}
    windows = kb.rules.window_by_measurement
    for name, date in dates.items():
        measurement = _WINDOW_OF.get(name)
        if measurement is None or not stale(kb, measurement, date, state.as_of):
            continue
        stale_names.append(name)
        window = windows[measurement]
        notes[name] = stale_note(kb, measurement, date, state.as_of)
        found.missing.append(f"a new {window.label.removesuffix('s')}: the latest is of {date}")
        found.sources += window.source_ids
    found.stale, found.stale_notes = tuple(stale_names), notes


def stale_note(kb: KnowledgeBase, measurement: str, date: dt.date, as_of: dt.date) -> str:
    """Why a value measured on ``date`` is stale on ``as_of``, as every view says it."""
    window = kb.rules.window_by_measurement[measurement]
    return f"{window.label} of {date}, {how_stale(kb, measurement, date, as_of)}; a new one is due"
