"""UMN and LMN involvement per body region, from the examination and needle EMG.

Only ``record.exam`` and ``record.emg`` count (findings never do). Clinical UMN and LMN signs
follow the Gold Coast footnote: any UMN sign of the knowledge base's list; LMN = every required
sign (weakness AND wasting), fasciculations on examination being supportive only. A region is
EMG-positive when enough muscles show chronic neurogenic change plus ongoing denervation, where
fasciculation potentials count as denervation under Gold Coast / Awaji-Shima but not under the
revised El Escorial criteria. ``lmn`` (the Gold Coast / Awaji reading) is true with clinical or
EMG evidence, unknown when the region was neither examined nor studied, false otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from alscare.engine.rules import RecordFacts, unique
from alscare.engine.timeline import Timeline
from alscare.knowledge import KnowledgeBase
from alscare.knowledge.diagnosis import EmgDenervationRule, RegionRules
from alscare.schemas.assessment import RegionStatus
from alscare.schemas.patient import EmgRegion, ExamRegion
from alscare.schemas.vocabulary import Region

__all__ = ["regions"]


def regions(timeline: Timeline, kb: KnowledgeBase) -> dict[Region, RegionStatus]:
    """Involvement of each of the four regions, rostral to caudal."""
    rules = kb.diagnosis.region_rules
    facts = RecordFacts(timeline, kb)
    return {
        region: _status(region, timeline, facts, rules) for region in rules.order.rostral_to_caudal
    }


@dataclass(frozen=True)
class _EmgReading:
    positive: bool | None
    because: str
    missing: str | None = None


def _status(
    region: Region, timeline: Timeline, facts: RecordFacts, rules: RegionRules
) -> RegionStatus:
    exam = timeline.record.exam.get(region)
    emg = timeline.record.emg
    emg_region = emg.regions.get(region) if emg else None
    because: list[str] = []
    missing: list[str] = []
    sources = [*rules.umn.source_ids, *rules.lmn_clinical.source_ids]

    umn, lmn_clinical = _clinical(region, exam, facts, rules, because)
    if exam is None:
        missing.append(f"examination of the {region.value} region")

    lmn_emg = lmn_emg_eec = None
    if emg_region is None:
        because.append(f"{region.value}: not studied by needle EMG")
    else:
        date = f" on {emg.date.isoformat()}" if emg and emg.date else ""
        required = rules.emg_muscles.muscles_required[region]
        main = _emg_reading(region, emg_region, required, rules.emg_gold_coast_awaji)
        strict = _emg_reading(region, emg_region, required, rules.emg_el_escorial)
        lmn_emg, lmn_emg_eec = main.positive, strict.positive
        because.append(f"{main.because} (needle EMG{date})")
        if main.positive and not strict.positive:
            because.append(
                f"{region.value}: denervation shown only by fasciculation potentials, which "
                "count under Awaji-Shima and Gold Coast but not under revised El Escorial"
            )
        if main.missing:
            missing.append(main.missing)
        sources += [
            *rules.emg_muscles.source_ids,
            *rules.emg_gold_coast_awaji.source_ids,
            *rules.emg_el_escorial.source_ids,
        ]

    lmn = _lmn(lmn_clinical, lmn_emg)
    return RegionStatus(
        umn=umn,
        lmn=lmn,
        lmn_source=_source(lmn_clinical, lmn_emg),
        lmn_clinical=lmn_clinical,
        lmn_emg=lmn_emg,
        lmn_emg_el_escorial=lmn_emg_eec,
        because=tuple(because),
        missing=tuple(missing),
        sources=unique(sources),
    )


def _clinical(
    region: Region,
    exam: ExamRegion | None,
    facts: RecordFacts,
    rules: RegionRules,
    because: list[str],
) -> tuple[bool | None, bool | None]:
    """Clinical UMN and LMN involvement; the reasons go into ``because``."""
    name = region.value
    if exam is None:
        because.append(f"{name}: not examined")
        return None, None
    signs = [sign for sign in rules.umn.signs if getattr(exam, sign) is True]
    for discount in rules.umn.discounted:
        explained = facts.finding(discount.unless_finding)
        if discount.sign in signs and explained.value is True:
            signs.remove(discount.sign)
            because.append(
                f"{name}: {_text(discount.sign)} not counted as a UMN sign: {explained.because}"
            )
    if signs:
        because.append(f"{name}: UMN signs ({', '.join(_text(s) for s in signs)})")
    else:
        because.append(f"{name}: no UMN signs on examination")

    required = rules.lmn_clinical.required
    lmn = all(getattr(exam, sign) is True for sign in required)
    wanted = " with ".join(_text(sign) for sign in required)
    if lmn:
        because.append(f"{name}: clinical LMN signs ({wanted})")
    else:
        because.append(f"{name}: no clinical LMN signs ({wanted} not both found)")
    supportive = [s for s in rules.lmn_clinical.supportive if getattr(exam, s) is True]
    if supportive:
        because.append(
            f"{name}: {', '.join(_text(s) for s in supportive)} on examination "
            "(supportive only, not counted as an LMN sign)"
        )
    return bool(signs), lmn


def _emg_reading(
    region: Region, found: EmgRegion, required: int, rule: EmgDenervationRule
) -> _EmgReading:
    """Whether the EMG of a region shows LMN involvement under one denervation rule."""
    name = region.value
    denervation = found.active_denervation is True or (
        rule.fasciculation_potentials_count and found.fasciculation_potentials is True
    )
    if not (found.chronic_neurogenic is True and denervation):
        return _EmgReading(
            False, f"{name}: EMG without chronic neurogenic change plus ongoing denervation"
        )
    kind = (
        "fibrillations or positive sharp waves"
        if found.active_denervation is True
        else "fasciculation potentials"
    )
    changes = f"chronic neurogenic change with {kind}"
    needed = f"{required} muscle{'s' if required > 1 else ''} needed"
    if found.muscles is None:
        if required <= 1:
            return _EmgReading(True, f"{name}: EMG LMN involvement: {changes}")
        return _EmgReading(
            None,
            f"{name}: EMG {changes}, number of muscles not recorded ({needed})",
            f"number of {name} muscles with EMG changes",
        )
    count = f"{found.muscles} muscle{'s' if found.muscles != 1 else ''}"
    if found.muscles >= required:
        return _EmgReading(True, f"{name}: EMG LMN involvement: {changes} in {count}")
    return _EmgReading(False, f"{name}: EMG {changes} in {count}, {needed}")


def _lmn(clinical: bool | None, emg: bool | None) -> bool | None:
    if clinical or emg:
        return True
    if clinical is None and emg is None:
        return None
    return False


def _source(clinical: bool | None, emg: bool | None) -> str | None:
    if clinical and emg:
        return "clinical+emg"
    if clinical:
        return "clinical"
    return "emg" if emg else None


def _text(identifier: str) -> str:
    return identifier.replace("_", " ")
