"""King's stage (from ALSFRS-R and from clinical milestones) and MiToS stage.

* ``kings``: from the latest ALSFRS-R rating by the Balendra rules whenever a rating exists
  (method ``alsfrs_r``); from the clinical milestones only when there is none (``clinical``,
  with 2A and 2B both reported as "2").
* ``kings_clinical``: the Roche milestones from the regions involved (exam, findings, onset
  site), the diagnosis date and the interventions (in place or declined = needed).
* ``mitos``: the number of functional domains lost on the latest rating (Chio).

Item conditions, regions and domains come from ``kb.scoring``; the order of the rules (4B
before 4A before the region count) is the algorithm and lives here.
"""

from __future__ import annotations

from alscare.engine.timeline import Timeline
from alscare.knowledge import KnowledgeBase
from alscare.knowledge.scoring import (
    ItemAtMost,
    KingsAlsfrsRRules,
    KingsClinicalInvolvement,
    KingsClinicalRegion,
    KingsClinicalRules,
    MitosRules,
)
from alscare.schemas.assessment import KingsClinicalResult, KingsResult, MitosResult, Staging
from alscare.schemas.patient import AlsfrsRating, Finding, Interventions, PatientRecord
from alscare.schemas.vocabulary import KingsClinicalStage, KingsStage

__all__ = [
    "kings_clinical_stage",
    "kings_from_alsfrs_r",
    "mitos_stage",
    "staging",
]

# King's clinical stages reported on the ALSFRS-R scale, where diagnosis (2A) cannot be told
# from the second region (2B).
_KINGS_FROM_CLINICAL = {
    KingsClinicalStage.STAGE_1: KingsStage.STAGE_1,
    KingsClinicalStage.STAGE_2A: KingsStage.STAGE_2,
    KingsClinicalStage.STAGE_2B: KingsStage.STAGE_2,
    KingsClinicalStage.STAGE_3: KingsStage.STAGE_3,
    KingsClinicalStage.STAGE_4A: KingsStage.STAGE_4A,
    KingsClinicalStage.STAGE_4B: KingsStage.STAGE_4B,
}
_STAGE_BY_REGIONS = (KingsStage.STAGE_1, KingsStage.STAGE_2, KingsStage.STAGE_3)
_CLINICAL_STAGE_BY_REGIONS = {2: KingsClinicalStage.STAGE_2B, 3: KingsClinicalStage.STAGE_3}


def _item_form(rating: AlsfrsRating) -> str:
    return "5b" if rating.uses_item_5b else "5a"


def _holds(condition: ItemAtMost, rating: AlsfrsRating) -> bool:
    if condition.item_5_form is not None and condition.item_5_form != _item_form(rating):
        return False
    return rating.items[condition.item] <= condition.at_most


def _describe(condition: ItemAtMost, rating: AlsfrsRating) -> str:
    name = condition.item.value.replace("_", " ")
    if condition.item_5_form is not None:
        name += f" ({condition.item_5_form})"
    return f"{name} {rating.items[condition.item]}"


def kings_from_alsfrs_r(rating: AlsfrsRating, rules: KingsAlsfrsRRules) -> KingsResult:
    """King's stage of one rating by the Balendra rules: 4B, then 4A, then regions (0 -> 1)."""
    niv_signs = [_describe(c, rating) for c in rules.niv_if_any if _holds(c, rating)]
    gastrostomy = _item_form(rating) == rules.gastrostomy_form
    regions: list[str] = []
    because: list[str] = []
    for region in rules.regions:
        signs = [_describe(c, rating) for c in region.involved_if_any if _holds(c, rating)]
        if signs:
            regions.append(region.id)
            because.append(f"{region.id.replace('_', ' ')} involved: {', '.join(signs)}")
    if niv_signs:
        stage = KingsStage.STAGE_4B
        because.insert(0, f"ventilatory support (stage 4B): {', '.join(niv_signs)}")
    elif gastrostomy:
        stage = KingsStage.STAGE_4A
        because.insert(0, f"gastrostomy (stage 4A): item 5 rated as {rules.gastrostomy_form}")
    elif regions:
        stage = _STAGE_BY_REGIONS[len(regions) - 1]
    else:
        stage = rules.zero_regions_stage
        because.append(
            f"no region involved by the staging items: reported as stage {stage.value}, the "
            "convention for a rating with no region involved"
        )
    return KingsResult(
        stage=stage,
        method="alsfrs_r",
        gastrostomy=gastrostomy,
        niv=bool(niv_signs),
        regions_involved=tuple(regions),
        because=(f"ALSFRS-R of {rating.date}", *because),
        sources=rules.source_ids,
    )


def mitos_stage(rating: AlsfrsRating, rules: MitosRules) -> MitosResult:
    """MiToS stage of one rating: how many functional domains are lost."""
    lost: list[str] = []
    because: list[str] = [f"ALSFRS-R of {rating.date}"]
    for domain in rules.domains:
        met = [_holds(c, rating) for c in domain.conditions]
        combine = any if domain.combine == "any" else all
        if combine(met):
            lost.append(domain.id)
            shown = [
                f"{_describe(c, rating)} (at most {c.at_most})"
                for c, holds in zip(domain.conditions, met, strict=True)
                if holds
            ]
            because.append(f"{domain.id} lost: {' and '.join(shown)}")
    if not lost:
        because.append("no functional domain lost")
    return MitosResult(
        stage=len(lost), domains_lost=tuple(lost), because=tuple(because), sources=rules.source_ids
    )


def _regions_involved(record: PatientRecord, rules: KingsClinicalRules) -> dict[str, list[str]]:
    """King's clinical regions involved, each with the record facts that show it."""
    mapping = rules.involvement
    involved: dict[str, list[str]] = {}
    for region in mapping.regions:
        facts: list[str] = []
        for exam_region in region.exam_regions:
            signs = record.exam.get(exam_region)
            shown = [s.value for s in mapping.exam_signs if signs and getattr(signs, s.value)]
            if shown:
                facts.append(f"{', '.join(shown)} on examination of the {exam_region} region")
        for finding in record.findings:
            if finding.present and _shows(finding, region, mapping):
                where = f" ({finding.region})" if finding.region else ""
                facts.append(f"{finding.id.value.replace('_', ' ')}{where}")
        onset = record.symptom_onset
        if onset and onset.site in region.onset_sites:
            facts.append(f"symptom onset in the {onset.site} region")
        if facts:
            involved[region.id] = facts
    return involved


def _shows(
    finding: Finding, region: KingsClinicalRegion, mapping: KingsClinicalInvolvement
) -> bool:
    """A finding that always means this region, or one placed in it by its recorded region."""
    if finding.id in region.findings:
        return True
    return finding.id in mapping.regional_findings and finding.region in region.exam_regions


def _needs(
    interventions: Interventions | None, names: tuple[str, ...]
) -> tuple[bool | None, list[str]]:
    """Whether one of the interventions is needed (in place, trialled or declined); None when
    the record says nothing about interventions."""
    if interventions is None:
        return None, []
    facts: list[str] = []
    for name in names:
        intervention = getattr(interventions, name)
        if intervention is None:
            continue
        if intervention.declined:
            facts.append(f"{name} offered and declined")
        elif intervention.since:
            facts.append(f"{name} since {intervention.since}")
        else:
            facts.append(f"{name} in place")
    return bool(facts), facts


def kings_clinical_stage(
    timeline: Timeline, rules: KingsClinicalRules
) -> tuple[KingsClinicalResult | None, tuple[str, ...]]:
    """King's clinical stage from the milestones, or None and what is missing."""
    record = timeline.record
    ventilation, ventilation_facts = _needs(record.interventions, rules.ventilation_need)
    gastrostomy, gastrostomy_facts = _needs(record.interventions, rules.gastrostomy_need)
    if ventilation is None or gastrostomy is None:
        return None, ("interventions (NIV, gastrostomy) for the King's clinical stage",)
    involved = _regions_involved(record, rules)
    because = [
        f"{region.replace('_', ' ')} involved: {'; '.join(facts)}"
        for region, facts in involved.items()
    ]
    if record.diagnosis_date:
        because.append(f"diagnosed on {record.diagnosis_date}")
    stage = _milestone(len(involved), record, ventilation, gastrostomy)
    if stage is None:
        return None, ("regions involved or symptom onset (for the King's clinical stage)",)
    if ventilation:
        because.insert(0, f"need for ventilation (stage 4B): {', '.join(ventilation_facts)}")
    elif gastrostomy:
        because.insert(0, f"need for gastrostomy (stage 4A): {', '.join(gastrostomy_facts)}")
    sources = (*rules.source_ids, *rules.involvement.source_ids)
    result = KingsClinicalResult(
        stage=stage,
        regions_involved=tuple(involved),
        because=tuple(because),
        sources=tuple(dict.fromkeys(sources)),
    )
    return result, ()


def _milestone(
    regions: int, record: PatientRecord, ventilation: bool, gastrostomy: bool
) -> KingsClinicalStage | None:
    """The highest milestone reached: 4B, 4A, third region, second region, diagnosis, onset."""
    if ventilation:
        return KingsClinicalStage.STAGE_4B
    if gastrostomy:
        return KingsClinicalStage.STAGE_4A
    if regions >= 2:
        return _CLINICAL_STAGE_BY_REGIONS[min(regions, 3)]
    if record.diagnosis_date:
        return KingsClinicalStage.STAGE_2A
    if regions == 1 or (record.symptom_onset and record.symptom_onset.date):
        return KingsClinicalStage.STAGE_1
    return None


def staging(timeline: Timeline, kb: KnowledgeBase) -> Staging:
    """King's and MiToS stages on ``timeline.as_of``."""
    params = kb.scoring
    clinical, missing = kings_clinical_stage(timeline, params.kings_clinical)
    ratings = timeline.record.alsfrs_r
    if ratings:
        latest = ratings[-1]
        return Staging(
            kings=kings_from_alsfrs_r(latest, params.kings_alsfrs_r),
            kings_clinical=clinical,
            mitos=mitos_stage(latest, params.mitos),
            missing=missing,
        )
    missing = ("ALSFRS-R rating (for the King's stage by ALSFRS-R and MiToS)", *missing)
    kings = KingsResult()
    if clinical is not None:
        kings = KingsResult(
            stage=_KINGS_FROM_CLINICAL[clinical.stage],
            method="clinical",
            regions_involved=clinical.regions_involved,
            because=clinical.because,
            sources=clinical.sources,
        )
    return Staging(kings=kings, kings_clinical=clinical, missing=missing)
