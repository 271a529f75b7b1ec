"""King's stage (from ALSFRS-R and from clinical milestones) and MiToS stage.

* ``kings``: from the latest ALSFRS-R rating by the Balendra rules whenever a rating exists
  (method ``alsfrs_r``); from the clinical milestones only when there is none (``clinical``,
  with 2A and 2B both reported as "2").
* ``kings_clinical``: the Roche milestones from the regions involved (examination, findings,
  onset site), the diagnosis date and the need for interventions (provided, trialled or
  refused).
* ``mitos``: the number of functional domains lost on the latest rating (Chio).
* From the date of death on, King's (both) and MiToS are stage 5.

The item rules, regions and domains are conditions of the knowledge base (``kb.scoring``),
evaluated three-valued: an item not rated makes a rule that needs it unknown, and a stage that
depends on an unknown rule is not given. The order of the rules (4B before 4A before the region
count) is the algorithm and lives here.
"""

from __future__ import annotations

from typing import Any

from alscare.engine.facts import Facts
from alscare.engine.logic import explain, holds
from alscare.knowledge.rules import Condition
from alscare.knowledge.scoring import KingsAlsfrsRRules, KingsClinicalRules, MitosRules
from alscare.schemas.vocabulary import KingsClinicalStage, KingsStage

__all__ = ["staging"]

Result = dict[str, Any]

# King's clinical stages reported on the ALSFRS-R scale, where diagnosis (2A) cannot be told
# from the second region (2B).
_KINGS_FROM_CLINICAL = {
    KingsClinicalStage.STAGE_1: KingsStage.STAGE_1,
    KingsClinicalStage.STAGE_2A: KingsStage.STAGE_2,
    KingsClinicalStage.STAGE_2B: KingsStage.STAGE_2,
    KingsClinicalStage.STAGE_3: KingsStage.STAGE_3,
    KingsClinicalStage.STAGE_4A: KingsStage.STAGE_4A,
    KingsClinicalStage.STAGE_4B: KingsStage.STAGE_4B,
    KingsClinicalStage.STAGE_5: KingsStage.STAGE_5,
}
_STAGE_BY_REGIONS = (KingsStage.STAGE_1, KingsStage.STAGE_2, KingsStage.STAGE_3)
_CLINICAL_STAGE_BY_REGIONS = {2: KingsClinicalStage.STAGE_2B, 3: KingsClinicalStage.STAGE_3}


def _reasons(condition: Condition, facts: Facts) -> str:
    return ", ".join(explain(condition, facts).because)


def _unknown(condition: Condition, facts: Facts) -> bool:
    return holds(condition, facts) is None


def kings_from_alsfrs_r(facts: Facts, rules: KingsAlsfrsRRules) -> tuple[Result, str | None]:
    """King's stage of the latest rating by the Balendra rules: 4B, then 4A, then regions
    (0 -> 1); the stage is null, with what is missing, when an unrated item decides it."""
    rating = facts.state.rating
    assert rating is not None  # staging() calls this only with a rating
    niv, gastrostomy = holds(rules.niv, facts), holds(rules.gastrostomy, facts)
    involved = [region for region in rules.regions if holds(region.when, facts) is True]
    undecided = [region.id for region in rules.regions if _unknown(region.when, facts)]
    because = [
        f"{region.id.replace('_', ' ')} involved: {_reasons(region.when, facts)}"
        for region in involved
    ]
    result: Result = {
        "method": "alsfrs_r",
        "gastrostomy": gastrostomy,
        "niv": niv,
        "regions_involved": tuple(region.id for region in involved),
        "sources": rules.source_ids,
    }
    stage: KingsStage | None
    if niv is True:
        stage = KingsStage.STAGE_4B
        because.insert(0, f"ventilatory support (stage 4B): {_reasons(rules.niv, facts)}")
    elif niv is None or gastrostomy is None:
        stage = None
    elif gastrostomy:
        stage = KingsStage.STAGE_4A
        because.insert(0, f"gastrostomy (stage 4A): {_reasons(rules.gastrostomy, facts)}")
    elif undecided and len(involved) < len(_STAGE_BY_REGIONS):
        stage = None
    elif involved:
        stage = _STAGE_BY_REGIONS[len(involved) - 1]
    else:
        stage = rules.zero_regions_stage
        because.append(
            f"no region involved by the staging items: reported as stage {stage.value}, the "
            "convention for a rating with no region involved"
        )
    missing = None
    if stage is None:
        missing = f"the ALSFRS-R items of {rating.date} that decide the King's stage (not rated)"
        because.append("stage undecided: an item it depends on was not rated")
    result.update(stage=stage, because=(f"ALSFRS-R of {rating.date}", *because))
    return result, missing


def mitos_stage(facts: Facts, rules: MitosRules) -> tuple[Result, str | None]:
    """MiToS stage of the latest rating: how many functional domains are lost (null when an
    unrated item could change the count)."""
    rating = facts.state.rating
    assert rating is not None  # staging() calls this only with a rating
    lost: list[str] = []
    because: list[str] = [f"ALSFRS-R of {rating.date}"]
    undecided = False
    for domain in rules.domains:
        value = holds(domain.when, facts)
        undecided = undecided or value is None
        if value is True:
            lost.append(domain.id)
            because.append(f"{domain.id} lost: {_reasons(domain.when, facts)}")
    if not lost:
        because.append("no functional domain lost")
    if undecided:
        because.append("stage undecided: an item it depends on was not rated")
        missing = f"the ALSFRS-R items of {rating.date} that decide the MiToS stage (not rated)"
        return {
            "stage": None,
            "domains_lost": tuple(lost),
            "because": tuple(because),
            "sources": rules.source_ids,
        }, missing
    return {
        "stage": len(lost),
        "domains_lost": tuple(lost),
        "because": tuple(because),
        "sources": rules.source_ids,
    }, None


def kings_clinical_stage(
    facts: Facts, rules: KingsClinicalRules
) -> tuple[Result | None, str | None]:
    """King's clinical stage from the milestones, or None and what is missing."""
    ventilation, gastrostomy = (
        holds(rules.ventilation_need, facts),
        holds(rules.gastrostomy_need, facts),
    )
    if ventilation is None or gastrostomy is None:
        return None, "interventions (NIV, gastrostomy) for the King's clinical stage"
    involved = [region for region in rules.regions if holds(region.when, facts) is True]
    because = [
        f"{region.id.replace('_', ' ')} involved: {'; '.join(explain(region.when, facts).because)}"
        for region in involved
    ]
    state = facts.state
    if state.onset:  # the first milestone (stage 1), and the start of every later one
        because.append(f"symptom onset on {state.onset}")
    if state.diagnosis_date:
        because.append(f"diagnosed on {state.diagnosis_date}")
    stage = _milestone(len(involved), facts, ventilation, gastrostomy)
    if stage is None:
        return None, "regions involved or symptom onset (for the King's clinical stage)"
    if ventilation:
        because.insert(
            0, f"need for ventilation (stage 4B): {_reasons(rules.ventilation_need, facts)}"
        )
    elif gastrostomy:
        because.insert(
            0, f"need for gastrostomy (stage 4A): {_reasons(rules.gastrostomy_need, facts)}"
        )
    sources = tuple(dict.fromkeys((*rules.source_ids, *rules.involvement.source_ids)))
    return {
        "stage": stage,
        "regions_involved": tuple(region.id for region in involved),
        "because": tuple(because),
        "sources": sources,
        "verified": rules.verified and rules.involvement.verified,
    }, None


def _milestone(
    regions: int, facts: Facts, ventilation: bool, gastrostomy: bool
) -> KingsClinicalStage | None:
    """The highest milestone reached: 4B, 4A, third region, second region, diagnosis, onset."""
    if ventilation:
        return KingsClinicalStage.STAGE_4B
    if gastrostomy:
        return KingsClinicalStage.STAGE_4A
    if regions >= 2:
        return _CLINICAL_STAGE_BY_REGIONS[min(regions, 3)]
    if facts.state.diagnosis_date:
        return KingsClinicalStage.STAGE_2A
    if regions == 1 or facts.state.onset:
        return KingsClinicalStage.STAGE_1
    return None


def staging(facts: Facts) -> Result:
    """King's and MiToS stages on the assessment date (wire data)."""
    params = facts.kb.scoring
    if facts.state.death_date is not None:
        return _after_death(facts)
    clinical, clinical_missing = kings_clinical_stage(facts, params.kings_clinical)
    missing = [clinical_missing] if clinical_missing else []
    if facts.state.rating is not None:
        by_rating, kings_missing = kings_from_alsfrs_r(facts, params.kings_alsfrs_r)
        mitos, mitos_missing = mitos_stage(facts, params.mitos)
        missing += [item for item in (kings_missing, mitos_missing) if item]
        return {"kings": by_rating, "kings_clinical": clinical, "mitos": mitos, "missing": missing}
    missing.insert(0, "ALSFRS-R rating (for the King's stage by ALSFRS-R and MiToS)")
    kings: Result = {}
    if clinical is not None:
        kings = {
            "stage": _KINGS_FROM_CLINICAL[clinical["stage"]],
            "method": "clinical",
            "regions_involved": clinical["regions_involved"],
            "because": clinical["because"],
            "sources": clinical["sources"],
            "verified": clinical["verified"],
        }
    return {"kings": kings, "kings_clinical": clinical, "missing": missing}


def _after_death(facts: Facts) -> Result:
    """Stage 5 of both scales from the date of death."""
    died = facts.state.death_date
    kings_sources = facts.kb.scoring.kings_clinical.source_ids
    because = (f"died on {died}: stage 5 from the date of death",)
    mitos_sources = facts.kb.scoring.mitos.source_ids
    return {
        "kings": {
            "stage": KingsStage.STAGE_5,
            "method": "clinical",
            "because": because,
            "sources": kings_sources,
        },
        "kings_clinical": {
            "stage": KingsClinicalStage.STAGE_5,
            "because": because,
            "sources": kings_sources,
        },
        "mitos": {"stage": 5, "because": because, "sources": mitos_sources},
        "missing": [],
    }
