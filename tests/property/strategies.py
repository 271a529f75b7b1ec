"""Hypothesis strategies for patient records of both versions, as JSON data, dated around the
assessment date :data:`AS_OF`.

:func:`records_v1` draws release-1 records (one undated examination, flags for cognition and
interventions); :func:`records_v2` draws longitudinal records with entries in every series.
Every dated entry is drawn from ``when`` (on or before ``AS_OF`` unless told otherwise), so
:func:`later_entries_v2` can add an entry after ``AS_OF`` to every series of a v2 record.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

from alscare.knowledge.topic import EXAM_SIGNS
from alscare.schemas.patient import SERIES
from alscare.schemas.vocabulary import (
    AlsfrsItem,
    CareKind,
    FindingId,
    GeneticResult,
    InterventionEvent,
    InterventionKind,
    Jurisdiction,
    OnsetSite,
    Region,
    RespiratorySymptom,
    RiskFactorId,
    StopReason,
)

__all__ = [
    "ABNORMAL_TESTS",
    "AS_OF",
    "EMG_FLAGS",
    "NORMAL_TESTS",
    "REGIONS",
    "SERIES_V2",
    "emg_region",
    "exam_region",
    "future",
    "item_scores",
    "later_entries_v2",
    "past",
    "rating_v1",
    "records_v1",
    "records_v2",
]

AS_OF = dt.date(2025, 3, 1)
FIRST_DAY = dt.date(2015, 1, 1)
LAST_DAY = dt.date(2026, 12, 31)
past = st.dates(FIRST_DAY, AS_OF)
future = st.dates(AS_OF + dt.timedelta(days=1), LAST_DAY)

REGIONS = [region.value for region in Region]
ITEMS = [item.value for item in AlsfrsItem]
EMG_FLAGS = (
    "motor_conduction_block",
    "sensory_conduction_abnormal",
    "myopathic_units",
    "rns_decrement",
    "post_exercise_increment",
)
#: The series of a v2 record that hold dated entries (``death`` is one more dated part).
SERIES_V2 = SERIES

# Investigation results without a date (each strategy dates them): normal ones and ones that
# point away from ALS.
NORMAL_TESTS: list[dict[str, Any]] = [
    {"id": "vitamin_b12", "value": 420, "unit": "pg/mL", "lower_limit": 200},
    {"id": "creatine_kinase", "value": 300, "unit": "U/L"},
    {"id": "thyroid_function", "result": "normal"},
    {"id": "calcium_pth", "result": "normal"},
    {"id": "mri_brain_spine", "result": "normal"},
    {"id": "anti_gm1_antibodies", "result": "negative"},
    {"id": "hiv_test", "result": "negative"},
    {"id": "copper", "value": 15, "unit": "umol/L", "lower_limit": 11},
]
ABNORMAL_TESTS: list[dict[str, Any]] = [
    {"id": "vitamin_b12", "value": 98, "unit": "pmol/L", "lower_limit": 145},
    {"id": "vitamin_b12", "result": "abnormal"},
    {"id": "creatine_kinase", "value": 1800, "unit": "IU/L"},
    {"id": "mri_brain_spine", "result": "abnormal"},
    {"id": "anti_gm1_antibodies", "result": "positive"},
    {"id": "achr_musk_antibodies", "result": "positive"},
    {"id": "vgcc_antibodies", "result": "positive"},
    {"id": "hiv_test", "result": "positive"},
    {"id": "thyroid_function", "result": "abnormal"},
    {"id": "calcium_pth", "value": 3.0, "unit": "mmol/L", "upper_limit": 2.6},
    {"id": "copper", "value": 4, "unit": "umol/L", "lower_limit": 11},
    {"id": "ar_cag_repeat", "value": 45, "unit": "repeats"},
    {"id": "smn1_deletion", "result": "positive"},
    {"id": "hexosaminidase_a", "result": "abnormal"},
    {"id": "muscle_biopsy", "result": "abnormal"},
    {"id": "htlv1_serology", "result": "positive"},
    {"id": "serum_protein_electrophoresis", "result": "abnormal"},
    {"id": "lumbar_puncture", "result": "abnormal"},
]

item_scores = st.fixed_dictionaries({item: st.integers(0, 4) for item in ITEMS})
# Typical regions (nothing found, UMN only, LMN only, both) and random mixtures.
exam_region = st.one_of(
    st.sampled_from(
        [
            {},
            {"hyperreflexia": True},
            {"weakness": True, "wasting": True},
            {"spasticity": True, "weakness": True, "wasting": True, "fasciculations": True},
        ]
    ),
    st.fixed_dictionaries({}, optional={sign: st.booleans() for sign in EXAM_SIGNS}),
)
emg_region = st.fixed_dictionaries(
    {
        "chronic_neurogenic": st.booleans(),
        "active_denervation": st.booleans(),
        "fasciculation_potentials": st.booleans(),
        "muscles": st.one_of(st.none(), st.integers(0, 4)),
    }
)
_emg_flags = st.fixed_dictionaries({}, optional={flag: st.booleans() for flag in EMG_FLAGS})
_dated = st.SearchStrategy[dt.date]


def _day(date: dt.date) -> str:
    return date.isoformat()


def rating_v1(date: dt.date, items: dict[str, int], gastrostomy: bool | None) -> dict[str, Any]:
    """A v1 rating: every item rated, item 5's form recorded or not."""
    entry: dict[str, Any] = {"date": _day(date), "items": items}
    if gastrostomy is not None:
        entry["gastrostomy"] = gastrostomy
    return entry


def _finding(when: _dated, *, dated: bool = True) -> st.SearchStrategy[dict[str, Any]]:
    def finding(i: FindingId, present: bool, region: str | None, date: dt.date) -> dict[str, Any]:
        entry: dict[str, Any] = {"id": i.value, "present": present, "region": region}
        if dated:
            entry["date"] = _day(date)
        return entry

    return st.builds(
        finding,
        st.sampled_from(list(FindingId)),
        st.booleans(),
        st.one_of(st.none(), st.sampled_from(REGIONS)),
        when,
    )


def _respiratory(when: _dated) -> st.SearchStrategy[dict[str, Any]]:
    values = st.fixed_dictionaries(
        {},
        optional={
            "fvc_percent_predicted": st.integers(10, 130),
            "snip_cmh2o": st.integers(5, 120),
            "mip_cmh2o": st.integers(5, 120),
            "paco2_kpa": st.floats(3, 10),
            "spo2_percent": st.integers(80, 100),
            "nocturnal_spo2_below_90_percent_time": st.floats(0, 40),
            "nocturnal_spo2_88_or_below_minutes": st.integers(0, 120),
            "peak_cough_flow_l_min": st.integers(50, 600),
            "symptoms": st.lists(
                st.sampled_from([s.value for s in RespiratorySymptom]), unique=True, max_size=2
            ),
        },
    )
    return st.builds(lambda d, v: {"date": _day(d), **v}, when, values)


def _weights(when: _dated) -> st.SearchStrategy[list[dict[str, Any]]]:
    return st.lists(
        st.builds(lambda d, kg: {"date": _day(d), "kg": kg}, when, st.integers(40, 110)),
        max_size=3,
    )


def _genetic_result(when: _dated | None) -> st.SearchStrategy[dict[str, Any]]:
    def result(gene: str, classified: GeneticResult, date: dt.date | None) -> dict[str, Any]:
        entry: dict[str, Any] = {"gene": gene, "result": classified.value}
        if date is not None:
            entry["date"] = _day(date)
        return entry

    return st.builds(
        result,
        st.sampled_from(["C9orf72", "SOD1", "FUS", "SMN1"]),
        st.sampled_from(list(GeneticResult)),
        st.none() if when is None else when,
    )


def _patient(draw: st.DrawFn, data: dict[str, Any], *, age_on: dt.date | None) -> None:
    """Age, sex, height, jurisdiction, onset, diagnosis and progression."""
    if draw(st.booleans()):
        data["birth_date"] = _day(draw(st.dates(dt.date(1930, 1, 1), dt.date(1994, 12, 31))))
    elif age_on is not None and draw(st.booleans()):
        data["age_years"] = draw(st.integers(35, 90))
        data["age_on"] = _day(age_on)
    data["sex"] = draw(st.sampled_from(["female", "male", None]))
    if draw(st.booleans()):
        data["height_cm"] = draw(st.integers(150, 200))
    data["jurisdiction"] = draw(st.sampled_from([None, *(j.value for j in Jurisdiction)]))
    onset = draw(st.one_of(st.none(), st.dates(FIRST_DAY, dt.date(2024, 6, 1))))
    site = draw(st.one_of(st.none(), st.sampled_from(list(OnsetSite))))
    data["symptom_onset"] = {"date": onset and _day(onset), "site": site and site.value}
    if onset is not None and draw(st.booleans()):
        data["diagnosis_date"] = _day(onset + dt.timedelta(days=draw(st.integers(0, 700))))
    data["progressive"] = draw(st.sampled_from([True, None, False]))
    if draw(st.booleans()):
        data["premorbid_weight_kg"] = draw(st.integers(45, 120))
    data["risk_factors"] = draw(
        st.lists(st.sampled_from([r.value for r in RiskFactorId]), unique=True, max_size=3)
    )
    if draw(st.booleans()):
        data["family_history"] = {"als": draw(st.booleans()), "ftd": draw(st.booleans())}


@st.composite
def records_v1(draw: st.DrawFn, when: _dated = past, *, undated: bool = True) -> dict[str, Any]:
    """A record v1 as JSON data; every dated entry is drawn from ``when``. With ``undated``
    false the record has no undated part (the upgrade dates those on the record's latest date,
    so a later entry would move them): no examination, cognition or interventions, and dated
    findings."""
    data: dict[str, Any] = {"schema": "alscare.patient/v1", "id": "H-1"}
    _patient(draw, data, age_on=None)
    # An entry on one of two fixed days now and then, so that entries share a date.
    dated = st.one_of(when, st.sampled_from([FIRST_DAY, FIRST_DAY + dt.timedelta(days=1)]))
    data["alsfrs_r"] = draw(
        st.lists(
            st.builds(rating_v1, dated, item_scores, st.sampled_from([None, False, True])),
            max_size=4,
        )
    )
    data["respiratory"] = draw(st.lists(_respiratory(dated), max_size=3))
    data["weights"] = draw(_weights(dated))
    data["findings"] = draw(st.lists(_finding(dated, dated=not undated), max_size=5))
    data["genetics"] = draw(st.lists(_genetic_result(None if undated else dated), max_size=2))
    if undated:
        data["exam"] = draw(st.dictionaries(st.sampled_from(REGIONS), exam_region))
        if draw(st.booleans()):
            data["cognition"] = {"ftd": draw(st.one_of(st.none(), st.booleans()))}
        if draw(st.booleans()):
            kinds: st.SearchStrategy[dict[str, bool] | None] = st.one_of(
                st.none(), st.just({}), st.just({"declined": True})
            )
            data["interventions"] = {"niv": draw(kinds), "gastrostomy": draw(kinds)}
    # A v1 age is dated on the record's latest dated entry: only a record with one may hold it.
    if undated and "birth_date" not in data and _has_dates_v1(data) and draw(st.booleans()):
        data["age_years"] = draw(st.integers(35, 90))
    return data


def _has_dates_v1(data: dict[str, Any]) -> bool:
    return bool(
        data["symptom_onset"]["date"] or data["alsfrs_r"] or data["respiratory"] or data["weights"]
    )


# --- record v2 -------------------------------------------------------------------------------


def _rating_v2(date: dt.date, items: dict[str, int | None], gastrostomy: bool) -> dict[str, Any]:
    return {"date": _day(date), "items": items, "gastrostomy": gastrostomy}


_items_v2 = st.fixed_dictionaries(
    {item: st.one_of(st.integers(0, 4), st.integers(0, 4), st.none()) for item in ITEMS}
).filter(lambda items: any(score is not None for score in items.values()))


def _examination(date: dt.date, regions: dict[str, Any]) -> dict[str, Any]:
    return {"date": _day(date), "regions": regions}


_examined = st.dictionaries(
    st.sampled_from(REGIONS), st.one_of(st.none(), exam_region), min_size=1
).filter(lambda regions: any(signs is not None for signs in regions.values()))


def _emg_study(date: dt.date, regions: dict[str, Any], flags: dict[str, bool]) -> dict[str, Any]:
    return {"date": _day(date), "regions": regions, **flags}


def _test(template: dict[str, Any], date: dt.date) -> dict[str, Any]:
    return {**template, "date": _day(date)}


def _cognition(date: dt.date, fields: dict[str, Any]) -> dict[str, Any]:
    return {"date": _day(date), **fields}


_screen = st.fixed_dictionaries(
    {},
    optional={
        "ecas_total": st.integers(60, 136),
        "ftd": st.booleans(),
        "behaviour_change": st.booleans(),
    },
)
_DRUG_NAMES = ("riluzole", "Rilutek", "edaravone", "Qalsody", "Relyvrio", "baclofen")


def _medication(
    name: str, since: dt.date, days: int | None, reason: StopReason | None
) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "since": _day(since)}
    if days is not None:
        entry["until"] = _day(since + dt.timedelta(days=days))
        if reason is not None:
            entry["stop_reason"] = reason.value
    return entry


def _intervention(
    kind: InterventionKind, event: InterventionEvent, date: dt.date, hours: int | None
) -> dict[str, Any]:
    entry: dict[str, Any] = {"kind": kind.value, "event": event.value, "date": _day(date)}
    if event == InterventionEvent.STARTED and hours is not None:
        entry["hours_per_day"] = hours
    return entry


def _lab(lab: str, date: dt.date, value: float, limit: float | None) -> dict[str, Any]:
    if lab == "neutrophils":
        entry = {"id": lab, "value": round(value / 50, 2), "unit": "10^9/L"}
        return {**entry, "date": _day(date), **({"lower_limit": 1.8} if limit else {})}
    entry = {"id": lab, "value": value, "unit": "U/L", "date": _day(date)}
    return {**entry, **({"upper_limit": limit} if limit else {})}


def _care(kind: CareKind, date: dt.date) -> dict[str, Any]:
    return {"kind": kind.value, "date": _day(date)}


def _series_v2(when: _dated) -> dict[str, st.SearchStrategy[dict[str, Any]]]:
    """One entry of each v2 series, dated from ``when``."""
    return {
        "findings": _finding(when),
        "examinations": st.builds(_examination, when, _examined),
        "emg_studies": st.builds(
            _emg_study, when, st.dictionaries(st.sampled_from(REGIONS), emg_region), _emg_flags
        ),
        "tests": st.builds(_test, st.sampled_from(NORMAL_TESTS + ABNORMAL_TESTS), when),
        "genetics": _genetic_result(when),
        "alsfrs_r": st.builds(_rating_v2, when, _items_v2, st.booleans()),
        "respiratory": _respiratory(when),
        "weights": st.builds(lambda d, kg: {"date": _day(d), "kg": kg}, when, st.integers(40, 110)),
        "cognition": st.builds(_cognition, when, _screen),
        "medications": st.builds(
            _medication,
            st.sampled_from(_DRUG_NAMES),
            when,
            st.one_of(st.none(), st.integers(0, 400)),
            st.one_of(st.none(), st.sampled_from(list(StopReason))),
        ),
        "interventions": st.builds(
            _intervention,
            st.sampled_from(list(InterventionKind)),
            st.sampled_from(list(InterventionEvent)),
            when,
            st.one_of(st.none(), st.integers(0, 24)),
        ),
        "labs": st.builds(
            _lab,
            st.sampled_from(["alt", "ast", "neutrophils"]),
            when,
            st.integers(5, 400),
            st.one_of(st.none(), st.integers(20, 60)),
        ),
        "care": st.builds(_care, st.sampled_from(list(CareKind)), when),
    }


@st.composite
def records_v2(draw: st.DrawFn, when: _dated = past, *, death: bool = True) -> dict[str, Any]:
    """A record v2 as JSON data with entries in every series, each dated from ``when``; the
    interventions list is sometimes absent (not recorded); with ``death`` a date of death after
    every entry is sometimes added."""
    data: dict[str, Any] = {"schema": "alscare.patient/v2", "id": "H-2"}
    _patient(draw, data, age_on=draw(when))
    for name, entry in _series_v2(when).items():
        data[name] = draw(st.lists(entry, max_size=3))
    if draw(st.booleans()):
        data["interventions"] = None
    if death and draw(st.booleans()):
        data["death"] = {"date": _day(_latest_date(data))}
    return data


def _latest_date(data: dict[str, Any]) -> dt.date:
    """The latest date a v2 record's entries give (a medication's end may follow a death)."""
    found = [FIRST_DAY]
    for name in SERIES_V2:
        for entry in data.get(name) or ():
            found.extend(
                dt.date.fromisoformat(entry[key]) for key in ("date", "since") if entry.get(key)
            )
    for key in ("diagnosis_date", "age_on"):
        if data.get(key):
            found.append(dt.date.fromisoformat(data[key]))
    onset = data["symptom_onset"]["date"]
    return max([*found, *([dt.date.fromisoformat(onset)] if onset else [])])


@st.composite
def later_entries_v2(draw: st.DrawFn) -> dict[str, Any]:
    """An entry dated after ``AS_OF`` in every series of a v2 record, and a death after them."""
    later: dict[str, Any] = {name: [draw(entry)] for name, entry in _series_v2(future).items()}
    later["death"] = {"date": _day(LAST_DAY + dt.timedelta(days=1))}
    return later
