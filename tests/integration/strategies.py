"""Hypothesis strategies for whole record v1 documents, every field of every part, for the
storage round trip; and :data:`FULL_RECORD`, one record with every field set.

Dates are drawn so that a record is possible (birth before onset before diagnosis before the
rest), text includes any storable Unicode, numbers span each field's range.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

from alscare.schemas.patient import TEST_UNITS
from alscare.schemas.vocabulary import (
    AlsfrsItem,
    FindingId,
    GeneticResult,
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
    TestResult,
)

__all__ = ["FULL_RECORD", "records"]

BIRTH = st.dates(dt.date(1920, 1, 1), dt.date(1989, 12, 31))
ONSET = st.dates(dt.date(1990, 1, 1), dt.date(2004, 12, 31))
DIAGNOSIS = st.dates(dt.date(2005, 1, 1), dt.date(2009, 12, 31))
LATER = st.dates(dt.date(2010, 1, 1), dt.date(2030, 12, 31))
TEXT = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=40
)


def _iso(strategy: st.SearchStrategy[dt.date]) -> st.SearchStrategy[str]:
    return strategy.map(dt.date.isoformat)


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


def _number(low: float, high: float, *, low_open: bool = False) -> st.SearchStrategy[float]:
    return st.floats(low, high, exclude_min=low_open, allow_nan=False, allow_infinity=False)


def _object(
    fields: dict[str, st.SearchStrategy[Any]], *, not_null: tuple[str, ...] = ()
) -> st.SearchStrategy[dict[str, Any]]:
    """A JSON object with any subset of the fields (a field may also be given as null, except
    those in ``not_null``, which the schema does not let be null)."""
    return st.fixed_dictionaries(
        {},
        optional={
            name: strategy if name in not_null else _maybe(strategy)
            for name, strategy in fields.items()
        },
    )


def _ids(enum: type[Any]) -> st.SearchStrategy[str]:
    return st.sampled_from([member.value for member in enum])


BOOL = st.booleans()
EXAM_SIGNS = (
    "weakness",
    "wasting",
    "fasciculations",
    "hyperreflexia",
    "pathological_reflexes",
    "spasticity",
    "slowed_movements",
)
EXAM_REGION = _object(dict.fromkeys(EXAM_SIGNS, BOOL))
EMG_REGION = _object(
    {
        "chronic_neurogenic": BOOL,
        "active_denervation": BOOL,
        "fasciculation_potentials": BOOL,
        "muscles": st.integers(0, 100),
    }
)
FINDING = st.fixed_dictionaries(
    {"id": _ids(FindingId), "present": BOOL},
    optional={"region": _maybe(_ids(Region)), "side": _maybe(_ids(Side)), "date": _iso(LATER)},
)
GENE = st.from_regex(r"[A-Za-z0-9_.-]{1,32}", fullmatch=True)
GENETICS = st.fixed_dictionaries(
    {"gene": GENE, "result": _ids(GeneticResult)},
    optional={"variant": _maybe(TEXT), "date": _maybe(_iso(LATER))},
)
RATING = st.fixed_dictionaries(
    {
        "date": _iso(LATER),
        "items": st.fixed_dictionaries({item.value: st.integers(0, 4) for item in AlsfrsItem}),
    },
    optional={"gastrostomy": _maybe(BOOL)},
)
RESPIRATORY = st.fixed_dictionaries(
    {"date": _iso(LATER)},
    optional={
        "fvc_percent_predicted": _maybe(_number(0, 200)),
        "fvc_litres": _maybe(_number(0, 10)),
        "position": _maybe(_ids(Position)),
        "supine_fvc_percent_predicted": _maybe(_number(0, 200)),
        "snip_cmh2o": _maybe(_number(0, 250)),
        "mip_cmh2o": _maybe(_number(0, 250)),
        "paco2_kpa": _maybe(_number(0, 20, low_open=True)),
        "paco2_mmhg": _maybe(_number(0, 150, low_open=True)),
        "spo2_percent": _maybe(_number(0, 100)),
        "nocturnal_spo2_below_90_percent_time": _maybe(_number(0, 100)),
        "peak_cough_flow_l_min": _maybe(_number(0, 1000)),
        "symptoms": st.lists(_ids(RespiratorySymptom), max_size=4),
    },
)
WEIGHT = st.fixed_dictionaries({"date": _iso(LATER), "kg": _number(0, 400, low_open=True)})
INTERVENTION = _object({"since": _iso(LATER), "hours_per_day": _number(0, 24), "declined": BOOL})


@st.composite
def _test(draw: st.DrawFn) -> dict[str, Any]:
    test_id = draw(_ids(InvestigationId))
    entry: dict[str, Any] = {"id": test_id}
    units = TEST_UNITS.get(test_id)
    if units and draw(BOOL):
        entry["value"] = draw(_number(-1e6, 1e6))
        entry["unit"] = draw(st.sampled_from(units))
    for name, strategy in (
        ("date", _iso(LATER)),
        ("result", _ids(TestResult)),
        ("lower_limit", _number(-1e6, 1e6)),
        ("upper_limit", _number(-1e6, 1e6)),
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
    for name, strategy in (
        ("date", _iso(LATER)),
        ("lower_limit", _number(0, 1e6)),
        ("upper_limit", _number(0, 1e6, low_open=True)),
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
            entry["until"] = (since + dt.timedelta(days=draw(st.integers(0, 3000)))).isoformat()
    elif draw(BOOL):
        entry["until"] = draw(_iso(LATER))
    return entry


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    """A valid record v1 as JSON data, any subset of its fields, lists of any order."""
    series = {
        "findings": FINDING,
        "tests": _test(),
        "genetics": GENETICS,
        "risk_factors": _ids(RiskFactorId),
        "alsfrs_r": RATING,
        "respiratory": RESPIRATORY,
        "weights": WEIGHT,
        "medications": _medication(),
        "labs": _lab(),
    }
    fields: dict[str, st.SearchStrategy[Any]] = {
        "sex": _ids(Sex),
        "birth_date": _iso(BIRTH),
        "age_years": _number(0, 120),
        "height_cm": _number(50, 250),
        "jurisdiction": _ids(Jurisdiction),
        "symptom_onset": _object({"date": _iso(ONSET), "site": _ids(OnsetSite)}),
        "diagnosis_date": _iso(DIAGNOSIS),
        "progressive": BOOL,
        "exam": st.dictionaries(_ids(Region), _maybe(EXAM_REGION), max_size=4),
        "emg": _object(
            {
                "date": _iso(LATER),
                "regions": st.dictionaries(_ids(Region), _maybe(EMG_REGION), max_size=4),
                "motor_conduction_block": BOOL,
                "sensory_conduction_abnormal": BOOL,
                "myopathic_units": BOOL,
                "rns_decrement": BOOL,
                "post_exercise_increment": BOOL,
            },
            not_null=("regions",),
        ),
        "family_history": _object({"als": BOOL, "ftd": BOOL}),
        "premorbid_weight_kg": _number(0, 400, low_open=True),
        "cognition": _object(
            {
                "ftd": BOOL,
                "ecas_total": st.integers(0, 136),
                "behaviour_change": BOOL,
                "date": _iso(LATER),
            }
        ),
        "interventions": _object(
            {"niv": INTERVENTION, "gastrostomy": INTERVENTION, "tracheostomy": INTERVENTION}
        ),
        "care": _object(
            {
                "advance_care_plan": BOOL,
                "palliative_care_referral": BOOL,
                "multidisciplinary_clinic": BOOL,
            }
        ),
        **{name: st.lists(entry, max_size=3) for name, entry in series.items()},
    }
    patient_id = draw(st.from_regex(r"[A-Za-z0-9._-]{1,64}", fullmatch=True))
    data: dict[str, Any] = {"schema": "alscare.patient/v1", "id": patient_id}
    data.update(draw(_object(fields)))
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
        {
            "id": "foot_drop",
            "present": True,
            "region": "lumbosacral",
            "side": "left",
            "date": "2023-09-10",
        }
    ],
    "exam": {"bulbar": _SIGNS, "thoracic": None},
    "emg": {
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
    },
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
        {"date": "2024-01-01", "items": {item.value: 3 for item in AlsfrsItem}, "gastrostomy": True}
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
            "peak_cough_flow_l_min": 240,
            "symptoms": ["orthopnea", "morning_headache"],
        }
    ],
    "weights": [{"date": "2024-01-01", "kg": 61.25}],
    "premorbid_weight_kg": 70,
    "cognition": {"ftd": False, "ecas_total": 101, "behaviour_change": True, "date": "2024-01-01"},
    "medications": [{"name": "riluzole", "since": "2023-10-01", "until": "2024-02-01"}],
    "interventions": {
        "niv": {"since": "2024-01-05", "hours_per_day": 8.5, "declined": False},
        "gastrostomy": {"since": "2024-02-01"},
        "tracheostomy": {"declined": True},
    },
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
    "care": {
        "advance_care_plan": True,
        "palliative_care_referral": False,
        "multidisciplinary_clinic": True,
    },
}
