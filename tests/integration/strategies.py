"""Hypothesis strategies for whole record v2 documents, every field of every part, for the
storage round trip; :data:`FULL_RECORD`, one record v2 with every field set;
:data:`FULL_RECORD_V1`, one record v1 with every field set (a client may still send v1); and
:data:`LONGITUDINAL`, a patient followed over several visits, for the pages.

Dates are drawn so that a record is possible and storable: birth before onset before diagnosis
before the rest, and everything before 2025-07-01 (a record may not be dated after the day it
is stored). Text includes any storable Unicode, numbers span each field's range.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

from alscare.schemas.common import TEST_UNITS, ExamRegion
from alscare.schemas.vocabulary import (
    AlsfrsItem,
    CareKind,
    FindingId,
    GeneticResult,
    InterventionEvent,
    InterventionKind,
    InvestigationId,
    Jurisdiction,
    LabId,
    OnsetSite,
    Position,
    Region,
    RespiratorySymptom,
    RiskFactorId,
    Sex,
    Side,
    StopReason,
    TestResult,
)

__all__ = ["FULL_RECORD", "FULL_RECORD_V1", "LONGITUDINAL", "rating", "records"]

BIRTH = st.dates(dt.date(1920, 1, 1), dt.date(1989, 12, 31))
ONSET = st.dates(dt.date(1990, 1, 1), dt.date(2004, 12, 31))
DIAGNOSIS = st.dates(dt.date(2005, 1, 1), dt.date(2009, 12, 31))
LATER = st.dates(dt.date(2010, 1, 1), dt.date(2024, 12, 31))
DEATH = st.dates(dt.date(2025, 1, 1), dt.date(2025, 6, 30))
TEXT = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=40
)
EXAM_SIGNS = tuple(ExamRegion.model_fields)


def rating(date: str = "2025-01-01", *, gastrostomy: bool = False, **items: int) -> dict[str, Any]:
    """An ALSFRS-R rating (record v2 JSON): every item 4 unless given."""
    scores = {item.value: 4 for item in AlsfrsItem}
    unknown = set(items) - set(scores)
    if unknown:
        raise ValueError(f"unknown ALSFRS-R items: {sorted(unknown)}")
    scores.update(items)
    return {"date": date, "items": scores, "gastrostomy": gastrostomy}


def _iso(strategy: st.SearchStrategy[dt.date]) -> st.SearchStrategy[str]:
    return strategy.map(dt.date.isoformat)


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


def _number(low: float, high: float, *, low_open: bool = False) -> st.SearchStrategy[float]:
    return st.floats(low, high, exclude_min=low_open, allow_nan=False, allow_infinity=False)


def _object(
    fields: dict[str, st.SearchStrategy[Any]],
    *,
    required: dict[str, st.SearchStrategy[Any]],
    flags: dict[str, st.SearchStrategy[Any]] | None = None,
) -> st.SearchStrategy[dict[str, Any]]:
    """A JSON object with the ``required`` fields and any subset of the others: ``fields`` may
    also be given as null, ``flags`` (alscare's upgrade marks) may not."""
    optional = {name: _maybe(strategy) for name, strategy in fields.items()}
    return st.fixed_dictionaries(required, optional={**optional, **(flags or {})})


def _ids(enum: type[Any]) -> st.SearchStrategy[str]:
    return st.sampled_from([member.value for member in enum])


BOOL = st.booleans()
DATED = {"date": _iso(LATER)}
INFERRED = {"date_inferred": BOOL}
EXAM_REGION = _object(dict.fromkeys(EXAM_SIGNS, BOOL), required={})
EMG_REGION = _object(
    {
        "chronic_neurogenic": BOOL,
        "active_denervation": BOOL,
        "fasciculation_potentials": BOOL,
        "muscles": st.integers(0, 100),
    },
    required={},
)
EXAMINATION = _object(
    {},
    flags=INFERRED,
    required={
        **DATED,
        # At least one region examined; others may be given as not examined (null).
        "regions": st.tuples(
            st.dictionaries(_ids(Region), EXAM_REGION, min_size=1, max_size=4),
            st.dictionaries(_ids(Region), st.none(), max_size=4),
        ).map(lambda parts: {**parts[1], **parts[0]}),
    },
)
EMG_STUDY = _object(
    {
        "regions": st.dictionaries(_ids(Region), _maybe(EMG_REGION), max_size=4),
        "motor_conduction_block": BOOL,
        "sensory_conduction_abnormal": BOOL,
        "myopathic_units": BOOL,
        "rns_decrement": BOOL,
        "post_exercise_increment": BOOL,
    },
    required=DATED,
    flags=INFERRED,
)
FINDING = _object(
    {"region": _ids(Region), "side": _ids(Side)},
    required={"id": _ids(FindingId), "present": BOOL, **DATED},
    flags=INFERRED,
)
GENE = st.from_regex(r"[A-Za-z0-9_.-]{1,32}", fullmatch=True)
GENETICS = _object(
    {"variant": TEXT, "date": _iso(LATER)}, required={"gene": GENE, "result": _ids(GeneticResult)}
)
RATING = _object(
    {},
    flags={"gastrostomy_assumed": BOOL},
    required={
        **DATED,
        # An item may be null or left out (not rated), but one at least is rated.
        "items": st.tuples(
            st.dictionaries(_ids(AlsfrsItem), st.integers(0, 4), min_size=1),
            st.dictionaries(_ids(AlsfrsItem), st.none()),
        ).map(lambda parts: {**parts[1], **parts[0]}),
        "gastrostomy": BOOL,
    },
)
RESPIRATORY = _object(
    {
        "fvc_percent_predicted": _number(0, 200),
        "fvc_litres": _number(0, 10),
        "position": _ids(Position),
        "supine_fvc_percent_predicted": _number(0, 200),
        "snip_cmh2o": _number(0, 250),
        "mip_cmh2o": _number(0, 250),
        "paco2_kpa": _number(0, 20, low_open=True),
        "paco2_mmhg": _number(0, 150, low_open=True),
        "spo2_percent": _number(0, 100),
        "nocturnal_spo2_below_90_percent_time": _number(0, 100),
        "nocturnal_spo2_88_or_below_minutes": _number(0, 1440),
        "peak_cough_flow_l_min": _number(0, 1000),
        "symptoms": st.lists(_ids(RespiratorySymptom), max_size=4),
    },
    required=DATED,
)
WEIGHT = st.fixed_dictionaries({**DATED, "kg": _number(0, 400, low_open=True)})
COGNITION = _object(
    {"ecas_total": st.integers(0, 136), "ftd": BOOL, "behaviour_change": BOOL},
    required=DATED,
    flags=INFERRED,
)
CARE = _object({}, required={"kind": _ids(CareKind), **DATED}, flags=INFERRED)


@st.composite
def _intervention(draw: st.DrawFn) -> dict[str, Any]:
    event = draw(_ids(InterventionEvent))
    entry: dict[str, Any] = {
        "kind": draw(_ids(InterventionKind)),
        "event": event,
        "date": draw(_iso(LATER)),
    }
    if event == InterventionEvent.STARTED and draw(BOOL):
        entry["hours_per_day"] = draw(_number(0, 24))
    if draw(BOOL):
        entry["date_inferred"] = draw(BOOL)
    return entry


@st.composite
def _test(draw: st.DrawFn) -> dict[str, Any]:
    test_id = draw(_ids(InvestigationId))
    entry: dict[str, Any] = {"id": test_id}
    units = TEST_UNITS.get(test_id)
    if units and draw(BOOL):
        entry["value"] = draw(_number(-1e6, 1e6))
        entry["unit"] = draw(st.sampled_from(units))
    low, high = sorted(draw(st.tuples(_number(-1e6, 1e6), _number(-1e6, 1e6))))
    for name, strategy in (
        ("date", _iso(LATER)),
        ("result", _ids(TestResult)),
        ("lower_limit", st.just(low)),
        ("upper_limit", st.just(high)),
        ("finding", TEXT),
    ):
        if draw(BOOL):
            entry[name] = draw(_maybe(strategy))
    return entry


@st.composite
def _lab(draw: st.DrawFn) -> dict[str, Any]:
    lab_id = draw(_ids(LabId))
    entry: dict[str, Any] = {
        "id": lab_id,
        "value": draw(_number(-1e6, 1e6)),
        "unit": draw(st.sampled_from(TEST_UNITS[lab_id])),
    }
    low, high = sorted(draw(st.tuples(_number(0, 1e6), _number(0, 1e6, low_open=True))))
    for name, strategy in (
        ("date", _iso(LATER)),
        ("lower_limit", st.just(low)),
        ("upper_limit", st.just(high)),
    ):
        if draw(BOOL):
            entry[name] = draw(_maybe(strategy))
    return entry


@st.composite
def _medication(draw: st.DrawFn) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": draw(TEXT.filter(lambda name: 1 <= len(name) <= 100))}
    since = draw(_maybe(LATER))
    if since is not None:
        entry["since"] = since.isoformat()
        if draw(BOOL):
            until = min(since + dt.timedelta(days=draw(st.integers(0, 3000))), dt.date(2025, 6, 30))
            entry["until"] = until.isoformat()
    elif draw(BOOL):
        entry["until"] = draw(_iso(LATER))
    if "until" in entry and draw(BOOL):
        entry["stop_reason"] = draw(_ids(StopReason))
    return entry


@st.composite
def _age(draw: st.DrawFn) -> dict[str, Any]:
    """A birth date, or an age with the date it was true, or neither."""
    choice = draw(st.sampled_from(["birth", "age", "none"]))
    if choice == "birth":
        return {"birth_date": draw(_iso(BIRTH))}
    if choice == "age":
        return {"age_years": draw(_number(0, 120)), "age_on": draw(_iso(LATER))}
    return {}


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    """A valid record v2 as JSON data, any subset of its fields, lists of any order."""
    series = {
        "findings": FINDING,
        "examinations": EXAMINATION,
        "emg_studies": EMG_STUDY,
        "tests": _test(),
        "genetics": GENETICS,
        "risk_factors": _ids(RiskFactorId),
        "alsfrs_r": RATING,
        "respiratory": RESPIRATORY,
        "weights": WEIGHT,
        "cognition": COGNITION,
        "medications": _medication(),
        "labs": _lab(),
        "care": CARE,
    }
    identifier = st.fixed_dictionaries({"system": TEXT.filter(bool), "value": TEXT.filter(bool)})
    fields: dict[str, st.SearchStrategy[Any]] = {
        # ``identifiers: null`` is refused by the schema (a list is required when given).
        "identity": st.fixed_dictionaries(
            {},
            optional={
                "name": _maybe(TEXT.filter(bool)),
                "identifiers": st.lists(identifier, max_size=3),
            },
        ),
        "sex": _ids(Sex),
        "height_cm": _number(50, 250),
        "jurisdiction": _ids(Jurisdiction),
        "symptom_onset": _object({"date": _iso(ONSET), "site": _ids(OnsetSite)}, required={}),
        "diagnosis_date": _iso(DIAGNOSIS),
        "progressive": BOOL,
        "family_history": _object({"als": BOOL, "ftd": BOOL}, required={}),
        "premorbid_weight_kg": _number(0, 400, low_open=True),
        "interventions": st.lists(_intervention(), max_size=4),
        "death": st.fixed_dictionaries({"date": _iso(DEATH)}),
        **{name: st.lists(entry, max_size=3) for name, entry in series.items()},
    }
    patient_id = draw(st.from_regex(r"[A-Za-z0-9._-]{1,64}", fullmatch=True))
    data: dict[str, Any] = {"schema": "alscare.patient/v2", "id": patient_id}
    data.update(draw(_age()))
    data.update(draw(_object(fields, required={})))
    return data


_SIGNS: dict[str, bool] = {
    "weakness": True,
    "wasting": False,
    "fasciculations": True,
    "hyperreflexia": True,
    "pathological_reflexes": False,
    "spasticity": True,
    "slowed_movements": False,
}
FULL_RECORD: dict[str, Any] = {
    "schema": "alscare.patient/v2",
    "id": "FULL-2",
    "identity": {
        "name": "Zoë Ångström-Example",
        "identifiers": [{"system": "MRN", "value": "0012345"}, {"system": "NHS", "value": "94"}],
    },
    "sex": "other",
    "birth_date": "1950-05-06",
    "age_years": 73.5,
    "age_on": "2024-01-01",
    "height_cm": 171.5,
    "jurisdiction": "UK",
    "symptom_onset": {"date": "2023-01-02", "site": "bulbar"},
    "diagnosis_date": "2023-09-10",
    "progressive": True,
    "findings": [
        {
            "id": "foot_drop",
            "present": True,
            "region": "lumbosacral",
            "side": "left",
            "date": "2023-09-10",
            "date_inferred": True,
        }
    ],
    "examinations": [
        {"date": "2023-09-10", "regions": {"bulbar": _SIGNS, "thoracic": None}},
        {"date": "2024-01-01", "regions": {"cervical": {}}, "date_inferred": True},
    ],
    "emg_studies": [
        {
            "date": "2023-09-01",
            "regions": {
                "cervical": {
                    "chronic_neurogenic": True,
                    "active_denervation": True,
                    "fasciculation_potentials": False,
                    "muscles": 3,
                },
                "thoracic": None,
            },
            "motor_conduction_block": False,
            "sensory_conduction_abnormal": False,
            "myopathic_units": False,
            "rns_decrement": True,
            "post_exercise_increment": False,
            "date_inferred": True,
        }
    ],
    "tests": [
        {
            "id": "vitamin_b12",
            "date": "2023-08-01",
            "result": "normal",
            "value": 412.5,
            "unit": "pg/mL",
            "lower_limit": 200,
            "upper_limit": 900,
            "finding": "ok — ½ µg",
        }
    ],
    "genetics": [
        {"gene": "SOD1", "result": "pathogenic", "variant": "p.Ala5Val", "date": "2023-10-01"}
    ],
    "family_history": {"als": True, "ftd": False},
    "risk_factors": ["military_service", "age_over_40"],
    "alsfrs_r": [
        {
            "date": "2024-01-01",
            "items": {**{item.value: 3 for item in AlsfrsItem}, "orthopnea": None},
            "gastrostomy": False,
            "gastrostomy_assumed": True,
        }
    ],
    "respiratory": [
        {
            "date": "2024-01-01",
            "fvc_percent_predicted": 61.5,
            "fvc_litres": 2.25,
            "position": "supine",
            "supine_fvc_percent_predicted": 55,
            "snip_cmh2o": 40,
            "mip_cmh2o": 45,
            "paco2_kpa": 6.1,
            "paco2_mmhg": 46,
            "spo2_percent": 94,
            "nocturnal_spo2_below_90_percent_time": 7.5,
            "nocturnal_spo2_88_or_below_minutes": 31,
            "peak_cough_flow_l_min": 240,
            "symptoms": ["orthopnea", "morning_headache"],
        }
    ],
    "weights": [{"date": "2024-01-01", "kg": 61.25}],
    "premorbid_weight_kg": 70,
    "cognition": [
        {
            "date": "2024-01-01",
            "ecas_total": 101,
            "ftd": False,
            "behaviour_change": True,
            "date_inferred": True,
        }
    ],
    "medications": [
        {
            "name": "riluzole",
            "since": "2023-10-01",
            "until": "2024-02-01",
            "stop_reason": "adverse_effect",
        }
    ],
    "interventions": [
        {"kind": "niv", "event": "offered", "date": "2023-12-01"},
        {"kind": "niv", "event": "started", "date": "2024-01-05", "hours_per_day": 8.5},
        {"kind": "gastrostomy", "event": "started", "date": "2024-02-01", "date_inferred": True},
        {"kind": "tracheostomy", "event": "declined", "date": "2024-02-01"},
        {"kind": "cough_assist", "event": "stopped", "date": "2024-02-10"},
    ],
    "labs": [
        {
            "id": "neutrophils",
            "date": "2024-01-01",
            "value": 3.2,
            "unit": "10^9/L",
            "lower_limit": 1.5,
            "upper_limit": 7.5,
        }
    ],
    "care": [
        {"kind": "multidisciplinary_clinic", "date": "2023-09-10"},
        {"kind": "advance_care_plan", "date": "2024-01-01", "date_inferred": True},
        {"kind": "palliative_care_referral", "date": "2024-02-01"},
    ],
    "death": {"date": "2024-03-01"},
}
FULL_RECORD_V1: dict[str, Any] = {
    "schema": "alscare.patient/v1",
    "id": "FULL-1",
    "sex": "other",
    "birth_date": "1950-05-06",
    "age_years": 74.5,
    "height_cm": 171.5,
    "jurisdiction": "UK",
    "symptom_onset": {"date": "2023-01-02", "site": "bulbar"},
    "diagnosis_date": "2023-09-10",
    "progressive": True,
    "findings": [
        {"id": "foot_drop", "present": True, "region": "lumbosacral", "side": "left"},
        {"id": "fasciculations", "present": True, "date": "2023-09-10"},
    ],
    "exam": {"bulbar": _SIGNS, "thoracic": None},
    "emg": {k: v for k, v in FULL_RECORD["emg_studies"][0].items() if k != "date_inferred"},
    "tests": FULL_RECORD["tests"],
    "genetics": FULL_RECORD["genetics"],
    "family_history": FULL_RECORD["family_history"],
    "risk_factors": FULL_RECORD["risk_factors"],
    "alsfrs_r": [{"date": "2024-01-01", "items": {item.value: 3 for item in AlsfrsItem}}],
    "respiratory": [
        {key: value for key, value in FULL_RECORD["respiratory"][0].items() if "88" not in key}
    ],
    "weights": [{"date": "2024-01-01", "kg": 61.25}],
    "premorbid_weight_kg": 70,
    "cognition": {"ftd": False, "ecas_total": 101, "behaviour_change": True},
    "medications": [{"name": "riluzole", "since": "2023-10-01", "until": "2024-02-01"}],
    "interventions": {
        "niv": {"since": "2024-01-05", "hours_per_day": 8.5, "declined": False},
        "gastrostomy": {},
        "tracheostomy": {"declined": True},
    },
    "labs": FULL_RECORD["labs"],
    "care": {
        "advance_care_plan": True,
        "palliative_care_referral": False,
        "multidisciplinary_clinic": True,
    },
}
# Onset 2024-01-01, diagnosed 2024-09-01, examined three times (the last on 2025-03-01); an
# EMG, NIV offered and declined, a cognitive screen and a clinic visit.
LONGITUDINAL: dict[str, Any] = {
    "schema": "alscare.patient/v2",
    "id": "PG-V2-1",
    "identity": {"name": "Ada Example", "identifiers": [{"system": "NHS", "value": "9434765919"}]},
    "sex": "female",
    "birth_date": "1960-05-01",
    "height_cm": 165,
    "premorbid_weight_kg": 70,
    "symptom_onset": {"date": "2024-01-01", "site": "cervical"},
    "diagnosis_date": "2024-09-01",
    "alsfrs_r": [rating("2024-09-01", walking=3, handwriting=3), rating("2024-12-01", walking=2)],
    "respiratory": [{"date": "2024-09-01", "fvc_percent_predicted": 78}],
    "weights": [{"date": "2024-12-01", "kg": 64}],
    "genetics": [{"gene": "C9orf72", "result": "negative", "date": "2024-09-01"}],
    "examinations": [
        {"date": "2024-09-01", "regions": {"cervical": {"weakness": True, "wasting": True}}},
        {
            "date": "2024-12-01",
            "regions": {
                "cervical": {"weakness": True, "hyperreflexia": True},
                "lumbosacral": {"weakness": True, "wasting": True, "hyperreflexia": True},
                "bulbar": {"fasciculations": False},
            },
        },
        {"date": "2025-03-01", "regions": {"bulbar": {"wasting": True}}},
    ],
    "emg_studies": [
        {
            "date": "2024-08-20",
            "regions": {
                "cervical": {"chronic_neurogenic": True, "active_denervation": True, "muscles": 3}
            },
            "motor_conduction_block": False,
        }
    ],
    "interventions": [
        {"kind": "niv", "event": "offered", "date": "2024-12-01"},
        {"kind": "niv", "event": "declined", "date": "2024-12-01"},
    ],
    "cognition": [{"date": "2024-09-01", "ecas_total": 110, "ftd": False}],
    "care": [{"kind": "multidisciplinary_clinic", "date": "2024-09-01"}],
}
