"""King's staging: from ALSFRS-R (Balendra rules) and from clinical milestones (Roche).

balendra2014_kings_alsfrs, as implemented in van Eijk K() (vaneijk_encals_code): stage 4B when
dyspnoea (item 10) is 0 or respiratory insufficiency (item 12) is below 4, checked BEFORE 4A
(gastrostomy: item 5 rated as 5b); otherwise the number of regions involved (bulbar: items 1-3
below 4; upper limb: item 4 or 5a below 4; lower limb: item 8 below 4); zero regions -> 1.
Items 6, 7, 9, 11 are not used. roche2012_kings: 1 onset, 2A diagnosis, 2B second region,
3 third region, 4A need for gastrostomy, 4B need for NIV (provided, trialled or refused).
"""

from __future__ import annotations

import datetime as dt

import pytest

from alscare.engine.staging import kings_from_alsfrs_r, staging
from alscare.engine.timeline import cut_off
from tests.builders import make_record, rating

AS_OF = dt.date(2025, 3, 1)


def _staging(kb, **fields):
    return staging(cut_off(make_record(**fields), AS_OF), kb)


def _kings(kb, **items):
    gastrostomy = items.pop("gastrostomy", None)
    return _staging(kb, alsfrs_r=[rating(gastrostomy=gastrostomy, **items)]).kings


# (items changed from all-4 plus the gastrostomy flag, stage, regions); Balendra 2014 rules.
BALENDRA_CASES = [
    ("all normal: zero regions -> 1", {}, "1", ()),
    ("only items 6, 7, 9, 11 reduced -> 1", {"dressing_hygiene": 0, "turning_in_bed": 0,
     "climbing_stairs": 0, "orthopnea": 0}, "1", ()),
    ("speech 3", {"speech": 3}, "1", ("bulbar",)),
    ("salivation 3", {"salivation": 3}, "1", ("bulbar",)),
    ("swallowing 0", {"swallowing": 0}, "1", ("bulbar",)),
    ("handwriting 3", {"handwriting": 3}, "1", ("upper_limb",)),
    ("cutting food 5a 3", {"cutting_food": 3}, "1", ("upper_limb",)),
    ("walking 3", {"walking": 3}, "1", ("lower_limb",)),
    ("bulbar + upper", {"speech": 3, "handwriting": 2}, "2", ("bulbar", "upper_limb")),
    ("upper + lower", {"cutting_food": 1, "walking": 2}, "2", ("upper_limb", "lower_limb")),
    ("three regions", {"swallowing": 2, "handwriting": 3, "walking": 0}, "3",
     ("bulbar", "upper_limb", "lower_limb")),
    ("dyspnoea 1 is not 4B", {"dyspnea": 1}, "1", ()),
    ("dyspnoea 0 -> 4B", {"dyspnea": 0}, "4B", ()),
    ("intermittent NIV (item 12 = 3) -> 4B", {"respiratory_insufficiency": 3}, "4B", ()),
    ("invasive ventilation (item 12 = 0) -> 4B", {"respiratory_insufficiency": 0}, "4B", ()),
    ("gastrostomy (5b) -> 4A", {"gastrostomy": True}, "4A", ()),
    ("5b with three regions -> 4A", {"gastrostomy": True, "speech": 1, "handwriting": 1,
     "walking": 1}, "4A", ("bulbar", "upper_limb", "lower_limb")),
    ("4B before 4A", {"gastrostomy": True, "respiratory_insufficiency": 2}, "4B", ()),
    ("gastrostomy false is 5a", {"gastrostomy": False, "walking": 3}, "1", ("lower_limb",)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("items", "stage", "regions"),
    [case[1:] for case in BALENDRA_CASES],
    ids=[case[0] for case in BALENDRA_CASES],
)
def test_kings_from_alsfrs_r_balendra_rules(kb, items, stage, regions):
    result = _kings(kb, **dict(items))
    assert result.stage == stage
    assert result.regions_involved == regions
    assert result.method == "alsfrs_r"
    assert "balendra2014_kings_alsfrs" in result.sources


def test_kings_4b_precedence_keeps_both_flags(kb):
    result = _kings(kb, gastrostomy=True, dyspnea=0)
    assert (result.stage, result.gastrostomy, result.niv) == ("4B", True, True)
    assert result.because[1].startswith("ventilatory support (stage 4B)")


def test_kings_5b_item_does_not_count_as_upper_limb(kb):
    """Balendra uses 5a for the upper limb; a 5b score says nothing about cutting food."""
    result = _kings(kb, gastrostomy=True, cutting_food=0)
    assert (result.stage, result.regions_involved) == ("4A", ())


def test_kings_zero_regions_is_stage_1_with_a_note(kb):
    result = _kings(kb, climbing_stairs=1)
    assert result.stage == "1" and result.regions_involved == ()
    assert any("no region involved" in reason for reason in result.because)


def test_kings_uses_latest_rating(kb):
    ratings = [rating("2025-01-01", walking=2, speech=2), rating("2024-01-01")]
    result = _staging(kb, alsfrs_r=ratings).kings
    assert result.stage == "2" and result.because[0] == "ALSFRS-R of 2025-01-01"


def test_kings_function_direct(kb):
    entry = make_record(alsfrs_r=[rating(walking=1)]).alsfrs_r[0]
    assert kings_from_alsfrs_r(entry, kb.scoring.kings_alsfrs_r).stage == "1"


def test_kings_method_alsfrs_r_whenever_a_rating_exists(kb):
    result = _staging(
        kb,
        alsfrs_r=[rating()],
        symptom_onset={"date": "2024-01-01", "site": "bulbar"},
        diagnosis_date="2024-06-01",
        exam={"cervical": {"weakness": True}, "lumbosacral": {"wasting": True}},
        interventions={"niv": {"since": "2024-12-01"}},
    )
    assert (result.kings.stage, result.kings.method) == ("1", "alsfrs_r")
    assert result.kings_clinical.stage == "4B"


@pytest.mark.parametrize(
    ("clinical", "kings"), [("1", "1"), ("2A", "2"), ("2B", "2"), ("3", "3"), ("4A", "4A")]
)
def test_kings_method_clinical_only_without_rating(kb, clinical, kings):
    fields = CLINICAL_CASES[clinical]
    result = _staging(kb, **fields)
    assert result.kings_clinical.stage == clinical
    assert (result.kings.stage, result.kings.method) == (kings, "clinical")
    assert result.kings.regions_involved == result.kings_clinical.regions_involved
    assert any("ALSFRS-R rating" in item for item in result.missing)


def test_kings_unknown_without_rating_or_milestones(kb):
    result = _staging(kb)
    assert result.kings.stage is None and result.kings.method is None
    assert result.kings_clinical is None and result.mitos is None
    assert len(result.missing) == 2


NONE = {"interventions": {}}
CLINICAL_CASES = {
    "1": {"symptom_onset": {"date": "2024-01-01", "site": "cervical"}, **NONE},
    "2A": {
        "symptom_onset": {"date": "2024-01-01", "site": "cervical"},
        "diagnosis_date": "2024-06-01",
        **NONE,
    },
    "2B": {
        "symptom_onset": {"date": "2024-01-01", "site": "cervical"},
        "exam": {"lumbosacral": {"spasticity": True}},
        **NONE,
    },
    "3": {
        "symptom_onset": {"date": "2024-01-01", "site": "bulbar"},
        "findings": [
            {"id": "upper_extremity_weakness", "present": True},
            {"id": "foot_drop", "present": True},
        ],
        **NONE,
    },
    "4A": {
        "symptom_onset": {"date": "2024-01-01", "site": "bulbar"},
        "interventions": {"gastrostomy": {"declined": True}},
    },
}


def _clinical(kb, **fields):
    return _staging(kb, **fields).kings_clinical


def test_kings_clinical_onset_only_is_stage_1(kb):
    assert _clinical(kb, symptom_onset={"date": "2024-01-01"}, interventions={}).stage == "1"


def test_kings_clinical_one_region_without_onset_date_is_stage_1(kb):
    result = _clinical(kb, exam={"bulbar": {"wasting": True}}, interventions={})
    assert (result.stage, result.regions_involved) == ("1", ("bulbar",))


def test_kings_clinical_diagnosis_is_2a(kb):
    assert _clinical(kb, diagnosis_date="2024-06-01", interventions={}).stage == "2A"


def test_kings_clinical_second_region_is_2b_with_or_without_diagnosis(kb):
    fields = {"exam": {"bulbar": {"weakness": True}, "cervical": {"wasting": True}}}
    assert _clinical(kb, interventions={}, **fields).stage == "2B"
    assert _clinical(kb, interventions={}, diagnosis_date="2024-06-01", **fields).stage == "2B"


def test_kings_clinical_four_regions_is_still_3(kb):
    result = _clinical(
        kb,
        symptom_onset={"site": "respiratory"},
        exam={
            "bulbar": {"weakness": True},
            "cervical": {"weakness": True},
            "lumbosacral": {"weakness": True},
        },
        interventions={},
    )
    assert result.stage == "3"
    assert result.regions_involved == ("bulbar", "upper_limb", "lower_limb", "diaphragmatic")


@pytest.mark.parametrize(
    ("interventions", "stage", "reason"),
    [
        ({"gastrostomy": {"since": "2024-10-01"}}, "4A", "gastrostomy since 2024-10-01"),
        ({"gastrostomy": {"declined": True}}, "4A", "gastrostomy offered and declined"),
        ({"gastrostomy": {}}, "4A", "gastrostomy in place"),
        ({"niv": {"since": "2024-10-01", "hours_per_day": 8}}, "4B", "niv since 2024-10-01"),
        ({"niv": {"declined": True}}, "4B", "niv offered and declined"),
        ({"tracheostomy": {}}, "4B", "tracheostomy in place"),
        ({"niv": {"declined": True}, "gastrostomy": {"since": "2024-01-01"}}, "4B", "niv"),
    ],
)
def test_kings_clinical_need_counts_when_provided_trialled_or_refused(
    kb, interventions, stage, reason
):
    result = _clinical(kb, symptom_onset={"date": "2024-01-01"}, interventions=interventions)
    assert result.stage == stage
    assert reason in result.because[0]
    assert "roche2012_kings" in result.sources


def test_kings_clinical_intervention_after_as_of_not_counted(kb):
    result = _clinical(
        kb, symptom_onset={"date": "2024-01-01"}, interventions={"niv": {"since": "2025-06-01"}}
    )
    assert result.stage == "1"


def test_kings_clinical_null_when_interventions_not_recorded(kb):
    result = _staging(kb, symptom_onset={"date": "2024-01-01"}, diagnosis_date="2024-05-01")
    assert result.kings_clinical is None
    assert any("interventions" in item for item in result.missing)


def test_kings_clinical_null_when_nothing_about_the_disease_is_recorded(kb):
    result = _staging(kb, interventions={}, exam={"bulbar": {}})
    assert result.kings_clinical is None
    assert any("regions involved or symptom onset" in item for item in result.missing)


def test_kings_clinical_involvement_is_functional_not_reflexes_or_fasciculations(kb):
    """Roche: weakness, wasting, spasticity, dysarthria or dysphagia involve a region."""
    result = _clinical(
        kb,
        exam={
            "cervical": {"hyperreflexia": True, "fasciculations": True},
            "lumbosacral": {"pathological_reflexes": True},
        },
        findings=[{"id": "hyperreflexia", "present": True, "region": "lumbosacral"}],
        interventions={},
    )
    assert result is None


def test_kings_clinical_thoracic_region_is_not_a_kings_region(kb):
    result = _clinical(kb, exam={"thoracic": {"weakness": True}}, interventions={})
    assert result is None


def test_kings_clinical_findings_map_to_regions(kb):
    result = _clinical(
        kb,
        findings=[
            {"id": "dysphagia", "present": True},
            {"id": "muscle_atrophy", "present": True, "region": "lumbosacral"},
            {"id": "orthopnea", "present": True},
            {"id": "upper_extremity_weakness", "present": False},
            {"id": "muscle_atrophy", "present": True},
        ],
        interventions={},
    )
    assert result.regions_involved == ("bulbar", "lower_limb", "diaphragmatic")
    assert "lower limb involved: muscle atrophy (lumbosacral)" in result.because


def test_kings_clinical_mapping_marked_unverified(kb):
    assert kb.scoring.kings_clinical.involvement.verified is False
    assert kb.scoring.kings_clinical.verified is True
