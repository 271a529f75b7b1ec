"""The facts earlier stages of the assessment conclude: regions, the differential, the criteria,
the derived scores and the steps of the treatment algorithm decided so far.

Each reads what its stage stored in ``facts.stages`` (``engine/__init__.py`` runs the stages in
order); the knowledge loader makes sure no rule reads a stage that comes after its own.
"""

from __future__ import annotations

from typing import Any

from alscare.engine.differentials import suspected_mimics
from alscare.engine.facts import Fact, FactFunctions, Facts
from alscare.engine.scores import DerivedScores
from alscare.schemas.vocabulary import Region

__all__ = ["DERIVED_FACTS"]

DERIVED_FACTS = FactFunctions()
fact = DERIVED_FACTS.register


def _region(facts: Facts, region: str) -> dict[str, Any]:
    found: dict[str, Any] = facts.stage("regions")[Region(region)]
    return found


@fact("region.{region}.umn")
def _umn(facts: Facts, region: str) -> Fact:
    return _involvement(region, _region(facts, region)["umn"], "UMN signs")


@fact("region.{region}.lmn")
def _lmn(facts: Facts, region: str) -> Fact:
    return _involvement(region, _region(facts, region)["lmn"], "LMN signs")


@fact("region.{region}.involved")
def _involved(facts: Facts, region: str) -> Fact:
    status = _region(facts, region)
    umn, lmn = status["umn"], status["lmn"]
    value = True if (umn or lmn) else (None if umn is None or lmn is None else False)
    return _involvement(region, value, "UMN or LMN signs")


def _involvement(region: str, value: bool | None, label: str) -> Fact:
    if value is None:
        return Fact(None, f"{region}: {label} not assessed")
    return Fact(value, f"{region}: {label} present" if value else f"{region}: no {label}")


def _count(facts: Facts, key: str) -> Fact:
    values = {region: status[key] for region, status in facts.stage("regions").items()}
    assessed = [region.value for region, value in values.items() if value is not None]
    label = key.upper()
    if not assessed:
        return Fact(None, f"{label} involvement not assessed in any region")
    involved = [region.value for region, value in values.items() if value]
    if not involved:
        return Fact(0.0, f"no {label} signs in the regions assessed ({', '.join(assessed)})")
    count = f"{len(involved)} region{'s' if len(involved) > 1 else ''}"
    return Fact(float(len(involved)), f"{label} signs in {count} ({', '.join(involved)})")


@fact("regions.umn_count")
def _umn_count(facts: Facts) -> Fact:
    return _count(facts, "umn")


@fact("regions.lmn_count")
def _lmn_count(facts: Facts) -> Fact:
    return _count(facts, "lmn")


@fact("differential.suspected_mimics")
def _suspected_mimics(facts: Facts) -> Fact:
    kb = facts.kb
    mimics = suspected_mimics(facts.stage("differentials"), kb)
    if not mimics:
        return Fact((), "no mimic of ALS suspected", kb.rules.mimic.source_ids)
    because = "; ".join(
        f"{kb.diagnosis.differential(found['id']).label} {found['level'].value}"
        + (f" ({', '.join(found['because'])})" if found["because"] else "")
        for found in mimics
    )
    sources = tuple(
        dict.fromkeys((*kb.rules.mimic.source_ids, *(s for m in mimics for s in m["sources"])))
    )
    return Fact(tuple(found["id"] for found in mimics), because, sources)


@fact("criteria.gold_coast.met")
def _gold_coast_met(facts: Facts) -> Fact:
    met = facts.stage("criteria")["gold_coast"]["met"]
    text = {True: "met", False: "not met", None: "not assessable"}[met]
    return Fact(met, f"Gold Coast criteria {text}")


@fact("criteria.el_escorial.category")
def _el_escorial_category(facts: Facts) -> Fact:
    category = facts.stage("criteria")["el_escorial"].get("category")
    if category is None:
        return Fact(None, "revised El Escorial category not assessable")
    return Fact(category.value, f"revised El Escorial category {category.value.replace('_', ' ')}")


def _scores(facts: Facts) -> DerivedScores:
    derived: DerivedScores = facts.stage("scores")
    return derived


@fact("alsfrs_r.progression_rate")
def _progression_rate(facts: Facts) -> Fact:
    return _scores(facts).fact("progression_rate", "progression rate (ΔFS)", "points/month", 2)


@fact("nutrition.weight_loss_percent")
def _weight_loss(facts: Facts) -> Fact:
    return _scores(facts).fact("weight_loss_percent", "weight loss from premorbid", "%", 1)


@fact("nutrition.bmi")
def _bmi(facts: Facts) -> Fact:
    return _scores(facts).fact("bmi", "BMI", "kg/m2", 1)


@fact("measurements.due")
def _measurements_due(facts: Facts) -> Fact:
    derived = _scores(facts)
    if not derived.stale:
        return Fact((), "every measurement within its repeat window")
    windows = facts.kb.rules.window_by_measurement
    # Measures read from one series share its note (weight loss and BMI: the weight), and the
    # note names the series in clinical words, so each note is listed once.
    listed = "; ".join(dict.fromkeys(derived.stale_notes.values()))
    sources = tuple(
        dict.fromkeys(
            source
            for name in derived.stale
            if (window := windows.get(derived.window_of(name))) is not None
            for source in window.source_ids
        )
    )
    return Fact(derived.stale, f"due: {listed}", sources)


@fact("recommended.{step}")
def _recommended(facts: Facts, step: str) -> Fact:
    action = facts.stage("recommended").get(step)
    if action is None:
        return Fact("none", f"no {step.replace('_', ' ')} recommendation")
    return Fact(action, f"{step.replace('_', ' ')} recommendation: {action}")
