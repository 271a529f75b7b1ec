"""Gold Coast, revised El Escorial and Awaji-Shima criteria, from the regions.

Gold Coast is met when (1) motor impairment is progressive, (2) one region shows UMN and LMN
signs together or LMN signs are in at least two regions, and (3) other diseases are excluded:
no mimic is suspected (the knowledge base's one definition) and the minimum work-up
(investigations whose ``workup`` counts for exclusion: EMG/NCS, B12, CK, thyroid, calcium) is
done. It is false when
a condition fails, null when none fails but one cannot be decided yet (``missing`` says what is
needed).

Revised El Escorial grades clinical signs; EMG counts only for "probable - laboratory-
supported", under its stricter denervation rule, which also needs neuroimaging done.
Awaji-Shima counts EMG LMN evidence equal to clinical signs. Both use the strict reading of
"probable": at least two regions that each show UMN and LMN signs. A criterion is null only
when no region was examined (UMN signs are clinical).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from alscare.engine.differentials import suspected_mimics
from alscare.engine.facts import Facts
from alscare.engine.logic import holds
from alscare.knowledge import KnowledgeBase
from alscare.knowledge.base import Cited
from alscare.knowledge.diagnosis import (
    AwajiRules,
    DefiniteRule,
    ElEscorialRules,
    GoldCoastRules,
    PossibleRule,
    ProbableRule,
)
from alscare.schemas.vocabulary import AwajiCategory, ElEscorialCategory, Region

__all__ = ["criteria"]

Regions = Mapping[Region, Mapping[str, Any]]
Result = dict[str, Any]


def unique(items: Iterable[str]) -> tuple[str, ...]:
    """The items once each, in first-seen order."""
    return tuple(dict.fromkeys(items))


class _Part(NamedTuple):
    """One condition of a criterion: whether it holds (None = cannot tell) and why."""

    holds: bool | None
    because: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()


class _Grade(NamedTuple):
    category: str
    reason: str
    sources: tuple[str, ...]


def criteria(
    facts: Facts, regions: Regions, differentials: Iterable[Mapping[str, Any]]
) -> dict[str, Result]:
    """Each criterion with its category, reasons, sources and what is missing (wire data)."""
    kb = facts.kb
    exclusion = _exclusion(facts, differentials, kb)
    return {
        "gold_coast": _gold_coast(facts, regions, exclusion, kb.diagnosis.criteria.gold_coast),
        "el_escorial": _el_escorial(facts, regions, exclusion, kb),
        "awaji": _awaji(facts, regions, kb),
    }


# --- shared parts ----------------------------------------------------------------------------


def _progression(facts: Facts, cited: Cited) -> _Part:
    fact = facts("patient.progressive")
    missing = () if fact.value is not None else ("whether motor impairment is progressive",)
    holds = fact.value if isinstance(fact.value, bool) else None
    return _Part(holds, (fact.because,), missing, cited.source_ids)


def _exclusion(
    facts: Facts, differentials: Iterable[Mapping[str, Any]], kb: KnowledgeBase
) -> _Part:
    """Other diseases excluded: no suspected mimic, and the minimum work-up done."""
    cited = kb.diagnosis.criteria.gold_coast.exclusion
    because: list[str] = []
    missing: list[str] = []
    sources = [*cited.source_ids, *kb.rules.mimic.source_ids]
    suspected = suspected_mimics(differentials, kb)
    for found in suspected:
        label = kb.diagnosis.differential(found["id"]).label
        because.append(f"suspected mimic: {label} ({'; '.join(found['because'])})")
        open_tests = [
            kb.diagnosis.investigation(test).label
            for test in found["tests"]
            if facts.values[f"test.{test}.status"] != "done"
        ]
        if open_tests:
            missing.append(f"tests that settle suspected {label}: {', '.join(open_tests)}")
        sources += found["sources"]
    if not suspected:
        because.append("no mimic suspected")
    done: list[str] = []
    for investigation in kb.diagnosis.investigations:
        workup = investigation.workup
        if workup is None or not workup.counts_for_exclusion:
            continue
        if workup.unless is not None and holds(workup.unless, facts) is True:
            continue
        sources += workup.source_ids
        if facts.values[f"test.{investigation.id}.status"] == "done":
            done.append(investigation.label)
        else:
            missing.append(f"{investigation.label} (minimum work-up to exclude other diseases)")
    if done:
        because.append(f"minimum work-up done: {', '.join(done)}")
    excluded = False if suspected else (None if missing else True)
    return _Part(excluded, tuple(because), tuple(missing), unique(sources))


def _names(regions: Iterable[Region]) -> str:
    names = [region.value for region in regions]
    return ", ".join(names) if names else "no region"


def _ordered(regions: Regions, wanted: set[Region]) -> list[Region]:
    return [region for region in regions if region in wanted]


def _region_missing(regions: Regions) -> tuple[str, ...]:
    return unique(item for status in regions.values() for item in status["missing"])


# --- Gold Coast ------------------------------------------------------------------------------


def _gold_coast(facts: Facts, regions: Regions, exclusion: _Part, rules: GoldCoastRules) -> Result:
    parts = {
        "progression": _progression(facts, rules.progression),
        "regions": _gold_coast_regions(regions, rules),
        "exclusion": exclusion,
    }
    outcomes = [part.holds for part in parts.values()]
    met = False if False in outcomes else (None if None in outcomes else True)
    because = [f"{name}: {reason}" for name, part in parts.items() for reason in part.because]
    missing = [] if met else [item for part in parts.values() for item in part.missing]
    sources = [*rules.source_ids, *(s for part in parts.values() for s in part.sources)]
    verified = rules.verified and rules.exclusion.verified and rules.progression.verified
    return {
        "met": met,
        "because": tuple(because),
        "missing": unique(missing),
        "sources": unique(sources),
        "verified": verified,
    }


def _gold_coast_regions(regions: Regions, rules: GoldCoastRules) -> _Part:
    """UMN and LMN signs in the same region, or LMN signs in ``lmn_regions_min`` regions.

    UMN signs in one region with LMN signs in another single region meet neither limb.
    """
    assessed = [r for r, s in regions.items() if s["umn"] is not None or s["lmn"] is not None]
    if not assessed:
        return _Part(
            None,
            ("no region examined or studied by EMG",),
            ("examination of each region for UMN and LMN signs",),
        )
    both = [r for r, s in regions.items() if s["umn"] and s["lmn"]]
    lmn = [r for r, s in regions.items() if s["lmn"]]
    umn = [r for r, s in regions.items() if s["umn"]]
    if both:
        return _Part(True, (f"UMN and LMN signs in the same region ({_names(both)})",))
    if len(lmn) >= rules.lmn_regions_min:
        return _Part(True, (f"LMN signs in {len(lmn)} regions ({_names(lmn)})",))
    return _Part(
        False,
        (
            f"UMN signs in {_names(umn)}; LMN signs in {_names(lmn)}: no region shows both, and "
            f"LMN signs are in fewer than {rules.lmn_regions_min} regions",
        ),
        _region_missing(regions),
    )


# --- revised El Escorial and Awaji-Shima -------------------------------------------------------


def _grade(
    regions: Regions,
    umn: set[Region],
    lmn: set[Region],
    rules: ElEscorialRules | AwajiRules,
    spinal: set[Region],
) -> _Grade:
    """definite, probable, possible or not_met from where UMN and LMN signs are."""
    both = umn & lmn
    cranial_both = both - spinal
    spinal_both = both & spinal
    definite: DefiniteRule = rules.definite
    if (cranial_both and len(spinal_both) >= definite.spinal_with_bulbar_min) or len(
        spinal_both
    ) >= definite.spinal_alone_min:
        return _Grade(
            "definite",
            f"definite: UMN and LMN signs in {_names(_ordered(regions, both))}",
            definite.source_ids,
        )
    probable: ProbableRule = rules.probable
    # Strict reading: regions that EACH show both; some UMN signs rostral to LMN signs (always
    # so once two regions each show both, but stated as the criteria state it).
    if len(both) >= probable.regions_min and _rostral(regions, umn, lmn):
        return _Grade(
            "probable",
            f"probable: UMN and LMN signs in {len(both)} regions "
            f"({_names(_ordered(regions, both))}), with UMN signs rostral to LMN signs",
            probable.source_ids,
        )
    possible: PossibleRule = rules.possible
    reasons = []
    if both:
        together = _names(_ordered(regions, both))
        reasons.append(f"UMN and LMN signs together in one region ({together})")
    if len(umn) >= possible.umn_regions_min:
        reasons.append(f"UMN signs in {len(umn)} regions ({_names(_ordered(regions, umn))})")
    if _rostral(regions, lmn, umn):
        reasons.append("LMN signs rostral to UMN signs")
    if reasons:
        return _Grade("possible", "possible: " + "; ".join(reasons), possible.source_ids)
    return _Grade(
        "not_met",
        "not met: no region shows both UMN and LMN signs, UMN signs are in fewer than "
        f"{possible.umn_regions_min} regions, and no LMN signs lie rostral to UMN signs",
        possible.source_ids,
    )


def _rostral(regions: Regions, upper: set[Region], lower: set[Region]) -> bool:
    """Some region of ``upper`` lies rostral to some region of ``lower``."""
    order = list(regions)
    return any(order.index(a) < order.index(b) for a in upper for b in lower)


def _examined(regions: Regions) -> bool:
    return any(status["umn"] is not None for status in regions.values())


def _not_examined() -> tuple[tuple[str, ...], tuple[str, ...]]:
    return (
        ("no region examined: the criteria need clinical UMN signs",),
        ("examination of each region for UMN and LMN signs",),
    )


def _el_escorial(facts: Facts, regions: Regions, exclusion: _Part, kb: KnowledgeBase) -> Result:
    rules = kb.diagnosis.criteria.el_escorial
    sources = [*rules.source_ids, *kb.diagnosis.region_rules.emg_el_escorial.source_ids]
    if not _examined(regions):
        reasons, needed = _not_examined()
        return {"because": reasons, "missing": needed, "sources": unique(sources)}
    umn = {r for r, s in regions.items() if s["umn"]}
    lmn = {r for r, s in regions.items() if s["lmn_clinical"]}
    emg = {r for r, s in regions.items() if s["lmn_emg_el_escorial"]}
    progression = _progression(facts, rules.progression)
    because = [
        f"UMN signs: {_names(_ordered(regions, umn))}",
        f"clinical LMN signs: {_names(_ordered(regions, lmn))}",
        f"LMN signs by EMG (fibrillations or positive sharp waves with chronic neurogenic "
        f"change): {_names(_ordered(regions, emg))}",
        *progression.because,
    ]
    missing = list(progression.missing)
    sources += progression.sources
    if progression.holds is False:
        category = ElEscorialCategory.NOT_MET
        because.append("not met: the criteria require progressive spread")
    else:
        grade = _grade(regions, umn, lmn, rules, set(kb.diagnosis.criteria.spinal.regions))
        category, sources = ElEscorialCategory(grade.category), [*sources, *grade.sources]
        because.append(grade.reason)
        lab = rules.probable_laboratory_supported
        if grade.category in ("possible", "not_met") and umn and len(emg) >= lab.emg_regions_min:
            sources += lab.source_ids
            imaging = facts(f"test.{lab.imaging}.status")
            if exclusion.holds and imaging.value == "done":
                category = ElEscorialCategory.PROBABLE_LABORATORY_SUPPORTED
                because.append(
                    f"probable - laboratory-supported: UMN signs with LMN signs by EMG in "
                    f"{len(emg)} regions, other causes excluded ({imaging.because})"
                )
            else:
                because.append(
                    f"LMN signs by EMG in {len(emg)} regions: probable - laboratory-supported "
                    "once imaging and laboratory tests exclude other causes"
                )
                because.extend(f"exclusion: {reason}" for reason in exclusion.because)
                missing.extend(exclusion.missing)
                if imaging.value != "done":
                    label = kb.diagnosis.investigation(lab.imaging).label
                    missing.append(f"{label} (neuroimaging)")
    if category != ElEscorialCategory.DEFINITE:
        missing.extend(_region_missing(regions))
    familial, familial_because = _familial(facts, _ordered(regions, umn & lmn), rules)
    because.extend(familial_because)
    if familial:
        sources += rules.familial_laboratory_supported.source_ids
    return {
        "category": category,
        "familial_laboratory_supported": familial,
        "because": tuple(because),
        "missing": unique(missing),
        "sources": unique(sources),
        "verified": rules.verified and not _unverified_parts(rules),
    }


def _unverified_parts(rules: ElEscorialRules | AwajiRules) -> bool:
    parts: list[Cited] = [rules.progression, rules.definite, rules.probable, rules.possible]
    return not all(part.verified for part in parts)


def _familial(
    facts: Facts, both: list[Region], rules: ElEscorialRules
) -> tuple[bool | None, tuple[str, ...]]:
    """Clinically definite familial ALS - laboratory-supported: a causal variant (the one
    definition) in a panel gene."""
    rule = rules.familial_laboratory_supported
    if not both:
        return False, ()
    results = [facts(f"variant.{gene}") for gene in rule.genes]
    recorded = [fact for fact in results if fact.value is not None]
    pathogenic = [fact for fact in recorded if fact.value is True]
    if pathogenic:
        variants = "; ".join(fact.because for fact in pathogenic)
        return True, (
            f"familial ALS - laboratory-supported: UMN and LMN signs in {_names(both)} with "
            f"{variants}",
        )
    return (False if recorded else None), ()


def _awaji(facts: Facts, regions: Regions, kb: KnowledgeBase) -> Result:
    rules = kb.diagnosis.criteria.awaji
    sources = [*rules.source_ids, *kb.diagnosis.region_rules.emg_gold_coast_awaji.source_ids]
    if not _examined(regions):
        reasons, needed = _not_examined()
        return {"because": reasons, "missing": needed, "sources": unique(sources)}
    umn = {r for r, s in regions.items() if s["umn"]}
    lmn = {r for r, s in regions.items() if s["lmn"]}
    progression = _progression(facts, rules.progression)
    because = [
        f"UMN signs: {_names(_ordered(regions, umn))}",
        f"LMN signs, clinical or by EMG (fasciculation potentials counting): "
        f"{_names(_ordered(regions, lmn))}",
        *progression.because,
    ]
    missing = list(progression.missing)
    sources += progression.sources
    if progression.holds is False:
        category = AwajiCategory.NOT_MET
        because.append("not met: the criteria require progressive spread")
    else:
        grade = _grade(regions, umn, lmn, rules, set(kb.diagnosis.criteria.spinal.regions))
        category, sources = AwajiCategory(grade.category), [*sources, *grade.sources]
        because.append(grade.reason)
    if category != AwajiCategory.DEFINITE:
        missing.extend(_region_missing(regions))
    return {
        "category": category,
        "because": tuple(because),
        "missing": unique(missing),
        "sources": unique(sources),
        "verified": rules.verified and not _unverified_parts(rules),
    }
