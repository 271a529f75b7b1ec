"""UMN and LMN involvement per body region, from the current examination and needle EMG, and
the course: when each region first showed UMN and LMN signs.

Only examinations and EMG studies count (findings never do). Clinical UMN and LMN signs follow
the Gold Coast footnote: any UMN sign of the knowledge base's list; LMN = every required sign
(weakness AND wasting), fasciculations on examination being supportive only. A region is
EMG-positive when enough muscles show chronic neurogenic change plus ongoing denervation, where
fasciculation potentials count as denervation under Gold Coast / Awaji-Shima but not under the
revised El Escorial criteria. ``lmn`` (the Gold Coast / Awaji reading) is true with clinical or
EMG evidence, unknown when the region was neither examined nor studied, false otherwise.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from alscare.engine.facts import Facts, on
from alscare.engine.state import RegionExam
from alscare.knowledge.diagnosis import EmgDenervationRule, RegionRules
from alscare.schemas.common import EmgRegion, ExamRegion
from alscare.schemas.vocabulary import Region

__all__ = ["course", "emg_positive", "lmn_clinical", "regions", "umn_signs"]


def regions(facts: Facts) -> dict[Region, dict[str, object]]:
    """Involvement of each of the four regions, rostral to caudal, as wire data."""
    rules = facts.kb.diagnosis.region_rules
    return {region: _status(region, facts, rules) for region in rules.order.rostral_to_caudal}


class _EmgReading(NamedTuple):
    positive: bool | None
    because: str
    missing: str | None = None


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _status(region: Region, facts: Facts, rules: RegionRules) -> dict[str, object]:
    exam = facts.state.exam.get(region)
    emg = facts.state.emg.get(region)
    because: list[str] = []
    missing: list[str] = []
    sources = [*rules.umn.source_ids, *rules.lmn_clinical.source_ids]

    umn, lmn_clinical = _clinical(region, exam, facts, rules, because)
    if exam is None:
        missing.append(f"examination of the {region.value} region")

    lmn_emg = lmn_emg_eec = None
    if emg is None:
        because.append(f"{region.value}: not studied by needle EMG")
    else:
        main = _emg_reading(region, emg.changes, rules, rules.emg_gold_coast_awaji)
        strict = _emg_reading(region, emg.changes, rules, rules.emg_el_escorial)
        lmn_emg, lmn_emg_eec = main.positive, strict.positive
        because.append(f"{main.because} (needle EMG{on(emg.date, emg.inferred)})")
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
    return {
        "umn": umn,
        "lmn": _either(lmn_clinical, lmn_emg),
        "lmn_source": _source(lmn_clinical, lmn_emg),
        "lmn_clinical": lmn_clinical,
        "lmn_emg": lmn_emg,
        "lmn_emg_el_escorial": lmn_emg_eec,
        "because": _unique(because),
        "missing": _unique(missing),
        "sources": _unique(sources),
        "verified": emg is None or _emg_rules_verified(rules),
    }


def _emg_rules_verified(rules: RegionRules) -> bool:
    return (
        rules.emg_muscles.verified
        and rules.emg_gold_coast_awaji.verified
        and rules.emg_el_escorial.verified
    )


def umn_signs(exam: ExamRegion, facts: Facts, rules: RegionRules) -> tuple[list[str], list[str]]:
    """The UMN signs of an examined region that count, and why any were set aside."""
    signs: list[str] = [sign.value for sign in rules.umn.signs if getattr(exam, sign) is True]
    set_aside: list[str] = []
    for discount in rules.umn.discounted:
        explained = facts(f"finding.{discount.unless_finding}")
        if discount.sign in signs and explained.value is True:
            signs.remove(discount.sign)
            set_aside.append(
                f"{_text(discount.sign)} not counted as a UMN sign: {explained.because}"
            )
    return signs, set_aside


def lmn_clinical(exam: ExamRegion, rules: RegionRules) -> bool:
    """Clinical LMN signs: every required sign (weakness and wasting) found."""
    return all(getattr(exam, sign) is True for sign in rules.lmn_clinical.required)


def _clinical(
    region: Region, exam: RegionExam | None, facts: Facts, rules: RegionRules, because: list[str]
) -> tuple[bool | None, bool | None]:
    """Clinical UMN and LMN involvement; the reasons go into ``because``."""
    name = region.value
    if exam is None:
        because.append(f"{name}: not examined")
        return None, None
    signs, set_aside = umn_signs(exam.signs, facts, rules)
    because.extend(f"{name}: {reason}" for reason in set_aside)
    when = f"examination{on(exam.date, exam.inferred)}"
    if signs:
        because.append(f"{name}: UMN signs ({', '.join(_text(s) for s in signs)}; {when})")
    else:
        because.append(f"{name}: no UMN signs on {when}")
    lmn = lmn_clinical(exam.signs, rules)
    wanted = " with ".join(_text(sign) for sign in rules.lmn_clinical.required)
    if lmn:
        because.append(f"{name}: clinical LMN signs ({wanted}; {when})")
    else:
        because.append(f"{name}: no clinical LMN signs ({wanted} not both found; {when})")
    supportive = [s for s in rules.lmn_clinical.supportive if getattr(exam.signs, s) is True]
    if supportive:
        because.append(
            f"{name}: {', '.join(_text(s) for s in supportive)} on examination "
            "(supportive only, not counted as an LMN sign)"
        )
    return bool(signs), lmn


def _emg_reading(
    region: Region, found: EmgRegion, rules: RegionRules, rule: EmgDenervationRule
) -> _EmgReading:
    """Whether the EMG of a region shows LMN involvement under one denervation rule."""
    name = region.value
    required = rules.emg_muscles.muscles_required[region]
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


def emg_positive(region: Region, changes: EmgRegion, rules: RegionRules) -> bool | None:
    """LMN involvement of a region by EMG (Gold Coast / Awaji reading)."""
    return _emg_reading(region, changes, rules, rules.emg_gold_coast_awaji).positive


def course(facts: Facts) -> dict[str, object]:
    """When each region first showed UMN and LMN signs, from every dated examination and EMG
    study on or before the assessment date."""
    rules = facts.kb.diagnosis.region_rules
    umn = _counted_umn_signs(facts, rules)
    lmn = rules.lmn_clinical.required
    first_umn: dict[Region, dt.date] = {}
    first_lmn: dict[Region, dt.date] = {}
    for examination in facts.state.examinations:  # date order: the first date found stays
        for region, signs in examination.regions.items():
            if signs is None:
                continue
            if region not in first_umn and any(getattr(signs, sign) is True for sign in umn):
                first_umn[region] = examination.date
            if region not in first_lmn and all(getattr(signs, sign) is True for sign in lmn):
                first_lmn[region] = examination.date
    for study in facts.state.emg_studies:
        for region, changes in study.regions.items():
            positive = changes is not None and emg_positive(region, changes, rules)
            if positive and (region not in first_lmn or study.date < first_lmn[region]):
                first_lmn[region] = study.date
    return {
        "regions": {
            region: {"first_umn": first_umn.get(region), "first_lmn": first_lmn.get(region)}
            for region in rules.order.rostral_to_caudal
        },
        "sources": _unique([*rules.umn.source_ids, *rules.lmn_clinical.source_ids]),
    }


def _counted_umn_signs(facts: Facts, rules: RegionRules) -> tuple[str, ...]:
    """The UMN signs that count for this patient (a sign a finding explains otherwise is set
    aside, as in :func:`umn_signs`)."""
    set_aside = {
        discount.sign
        for discount in rules.umn.discounted
        if facts.values[f"finding.{discount.unless_finding}"] is True
    }
    return tuple(sign for sign in rules.umn.signs if sign not in set_aside)


def _either(clinical: bool | None, emg: bool | None) -> bool | None:
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
