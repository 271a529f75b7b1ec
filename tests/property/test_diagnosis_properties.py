"""Properties of region involvement, the criteria and the differential (Hypothesis), over
records of both versions (a v2 record also holds an earlier examination and EMG study, which
the current ones replace region by region):

* adding a UMN or LMN sign (on examination or by EMG) never lowers a criterion: revised El
  Escorial, Awaji-Shima, or Gold Coast (not met < undecided < met);
* removing every red flag (red-flag findings, abnormal EMG/NCS findings, abnormal results,
  pathogenic variants in mimic genes, a non-progressive course) removes every suspected
  non-spectrum differential;
* spectrum phenotypes (PLS, PMA) are never suspected;
* an earlier examination of the regions examined again changes no region and no criterion;
* the order of the record's lists changes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from alscare import PatientRecord, load_knowledge
from alscare.schemas.vocabulary import AwajiCategory, ElEscorialCategory, LmnSign, UmnSign
from tests.builders import Diagnosis, diagnose, make_record, make_record_v2
from tests.property.strategies import (
    ABNORMAL_TESTS,
    EMG_FLAGS,
    NORMAL_TESTS,
    REGIONS,
    emg_region,
    exam_region,
)

# The knowledge base as a module constant, not the fixture: Hypothesis prints a failing
# example's arguments, and the knowledge base's repr would fill the report.
KB = load_knowledge()
SIGNS = [sign.value for sign in (*LmnSign, *UmnSign)]
EEC_RANK = {
    ElEscorialCategory.NOT_MET: 0,
    ElEscorialCategory.POSSIBLE: 1,
    ElEscorialCategory.PROBABLE_LABORATORY_SUPPORTED: 2,
    ElEscorialCategory.PROBABLE: 3,
    ElEscorialCategory.DEFINITE: 4,
}
AWAJI_RANK = {
    AwajiCategory.NOT_MET: 0,
    AwajiCategory.POSSIBLE: 1,
    AwajiCategory.PROBABLE: 2,
    AwajiCategory.DEFINITE: 3,
}
GOLD_COAST_RANK = {False: 0, None: 1, True: 2}
RED_FLAG_FINDINGS = [str(item.id) for item in KB.topic.findings_of_kind("red_flag")]
OTHER_FINDINGS = ["fasciculations", "head_drop", "difficulty_rising_climbing", "weight_loss"]
DATE = "2025-01-10"
EARLIER = "2024-01-10"
NORMAL_RESULTS = [{**test, "date": DATE} for test in NORMAL_TESTS]
ABNORMAL_RESULTS = [{**test, "date": DATE} for test in ABNORMAL_TESTS]
MIMIC_GENES = ["SMN1", "SPAST", "HEXA"]
# A region examined or not (None), as a record's examination holds it.
maybe_examined = st.one_of(st.none(), exam_region)


def _birth_date(age: int) -> str:
    """The birth date of someone ``age`` years old on the work-up date."""
    return str(dt.date(2025 - age, 1, 10))


@st.composite
def records(draw: st.DrawFn, *, red_flags: bool = True) -> dict[str, Any]:
    """A record as v1 JSON-shaped fields, red flags included unless told otherwise."""
    record: dict[str, Any] = {
        "progressive": draw(st.sampled_from([True, None, False] if red_flags else [True, None])),
        "sex": draw(st.sampled_from(["female", "male"])),
        # A birth date, not an age: record v1 refuses an age in a record without any date.
        "birth_date": _birth_date(draw(st.integers(20, 85))),
        "diagnosis_date": draw(st.sampled_from([None, "2024-06-01"])),
        "symptom_onset": {"site": draw(st.sampled_from(["bulbar", "cervical", "lumbosacral"]))},
        "exam": draw(st.fixed_dictionaries(dict.fromkeys(REGIONS, maybe_examined))),
    }
    complete_workup = draw(st.booleans())  # so that Gold Coast can be met
    if complete_workup or draw(st.booleans()):
        record["emg"] = {"date": DATE, "regions": draw(_emg_regions), **draw(_flags(red_flags))}
    findings = OTHER_FINDINGS + (RED_FLAG_FINDINGS if red_flags else [])
    chosen = draw(st.lists(st.sampled_from(findings), unique=True, max_size=5))
    record["findings"] = [{"id": f, "present": draw(st.booleans())} for f in chosen]
    pool = NORMAL_RESULTS + (ABNORMAL_RESULTS if red_flags else [])
    workup = NORMAL_RESULTS[:5] if complete_workup else []
    record["tests"] = workup + draw(st.lists(st.sampled_from(pool), max_size=4))
    genes = ["C9orf72", "SOD1", *(MIMIC_GENES if red_flags else [])]
    record["genetics"] = [
        {"gene": gene, "result": draw(st.sampled_from(["negative", "pathogenic"]))}
        for gene in draw(st.lists(st.sampled_from(genes), unique=True, max_size=2))
    ]
    record["risk_factors"] = draw(st.lists(st.sampled_from(["lead_exposure"]), max_size=1))
    return record


_emg_regions = st.dictionaries(st.sampled_from(REGIONS), emg_region)


def _flags(red_flags: bool) -> st.SearchStrategy[dict[str, bool | None]]:
    values = [None, False, True] if red_flags else [None, False]
    return st.fixed_dictionaries({flag: st.sampled_from(values) for flag in EMG_FLAGS})


@st.composite
def earlier_parts(draw: st.DrawFn, *, red_flags: bool = True) -> dict[str, Any] | None:
    """None (a v1 record), or the earlier examination and EMG study of a v2 record."""
    if draw(st.booleans()):
        return None
    examined = draw(st.fixed_dictionaries(dict.fromkeys(REGIONS, maybe_examined)))
    examined["bulbar"] = examined["bulbar"] or {}  # an examination examines some region
    study = {"date": EARLIER, "regions": draw(_emg_regions), **draw(_flags(red_flags))}
    return {"examination": {"date": EARLIER, "regions": examined}, "study": study}


def _record(fields: dict[str, Any], earlier: dict[str, Any] | None) -> PatientRecord:
    """The record v1 of the fields, or with earlier parts the record v2 that holds them too:
    the examination, EMG study, findings and tests of the fields dated on the work-up date."""
    if earlier is None:
        return make_record(**fields)
    data = {key: value for key, value in fields.items() if key not in ("exam", "emg")}
    examined = any(signs is not None for signs in fields["exam"].values())
    current = [{"date": DATE, "regions": fields["exam"]}] if examined else []
    data["examinations"] = [earlier["examination"], *current]
    earlier_studies = [earlier["study"]] if "study" in earlier else []
    data["emg_studies"] = [*earlier_studies, *([fields["emg"]] if "emg" in fields else [])]
    data["findings"] = [{**finding, "date": DATE} for finding in fields["findings"]]
    return make_record_v2(**data)


def _diagnosis(fields: dict[str, Any], earlier: dict[str, Any] | None) -> Diagnosis:
    return diagnose(_record(fields, earlier), KB)


def _without_red_flags(record: dict[str, Any]) -> dict[str, Any]:
    clean = dict(record)
    if clean["progressive"] is False:
        clean["progressive"] = None
    clean["findings"] = [f for f in record["findings"] if f["id"] not in RED_FLAG_FINDINGS]
    clean["tests"] = [t for t in record["tests"] if t not in ABNORMAL_RESULTS]
    clean["genetics"] = [g for g in record["genetics"] if g["gene"] not in MIMIC_GENES]
    if "emg" in record:
        clean["emg"] = _normal_flags(record["emg"])
    return clean


def _normal_flags(study: dict[str, Any]) -> dict[str, Any]:
    """The study with every EMG/NCS finding it recorded as normal."""
    return {**study, **{flag: None if study[flag] is None else False for flag in EMG_FLAGS}}


def _earlier_without_red_flags(earlier: dict[str, Any] | None) -> dict[str, Any] | None:
    if earlier is None:
        return None
    return {**earlier, "study": _normal_flags(earlier["study"])}


def _ranks(found: Diagnosis) -> tuple[int, int, int]:
    criteria = found.criteria
    el_escorial, awaji = criteria.el_escorial.category, criteria.awaji.category
    assert el_escorial is not None and awaji is not None  # some region is examined
    return EEC_RANK[el_escorial], AWAJI_RANK[awaji], GOLD_COAST_RANK[criteria.gold_coast.met]


# A sign to add: one examination sign, or clinical LMN signs as a whole (weakness with wasting).
added_signs = st.one_of(
    st.sampled_from(SIGNS).map(lambda sign: {sign: True}),
    st.just({"weakness": True, "wasting": True}),
)


def _check_adding_signs(
    record: dict[str, Any],
    earlier: dict[str, Any] | None,
    region: str,
    signs: dict[str, bool],
    emg: bool,
) -> None:
    record["exam"][region] = record["exam"][region] or {}  # the region is examined now
    before = _diagnosis(record, earlier)
    more = {**record, "exam": {**record["exam"], region: {**record["exam"][region], **signs}}}
    if emg:
        positive = {"chronic_neurogenic": True, "active_denervation": True, "muscles": 2}
        study = more.get("emg") or {"date": DATE, "regions": {}}
        more["emg"] = {**study, "regions": {**study["regions"], region: positive}}
    after = _diagnosis(more, earlier)
    assert all(a >= b for a, b in zip(_ranks(after), _ranks(before), strict=True))


@settings(max_examples=200)
@given(
    record=records(),
    earlier=earlier_parts(),
    region=st.sampled_from(REGIONS),
    signs=added_signs,
    emg=st.booleans(),
)
def test_property_adding_a_sign_never_lowers_a_criterion(record, earlier, region, signs, emg):
    _check_adding_signs(record, earlier, region, signs, emg)


@settings(max_examples=200)
@given(
    record=records(red_flags=False),
    earlier=earlier_parts(red_flags=False),
    region=st.sampled_from(REGIONS),
    signs=added_signs,
    emg=st.booleans(),
)
def test_property_adding_a_sign_never_lowers_a_criterion_without_red_flags(
    record, earlier, region, signs, emg
):
    _check_adding_signs(record, earlier, region, signs, emg)


def _suspected_mimics(found: Diagnosis) -> list[str]:
    return [d.id for d in found.differentials if d.level == "suspected" and not d.spectrum]


@given(record=records(), earlier=earlier_parts())
def test_property_removing_red_flags_removes_suspected_mimics(record, earlier):
    clean = _diagnosis(_without_red_flags(record), _earlier_without_red_flags(earlier))
    assert _suspected_mimics(clean) == []


@given(record=records(red_flags=False), earlier=earlier_parts(red_flags=False))
def test_property_no_red_flags_no_suspected_mimic(record, earlier):
    assert _suspected_mimics(_diagnosis(record, earlier)) == []


@given(record=records(), earlier=earlier_parts())
def test_property_spectrum_never_suspected_and_order_holds(record, earlier):
    found = _diagnosis(record, earlier)
    assert not [d for d in found.differentials if d.spectrum and d.level == "suspected"]
    levels = [d.level.value for d in found.differentials]
    assert levels == sorted(levels, key=["suspected", "consider"].index)
    assert [item.id for item in found.investigations][0] == "clinical_diagnosis"


@given(record=records(), study=earlier_parts(), data=st.data())
def test_property_earlier_examination_of_regions_examined_again_changes_nothing(
    record, study, data
):
    # Record v2: each region's examination on as_of is the latest that examined it, so what an
    # earlier examination of the same regions found changes neither regions nor criteria.
    record["exam"]["cervical"] = record["exam"]["cervical"] or {}
    examined = [region for region, signs in record["exam"].items() if signs is not None]
    earlier = st.fixed_dictionaries(dict.fromkeys(examined, exam_region))
    first, second = (
        _diagnosis(record, {**(study or {}), "examination": {"date": EARLIER, "regions": found}})
        for found in (data.draw(earlier), data.draw(earlier))
    )
    assert first.criteria == second.criteria
    assert first.regions == second.regions


@given(record=records(), earlier=earlier_parts(), data=st.data())
def test_property_list_order_changes_nothing(record, earlier, data):
    shuffled = {
        **record,
        "findings": data.draw(st.permutations(record["findings"])),
        "tests": data.draw(st.permutations(record["tests"])),
        "genetics": data.draw(st.permutations(record["genetics"])),
    }
    assert _diagnosis(record, earlier) == _diagnosis(shuffled, earlier)
