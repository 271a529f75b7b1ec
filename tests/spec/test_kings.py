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
from typing import Any

import pytest

from alscare import assess
from tests.builders import make_record, make_record_v2, rating

AS_OF = dt.date(2025, 3, 1)


def _staging(kb, **fields):
    return assess(make_record(**fields), as_of=AS_OF, kb=kb).staging


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


def test_kings_lower_limb_alone_is_stage_1(kb):
    assert _kings(kb, walking=1).stage == "1"


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


NONE: dict[str, Any] = {"interventions": {}}
CLINICAL_CASES: dict[str, dict[str, Any]] = {
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


# An undated v1 intervention is dated on the record's latest date (here the onset, 2024-01-01).
@pytest.mark.parametrize(
    ("interventions", "stage", "reason"),
    [
        ({"gastrostomy": {"since": "2024-10-01"}}, "4A", "gastrostomy started on 2024-10-01"),
        ({"gastrostomy": {"declined": True}}, "4A", "gastrostomy declined on 2024-01-01"),
        ({"gastrostomy": {}}, "4A", "gastrostomy started on 2024-01-01"),
        ({"niv": {"since": "2024-10-01", "hours_per_day": 8}}, "4B", "NIV started on 2024-10-01"),
        ({"niv": {"declined": True}}, "4B", "NIV declined on 2024-01-01"),
        ({"tracheostomy": {}}, "4B", "tracheostomy started on 2024-01-01"),
        ({"niv": {"declined": True}, "gastrostomy": {"since": "2024-01-01"}}, "4B", "NIV declined"),
    ],
)
def test_kings_clinical_need_counts_when_provided_trialled_or_refused(
    kb, interventions, stage, reason
):
    result = _clinical(kb, symptom_onset={"date": "2024-01-01"}, interventions=interventions)
    assert result.stage == stage
    assert result.because[0].startswith("need for ")
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
        # Dated so that the atrophy recorded for the lumbosacral region is the latest statement:
        # undated v1 findings all get the record's latest date, and a same-day entry without a
        # region would replace the regional one (record v2 rule).
        findings=[
            {"id": "dysphagia", "present": True},
            {
                "id": "muscle_atrophy",
                "present": True,
                "region": "lumbosacral",
                "date": "2024-09-01",
            },
            {"id": "orthopnea", "present": True},
            {"id": "upper_extremity_weakness", "present": False},
            {"id": "muscle_atrophy", "present": True, "date": "2024-06-01"},
        ],
        interventions={},
    )
    assert result.regions_involved == ("bulbar", "lower_limb", "diaphragmatic")
    assert (
        "lower limb involved: Muscle atrophy (lumbosacral region) recorded present on 2024-09-01"
        in result.because
    )


def test_kings_clinical_mapping_marked_unverified(kb):
    assert kb.scoring.kings_clinical.involvement.verified is False
    assert kb.scoring.kings_clinical.verified is True


# --- record v2: unrated items, the course of an intervention, death ------------------------------


def _staging_v2(kb, **fields):
    return assess(make_record_v2(**fields), as_of=AS_OF, kb=kb).staging


def test_kings_unrated_item_that_decides_leaves_the_stage_null(kb):
    # Dyspnoea unrated and respiratory insufficiency normal: 4B can be neither ruled in nor out.
    rated = rating("2025-01-05", gastrostomy=False, dyspnea=None)
    result = _staging_v2(kb, alsfrs_r=[rated])
    assert result.kings.stage is None and result.kings.method == "alsfrs_r"
    assert any("decide the King's stage" in item for item in result.missing)


def test_kings_unrated_item_that_cannot_decide_keeps_the_stage(kb):
    # Respiratory insufficiency 3 gives 4B whatever dyspnoea is.
    rated = rating("2025-01-05", gastrostomy=False, dyspnea=None, respiratory_insufficiency=3)
    assert _staging_v2(kb, alsfrs_r=[rated]).kings.stage == "4B"


def _event(kind: str, event: str, date: str) -> dict[str, str]:
    return {"kind": kind, "event": event, "date": date}


@pytest.mark.parametrize(
    ("events", "stage"),
    [
        ([_event("niv", "offered", "2024-11-01")], "1"),  # offered only: no need yet
        ([_event("niv", "offered", "2024-11-01"), _event("niv", "declined", "2024-11-01")], "4B"),
        ([_event("niv", "started", "2024-06-01"), _event("niv", "stopped", "2024-09-01")], "4B"),
        ([_event("gastrostomy", "started", "2025-02-01")], "4A"),
        ([_event("gastrostomy", "started", "2025-04-01")], "1"),  # after as_of
        ([], "1"),
    ],
    ids=["offered", "declined", "started-then-stopped", "gastrostomy", "after-as-of", "none"],
)
def test_kings_clinical_need_follows_the_intervention_events(kb, events, stage):
    # roche2012_kings: the need counts once the intervention was provided, trialled or refused.
    result = _staging_v2(kb, symptom_onset={"date": "2024-01-01"}, interventions=events)
    assert result.kings_clinical.stage == stage


def test_kings_stage_5_from_the_date_of_death(kb):
    result = _staging_v2(
        kb,
        symptom_onset={"date": "2023-01-01"},
        alsfrs_r=[rating("2024-12-01", gastrostomy=True)],
        death={"date": "2025-02-10"},
    )
    assert (result.kings.stage, result.kings_clinical.stage) == ("5", "5")
    assert result.kings.because == ("died on 2025-02-10: stage 5 from the date of death",)


def test_kings_death_after_as_of_not_counted(kb):
    result = _staging_v2(
        kb, alsfrs_r=[rating("2024-12-01", gastrostomy=True)], death={"date": "2025-06-10"}
    )
    assert result.kings.stage == "4A"
