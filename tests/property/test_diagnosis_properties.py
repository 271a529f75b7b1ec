"""Properties of region involvement, the criteria and the differential (Hypothesis).

* adding a UMN or LMN sign (on examination or by EMG) never lowers a criterion: revised El
  Escorial, Awaji-Shima, or Gold Coast (not met < undecided < met);
* removing every red flag (red-flag findings, abnormal EMG/NCS findings, abnormal results,
  pathogenic variants in mimic genes, a non-progressive course) removes every suspected
  non-spectrum differential;
* spectrum phenotypes (PLS, PMA) are never suspected;
* the order of the record's lists changes nothing.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from alscare import load_knowledge
from alscare.schemas.vocabulary import AwajiCategory, ElEscorialCategory, LmnSign, Region, UmnSign
from tests.builders import diagnose, make_record

REGIONS = [region.value for region in Region]
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
RED_FLAG_FINDINGS = [str(item.id) for item in load_knowledge().topic.findings_of_kind("red_flag")]
OTHER_FINDINGS = ["fasciculations", "head_drop", "difficulty_rising_climbing", "weight_loss"]
EMG_FLAGS = [
    "motor_conduction_block",
    "sensory_conduction_abnormal",
    "myopathic_units",
    "rns_decrement",
    "post_exercise_increment",
]
DATE = "2025-01-10"
NORMAL_TESTS: list[dict[str, Any]] = [
    {"id": "vitamin_b12", "date": DATE, "value": 420, "unit": "pg/mL", "lower_limit": 200},
    {"id": "creatine_kinase", "date": DATE, "value": 300, "unit": "U/L"},
    {"id": "thyroid_function", "date": DATE, "result": "normal"},
    {"id": "calcium_pth", "date": DATE, "result": "normal"},
    {"id": "mri_brain_spine", "date": DATE, "result": "normal"},
    {"id": "anti_gm1_antibodies", "date": DATE, "result": "negative"},
    {"id": "hiv_test", "date": DATE, "result": "negative"},
    {"id": "copper", "date": DATE, "value": 15, "unit": "umol/L", "lower_limit": 11},
]
ABNORMAL_TESTS: list[dict[str, Any]] = [
    {"id": "vitamin_b12", "date": DATE, "value": 98, "unit": "pmol/L", "lower_limit": 145},
    {"id": "vitamin_b12", "date": DATE, "result": "abnormal"},
    {"id": "creatine_kinase", "date": DATE, "value": 1800, "unit": "IU/L"},
    {"id": "mri_brain_spine", "date": DATE, "result": "abnormal"},
    {"id": "anti_gm1_antibodies", "date": DATE, "result": "positive"},
    {"id": "achr_musk_antibodies", "date": DATE, "result": "positive"},
    {"id": "vgcc_antibodies", "date": DATE, "result": "positive"},
    {"id": "hiv_test", "date": DATE, "result": "positive"},
    {"id": "thyroid_function", "date": DATE, "result": "abnormal"},
    {"id": "calcium_pth", "date": DATE, "value": 3.0, "unit": "mmol/L", "upper_limit": 2.6},
    {"id": "copper", "date": DATE, "value": 4, "unit": "umol/L", "lower_limit": 11},
    {"id": "ar_cag_repeat", "date": DATE, "value": 45, "unit": "repeats"},
    {"id": "smn1_deletion", "date": DATE, "result": "positive"},
    {"id": "hexosaminidase_a", "date": DATE, "result": "abnormal"},
    {"id": "muscle_biopsy", "date": DATE, "result": "abnormal"},
    {"id": "htlv1_serology", "date": DATE, "result": "positive"},
    {"id": "serum_protein_electrophoresis", "date": DATE, "result": "abnormal"},
    {"id": "lumbar_puncture", "date": DATE, "result": "abnormal"},
]
MIMIC_GENES = ["SMN1", "SPAST", "HEXA"]

# Typical regions (not examined, nothing found, UMN only, LMN only, both) and random mixtures.
exam_region = st.one_of(
    st.sampled_from(
        [
            None,
            {},
            {"hyperreflexia": True},
            {"weakness": True, "wasting": True},
            {"spasticity": True, "weakness": True, "wasting": True, "fasciculations": True},
        ]
    ),
    st.lists(st.sampled_from(SIGNS), unique=True).map(lambda signs: dict.fromkeys(signs, True)),
)
emg_region = st.fixed_dictionaries(
    {
        "chronic_neurogenic": st.booleans(),
        "active_denervation": st.booleans(),
        "fasciculation_potentials": st.booleans(),
        "muscles": st.one_of(st.none(), st.integers(0, 4)),
    }
)


@st.composite
def records(draw: st.DrawFn, *, red_flags: bool = True) -> dict[str, Any]:
    """A record as JSON-shaped fields, red flags included unless told otherwise."""
    record: dict[str, Any] = {
        "progressive": draw(st.sampled_from([True, None, False] if red_flags else [True, None])),
        "sex": draw(st.sampled_from(["female", "male"])),
        "age_years": draw(st.integers(20, 85)),
        "diagnosis_date": draw(st.sampled_from([None, "2024-06-01"])),
        "symptom_onset": {"site": draw(st.sampled_from(["bulbar", "cervical", "lumbosacral"]))},
        "exam": draw(st.fixed_dictionaries(dict.fromkeys(REGIONS, exam_region))),
    }
    complete_workup = draw(st.booleans())  # so that Gold Coast can be met
    if complete_workup or draw(st.booleans()):
        flags = {
            flag: draw(st.sampled_from([None, False, True] if red_flags else [None, False]))
            for flag in EMG_FLAGS
        }
        regions = draw(st.dictionaries(st.sampled_from(REGIONS), emg_region))
        record["emg"] = {"date": DATE, "regions": regions, **flags}
    findings = OTHER_FINDINGS + (RED_FLAG_FINDINGS if red_flags else [])
    chosen = draw(st.lists(st.sampled_from(findings), unique=True, max_size=5))
    record["findings"] = [{"id": f, "present": draw(st.booleans())} for f in chosen]
    pool = NORMAL_TESTS + (ABNORMAL_TESTS if red_flags else [])
    workup = NORMAL_TESTS[:5] if complete_workup else []
    record["tests"] = workup + draw(st.lists(st.sampled_from(pool), max_size=4))
    genes = ["C9orf72", "SOD1", *(MIMIC_GENES if red_flags else [])]
    record["genetics"] = [
        {"gene": gene, "result": draw(st.sampled_from(["negative", "pathogenic"]))}
        for gene in draw(st.lists(st.sampled_from(genes), unique=True, max_size=2))
    ]
    record["risk_factors"] = draw(st.lists(st.sampled_from(["lead_exposure"]), max_size=1))
    return record


def _without_red_flags(record: dict[str, Any]) -> dict[str, Any]:
    clean = dict(record)
    if clean["progressive"] is False:
        clean["progressive"] = None
    clean["findings"] = [f for f in record["findings"] if f["id"] not in RED_FLAG_FINDINGS]
    clean["tests"] = [t for t in record["tests"] if t not in ABNORMAL_TESTS]
    clean["genetics"] = [g for g in record["genetics"] if g["gene"] not in MIMIC_GENES]
    if "emg" in record:
        flags = {flag: None if record["emg"][flag] is None else False for flag in EMG_FLAGS}
        clean["emg"] = {**record["emg"], **flags}
    return clean


def _ranks(found) -> tuple[int, int, int]:
    criteria = found.criteria
    return (
        EEC_RANK[criteria.el_escorial.category],
        AWAJI_RANK[criteria.awaji.category],
        GOLD_COAST_RANK[criteria.gold_coast.met],
    )


# A sign to add: one examination sign, or clinical LMN signs as a whole (weakness with wasting).
added_signs = st.one_of(
    st.sampled_from(SIGNS).map(lambda sign: {sign: True}),
    st.just({"weakness": True, "wasting": True}),
)


def _check_adding_signs(kb, record, region, signs, emg):
    record["exam"][region] = record["exam"][region] or {}  # the region is examined
    before = diagnose(make_record(**record), kb)
    more = {**record, "exam": {**record["exam"], region: {**record["exam"][region], **signs}}}
    if emg:
        positive = {"chronic_neurogenic": True, "active_denervation": True, "muscles": 2}
        study = more.get("emg") or {"date": DATE, "regions": {}}
        more["emg"] = {**study, "regions": {**study["regions"], region: positive}}
    after = diagnose(make_record(**more), kb)
    assert all(a >= b for a, b in zip(_ranks(after), _ranks(before), strict=True))


@settings(max_examples=200)
@given(record=records(), region=st.sampled_from(REGIONS), signs=added_signs, emg=st.booleans())
def test_property_adding_a_sign_never_lowers_a_criterion(kb, record, region, signs, emg):
    _check_adding_signs(kb, record, region, signs, emg)


@settings(max_examples=200)
@given(
    record=records(red_flags=False),
    region=st.sampled_from(REGIONS),
    signs=added_signs,
    emg=st.booleans(),
)
def test_property_adding_a_sign_never_lowers_a_criterion_without_red_flags(
    kb, record, region, signs, emg
):
    _check_adding_signs(kb, record, region, signs, emg)


@given(record=records())
def test_property_removing_red_flags_removes_suspected_mimics(kb, record):
    found = diagnose(make_record(**_without_red_flags(record)), kb)
    suspected = [d.id for d in found.differentials if d.level == "suspected" and not d.spectrum]
    assert suspected == []


@given(record=records(red_flags=False))
def test_property_no_red_flags_no_suspected_mimic(kb, record):
    found = diagnose(make_record(**record), kb)
    assert not [d for d in found.differentials if d.level == "suspected" and not d.spectrum]


@given(record=records())
def test_property_spectrum_never_suspected_and_order_holds(kb, record):
    found = diagnose(make_record(**record), kb)
    assert not [d for d in found.differentials if d.spectrum and d.level == "suspected"]
    levels = [d.level.value for d in found.differentials]
    assert levels == sorted(levels, key=["suspected", "consider"].index)
    assert [item.id for item in found.investigations][0] == "clinical_diagnosis"


@given(record=records(), data=st.data())
def test_property_list_order_changes_nothing(kb, record, data):
    shuffled = {
        **record,
        "findings": data.draw(st.permutations(record["findings"])),
        "tests": data.draw(st.permutations(record["tests"])),
        "genetics": data.draw(st.permutations(record["genetics"])),
    }
    first = diagnose(make_record(**record), kb)
    second = diagnose(make_record(**shuffled), kb)
    assert first == second
