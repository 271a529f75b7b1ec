"""Synthetic patient records: the benchmark cohort and synthetic registry cohorts.

Nothing here is a real patient. Two products share one deterministic generator:

* **The benchmark cohort** (``cohort_records_v2``, ``cohort_records``; ``bench/`` re-exports
  them): record v2 and v1 dicts whose bytes for a seed never change, because the benchmark
  figures and the engine's golden digest (``tests/golden/engine_digest.json``) are computed on
  them. Patient ``i`` is drawn from its own ``random.Random(f"{seed}-{i}")``, so it is the same
  whatever the cohort size, on every machine. A few records hold entries dated after ``as_of``
  (which the engine must ignore) and about 6 % carry a red flag for the differential.
* **A synthetic registry cohort** (``synthetic_cohort``, written by ``write_jsonl``; what
  ``alscare cohort synth`` writes): the same patients as the registry would hold them on
  ``as_of``, streamed one at a time so a million records never sit in memory. Each is marked as
  synthetic by its id, ``SYN-`` and the patient's index (``SYN-0000042``), and carries no
  ``identity``. On top of the benchmark patient it draws, from a third generator
  (``f"{seed}-{i}-synth"``, so the benchmark draws never shift): the age at onset again, death,
  and dropout; then it cuts the record where follow-up ends, so nothing is dated after ``as_of``,
  after dropout or on or after the date of death.

The course of a patient: symptom onset 3 months to 6 years before ``as_of``; a diagnosis 3-30
months after onset for 92 % (some not yet diagnosed on ``as_of``); clinic visits every 91 days
on average (SD 15 days) from diagnosis, at which the ALSFRS-R falls at the patient's own rate
(items only ever fall, the onset region first, other regions 2-20 months later), FVC, SNIP and
weight decline, and NIV or a gastrostomy start when breathing or swallowing fail; plus
examinations, EMG, tests, genetics, medications, riluzole laboratory monitoring, cognition and
care events. Every jurisdiction appears.

Where the numbers come from. **Plausible, not published** means we chose the parameter to look
like a clinic population; no source gives it and nothing clinical may be concluded from it.

=====================  ===========================================================================
sex                    male 57 %, female 41 %, other 1 %, unknown 1 %: a male to female ratio of
                       1.39, inside the 1.3-1.5 : 1 that BMJ Best Practice (epidemiology) reports
                       under age 70. The shares themselves are plausible, not published.
onset site             cervical 35 %, lumbosacral 30 %, bulbar 28 %, respiratory 3 %, thoracic
                       2 %, generalized 1 %, cognitive 1 %. Bulbar onset 28 % lies in the 25-33 %
                       that secondary sources report; the split of the other sites is plausible,
                       not published.
age at onset           synthetic cohort: normal, mean 57 years (BMJ Best Practice, epidemiology:
                       mean about 57, peak 50-70; in the knowledge base under the risk factor
                       ``age_over_40``), SD 11 years (plausible, not published), kept within
                       22-88. Benchmark cohort: mean 60, SD 11, same limits (plausible, not
                       published; kept for its fixed bytes).
progression            ALSFRS-R points lost per month: log-normal with log-mean -0.5 and log-SD
                       0.6, kept within 0.08-4.0 (median 0.61): about 37 % slow, 42 %
                       intermediate and 20 % fast in the delta-FS bands slow < 0.5,
                       intermediate 0.5-1.0, fast > 1.0 points per month (Kimura 2006 as
                       commonly quoted; **unverified**, as in the knowledge base). The
                       distribution's parameters are plausible, not published. The delta-FS a
                       record shows is near this rate, not equal to it: ratings are whole
                       points, carry noise and fall only in involved regions.
diagnostic delay       uniform 3-30 months (mean 16.5), near the 10-16 months usually reported
                       (a secondary source); the uniform shape is plausible, not published.
death                  time from onset log-normal with median 30 months (Lester 2025, in the
                       knowledge base as ``lester2025_survival``) and log-SD 1.08, which leaves
                       10 % alive at 10 years (a secondary source, not in the knowledge base).
                       Faster progression means shorter survival: the two share a correlation of
                       -0.7 on the log scale (plausible, not published). Patients enter the
                       registry at their first visit, so survival is drawn given survival to it.
                       Every patient enters, whatever their rate (fast progressors who would have
                       died before a first visit are kept, and live past it), so the cohort's
                       own Kaplan-Meier median from onset, counting each patient from the first
                       visit, comes out near 26 months, not 30 (25.6-26.0 on 10,000 records of
                       three seeds). About 41 % of the records end in death.
dropout                10 % of the patients with two visits or more on ``as_of`` are lost to
                       follow-up after one of their visits but the last, drawn uniformly
                       (plausible, not published); a death after dropout is not known, and
                       those who die before it show their death instead, so about 8 % of them
                       end as dropouts.
=====================  ===========================================================================

Use:

    >>> records = cohort_records_v2(100)                   # the benchmark cohort, a list
    >>> write_jsonl(synthetic_cohort(1_000_000, seed=7), "cohort.jsonl")   # streamed
    1000000
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist
from typing import Any, Final

from alscare.schemas.patient import SERIES

__all__ = [
    "AS_OF",
    "JURISDICTIONS",
    "SEED",
    "SYNTHETIC_ID_PREFIX",
    "cohort_records",
    "cohort_records_v2",
    "patient_record",
    "patient_record_v2",
    "synthetic_cohort",
    "synthetic_record",
    "write_jsonl",
]

#: The benchmark cohort's assessment date and seed (the golden digest is computed on them).
AS_OF: Final = dt.date(2025, 2, 1)
SEED: Final = 20250201
JURISDICTIONS: Final = ("US", "EU", "UK", "CA", "JP", "AU", "OTHER")
#: Every synthetic registry record's id starts with this: it says the record is synthetic.
SYNTHETIC_ID_PREFIX: Final = "SYN-"

Record = dict[str, Any]

_DAYS_PER_MONTH: Final = 30.4375  # 365.25 / 12, the month of the ENCALS code
_DAYS_PER_YEAR: Final = 365.25
# The progression rate (ALSFRS-R points lost per month) is log-normal with these log-scale
# parameters (plausible, not published; see the module docstring).
_RATE_LOG_MEAN: Final = -0.5
_RATE_LOG_SD: Final = 0.6

_ITEMS = {
    "bulbar": ("speech", "salivation", "swallowing"),
    "arm": ("handwriting", "cutting_food", "dressing_hygiene"),
    "leg": ("turning_in_bed", "walking", "climbing_stairs"),
    "breathing": ("dyspnea", "orthopnea", "respiratory_insufficiency"),
}
_ONSET_SITES = (
    ("cervical", 35),
    ("lumbosacral", 30),
    ("bulbar", 28),
    ("respiratory", 3),
    ("thoracic", 2),
    ("generalized", 1),
    ("cognitive", 1),
)
_ONSET_GROUP = {
    "cervical": "arm",
    "lumbosacral": "leg",
    "bulbar": "bulbar",
    "respiratory": "breathing",
    "thoracic": "leg",
    "generalized": "arm",
    "cognitive": "bulbar",
}
_GROUP_REGION = {"bulbar": "bulbar", "arm": "cervical", "leg": "lumbosacral"}
_ONSET_FINDINGS = {
    "arm": (("upper_extremity_weakness", "cervical"), ("muscle_atrophy", "cervical")),
    "leg": (("foot_drop", "lumbosacral"), ("difficulty_rising_climbing", "lumbosacral")),
    "bulbar": (
        ("slurred_nasal_speech", "bulbar"),
        ("choking_on_liquids", "bulbar"),
        ("tongue_fasciculations", "bulbar"),
    ),
    "breathing": (("dyspnea", None), ("orthopnea", None)),
}
_RED_FLAGS = (
    "sensory_loss",
    "sphincter_dysfunction",
    "ptosis",
    "fatigable_weakness",
    "nerve_territory_weakness",
    "neck_pain_radicular",
    "gynecomastia",
)
_RISK_FACTORS = (
    "military_service",
    "cigarette_smoking",
    "agricultural_chemical_exposure",
    "lead_exposure",
    "professional_athletic_activity",
)
_SYMPTOMS = (
    "orthopnea",
    "morning_headache",
    "daytime_somnolence",
    "unrefreshing_sleep",
    "poor_concentration",
    "dyspnea_on_exertion",
)
_SYMPTOMATIC_DRUGS = ("baclofen", "glycopyrronium", "amitriptyline", "mexiletine", "sertraline")


@dataclass
class _Course:
    """One patient's disease course, from which every dated entry is drawn."""

    rng: random.Random
    onset: dt.date
    as_of: dt.date
    rate: float  # ALSFRS-R points lost per month
    onset_group: str
    group_start: dict[str, float]  # months after onset each item group starts to fall
    items: dict[str, int] = field(default_factory=dict)
    fvc_baseline: float = 95.0
    snip_baseline: float = 80.0

    def months(self, day: dt.date) -> float:
        return (day - self.onset).days / _DAYS_PER_MONTH

    def involved(self, group: str, day: dt.date) -> bool:
        return self.months(day) >= self.group_start[group]


def _weighted(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    names = [name for name, _ in choices]
    return rng.choices(names, weights=[weight for _, weight in choices])[0]


def _days(n: float) -> dt.timedelta:
    return dt.timedelta(days=round(n))


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _visits(course: _Course, first: dt.date) -> Iterator[dt.date]:
    """Clinic visits about every three months from ``first``, one sometimes after as_of."""
    day = first
    while day <= course.as_of:
        yield day
        day += _days(course.rng.gauss(91, 15))
    if course.rng.random() < 0.05:
        yield day  # a visit already entered for after the assessment date


def _rate_alsfrs_r(course: _Course, day: dt.date, niv: bool) -> dict[str, int]:
    """Lower items until the total matches the expected loss; items never rise."""
    rng = course.rng
    target = round(48 - course.rate * course.months(day) + rng.gauss(0, 1.5))
    target = int(_clamp(target, 2, 48))
    weights = {
        group: (4 if group == course.onset_group else 1) if course.involved(group, day) else 0
        for group in _ITEMS
    }
    while sum(course.items.values()) > target:
        open_groups = [
            g for g in _ITEMS if weights[g] and any(course.items[i] > 0 for i in _ITEMS[g])
        ]
        if not open_groups:
            break
        group = rng.choices(open_groups, weights=[weights[g] for g in open_groups])[0]
        item = rng.choice([i for i in _ITEMS[group] if course.items[i] > 0])
        course.items[item] -= 1
    if niv:
        course.items["respiratory_insufficiency"] = min(
            course.items["respiratory_insufficiency"], 3
        )
    return dict(course.items)


def _respiratory(course: _Course, day: dt.date) -> dict[str, Any]:
    rng = course.rng
    since = max(0.0, course.months(day) - course.group_start["breathing"] / 2)
    fvc = _clamp(course.fvc_baseline - course.rate * 2.2 * since + rng.gauss(0, 4), 12, 130)
    entry: dict[str, Any] = {
        "date": str(day),
        "fvc_percent_predicted": round(fvc),
        "position": "sitting",
    }
    if rng.random() < 0.7:
        snip = course.snip_baseline - course.rate * 1.8 * since + rng.gauss(0, 5)
        entry["snip_cmh2o"] = round(_clamp(snip, 5, 140))
    if rng.random() < 0.2:
        entry["supine_fvc_percent_predicted"] = round(_clamp(fvc - rng.uniform(3, 20), 8, 130))
    if rng.random() < 0.3:
        entry["peak_cough_flow_l_min"] = round(_clamp(fvc * 4 + rng.gauss(0, 40), 60, 700))
    if fvc < 60 and rng.random() < 0.4:
        entry["paco2_kpa"] = round(rng.gauss(6.2 if fvc < 45 else 5.5, 0.4), 1)
    if rng.random() < 0.1:
        entry["nocturnal_spo2_below_90_percent_time"] = round(rng.uniform(0, 20), 1)
    if fvc < 80:
        entry["symptoms"] = sorted(rng.sample(_SYMPTOMS, k=rng.randint(0, 3)))
    return entry


def _findings(course: _Course) -> list[dict[str, Any]]:
    rng = course.rng
    findings: list[dict[str, Any]] = []
    for finding, region in _ONSET_FINDINGS[course.onset_group]:
        entry: dict[str, Any] = {"id": finding, "present": True}
        if region:
            entry["region"] = region
        if finding == "upper_extremity_weakness":
            entry["side"] = rng.choice(("left", "right"))
        findings.append(entry)
    if rng.random() < 0.6:
        findings.append({"id": "fasciculations", "present": True})
    if rng.random() < 0.4:
        findings.append({"id": "painful_muscle_spasms", "present": True})
    if rng.random() < 0.3:
        findings.append({"id": "hyperreflexia", "present": True, "region": "lumbosacral"})
    red_flag = rng.choice(_RED_FLAGS) if rng.random() < 0.06 else None
    findings.append({"id": "sensory_loss", "present": red_flag == "sensory_loss"})
    findings.append({"id": "sphincter_dysfunction", "present": red_flag == "sphincter_dysfunction"})
    if red_flag and red_flag not in ("sensory_loss", "sphincter_dysfunction"):
        findings.append({"id": red_flag, "present": True})
    return findings


def _exam(course: _Course, day: dt.date) -> dict[str, Any]:
    rng = course.rng
    exam: dict[str, Any] = {}
    for group, region in (*_GROUP_REGION.items(), ("leg", "thoracic")):
        if rng.random() < 0.08:
            exam[region] = None  # not examined
            continue
        involved = course.involved(group, day) and (region != "thoracic" or rng.random() < 0.4)
        signs: dict[str, bool] = {}
        if involved:
            signs |= {"weakness": True, "wasting": rng.random() < 0.8}
            signs["fasciculations"] = rng.random() < 0.7
        if rng.random() < (0.65 if involved else 0.2):
            signs["hyperreflexia"] = True
            if rng.random() < 0.5:
                signs["pathological_reflexes"] = True
            if region == "lumbosacral" and rng.random() < 0.5:
                signs["spasticity"] = True
        exam[region] = signs
    return exam


def _emg(course: _Course, day: dt.date) -> dict[str, Any]:
    rng = course.rng
    regions: dict[str, Any] = {}
    for group, region in (*_GROUP_REGION.items(), ("leg", "thoracic")):
        affected = course.involved(group, day) or rng.random() < 0.35
        needed = 1 if region in ("bulbar", "thoracic") else 2
        regions[region] = {
            "chronic_neurogenic": affected,
            "active_denervation": affected and rng.random() < 0.85,
            "fasciculation_potentials": affected and rng.random() < 0.7,
            "muscles": rng.randint(needed, needed + 3) if affected else 0,
        }
    block = rng.random() < 0.03
    emg: dict[str, Any] = {
        "date": str(day),
        "regions": regions,
        "motor_conduction_block": block,
        "sensory_conduction_abnormal": rng.random() < 0.04,
        "myopathic_units": False,
    }
    if course.onset_group == "bulbar" or rng.random() < 0.1:
        emg["rns_decrement"] = rng.random() < 0.3
    return emg


def _tests(course: _Course, day: dt.date) -> list[dict[str, Any]]:
    rng = course.rng
    drawn = str(day - _days(rng.uniform(7, 60)))
    tests: list[dict[str, Any]] = [
        {
            "id": "vitamin_b12",
            "date": drawn,
            "value": round(_clamp(rng.gauss(420, 130), 90, 1500)),
            "unit": "pg/mL",
        },
        {
            "id": "creatine_kinase",
            "date": drawn,
            "value": round(_clamp(rng.gauss(260, 160), 25, 2500)),
            "unit": "U/L",
            "upper_limit": 200,
        },
        {"id": "thyroid_function", "date": drawn, "result": "normal"},
        {"id": "calcium_pth", "date": drawn, "result": "normal"},
    ]
    if rng.random() < 0.85:
        abnormal = rng.random() < 0.05
        mri: dict[str, Any] = {"id": "mri_brain_spine", "date": drawn}
        mri["result"] = "abnormal" if abnormal else "normal"
        if abnormal:
            mri["finding"] = "degenerative cervical canal narrowing without cord compression"
        tests.append(mri)
    if course.onset_group == "arm" or rng.random() < 0.3:
        result = "positive" if rng.random() < 0.03 else "negative"
        tests.append({"id": "anti_gm1_antibodies", "date": drawn, "result": result})
    if course.onset_group == "bulbar" and rng.random() < 0.7:
        tests.append({"id": "achr_musk_antibodies", "date": drawn, "result": "negative"})
    if rng.random() < 0.1:
        tests.append({"id": "hiv_test", "date": drawn, "result": "negative"})
    return tests


def _genetics(rng: random.Random) -> list[dict[str, Any]]:
    if rng.random() < 0.45:
        return []
    draw = rng.random()
    c9 = "pathogenic" if draw < 0.08 else "negative"
    sod1 = "pathogenic" if 0.08 <= draw < 0.1 else ("vus" if draw > 0.98 else "negative")
    results = [{"gene": "C9orf72", "result": c9}, {"gene": "SOD1", "result": sod1}]
    if sod1 == "pathogenic":
        results[1]["variant"] = rng.choice(("p.Ala5Val", "p.Asp91Ala", "p.Gly94Ala"))
    if rng.random() < 0.5:
        results += [{"gene": "FUS", "result": "negative"}, {"gene": "TARDBP", "result": "negative"}]
    return results


def _medications(
    course: _Course, diagnosis: dt.date | None, jurisdiction: str, sod1: bool
) -> list[dict[str, Any]]:
    rng = course.rng
    if diagnosis is None:
        return []
    medications: list[dict[str, Any]] = []
    if rng.random() < 0.85:
        riluzole: dict[str, Any] = {
            "name": "riluzole",
            "since": str(diagnosis + _days(rng.uniform(0, 45))),
        }
        if rng.random() < 0.05:
            riluzole["until"] = str(diagnosis + _days(rng.uniform(60, 400)))
        medications.append(riluzole)
    if jurisdiction in ("US", "JP", "CA") and rng.random() < 0.15:
        medications.append(
            {"name": "edaravone", "since": str(diagnosis + _days(rng.uniform(30, 200)))}
        )
    if sod1 and jurisdiction in ("US", "EU", "UK"):
        medications.append(
            {"name": "tofersen", "since": str(diagnosis + _days(rng.uniform(30, 120)))}
        )
    for drug in _SYMPTOMATIC_DRUGS:
        if rng.random() < 0.12:
            medications.append({"name": drug, "since": str(diagnosis + _days(rng.uniform(0, 500)))})
    return medications


def _labs(course: _Course, visits: list[dt.date], medications: list[dict[str, Any]]) -> list[Any]:
    rng = course.rng
    if not any(m["name"] == "riluzole" for m in medications):
        return []
    labs: list[dict[str, Any]] = []
    for day in visits:
        raised = rng.random() < 0.05
        alt = rng.uniform(80, 240) if raised else _clamp(rng.gauss(28, 10), 6, 120)
        labs.append(
            {"id": "alt", "date": str(day), "value": round(alt), "unit": "U/L", "upper_limit": 40}
        )
        if rng.random() < 0.5:
            neutrophils = round(_clamp(rng.gauss(4.2, 1.3), 0.4, 12), 1)
            labs.append(
                {"id": "neutrophils", "date": str(day), "value": neutrophils, "unit": "10^9/L"}
            )
    return labs


def patient_record(index: int, *, seed: int = SEED, as_of: dt.date = AS_OF) -> dict[str, Any]:
    """Patient ``index`` of the cohort as a JSON-ready record v1 dict."""
    return _patient_v1(index, seed, as_of)[0]


def _patient_v1(index: int, seed: int, as_of: dt.date) -> tuple[dict[str, Any], _Course]:
    """The record v1 and the course it was drawn from (the synthetic cohort reads its rate)."""
    rng = random.Random(f"{seed}-{index}")
    sex = _weighted(rng, (("male", 57), ("female", 41), ("other", 1), ("unknown", 1)))
    jurisdiction = JURISDICTIONS[index % len(JURISDICTIONS)]
    onset = as_of - _days(rng.uniform(3, 72) * _DAYS_PER_MONTH)
    age_at_onset = _clamp(rng.gauss(60, 11), 22, 88)
    birth = onset - _days(age_at_onset * _DAYS_PER_YEAR)
    site = _weighted(rng, _ONSET_SITES)
    onset_group = _ONSET_GROUP[site]
    group_start = {group: rng.uniform(2, 20) for group in _ITEMS}
    group_start[onset_group] = 0.0
    group_start["breathing"] = max(group_start["breathing"], rng.uniform(6, 30))
    if site == "respiratory":
        group_start["breathing"] = 0.0
    course = _Course(
        rng=rng,
        onset=onset,
        as_of=as_of,
        rate=_clamp(rng.lognormvariate(_RATE_LOG_MEAN, _RATE_LOG_SD), 0.08, 4.0),
        onset_group=onset_group,
        group_start=group_start,
        items={item: 4 for items in _ITEMS.values() for item in items},
        fvc_baseline=_clamp(rng.gauss(96, 11), 60, 125),
        snip_baseline=_clamp(rng.gauss(82 if sex == "male" else 70, 15), 30, 140),
    )
    diagnosed = rng.random() < 0.92
    diagnosis = onset + _days(rng.uniform(3, 30) * _DAYS_PER_MONTH) if diagnosed else None
    if diagnosis and diagnosis > as_of and rng.random() < 0.9:
        diagnosis = None  # not yet diagnosed on as_of (a few keep a later date, to be ignored)
    first_visit = diagnosis or onset + _days(rng.uniform(3, 12) * _DAYS_PER_MONTH)
    visits = list(_visits(course, min(first_visit, as_of)))

    record: dict[str, Any] = {
        "schema": "alscare.patient/v1",
        "id": f"B-{index:05d}",
        "sex": sex,
        "jurisdiction": jurisdiction,
        "symptom_onset": {"date": str(onset), "site": site},
        "progressive": True if rng.random() < 0.95 else None,
        "findings": _findings(course),
        "family_history": {"als": rng.random() < 0.07, "ftd": rng.random() < 0.04},
        "risk_factors": sorted(f for f in _RISK_FACTORS if rng.random() < 0.12),
    }
    if rng.random() < 0.9:
        record["birth_date"] = str(birth)
    else:
        record["age_years"] = int((as_of - birth).days / _DAYS_PER_YEAR)
    if rng.random() < 0.9:
        record["height_cm"] = round(rng.gauss(176 if sex == "male" else 163, 7))
    if diagnosis is not None:
        record["diagnosis_date"] = str(diagnosis)
    record["exam"] = _exam(course, visits[0])
    if rng.random() < 0.75:
        record["emg"] = _emg(course, visits[0] - _days(rng.uniform(5, 40)))
    record["tests"] = _tests(course, visits[0])
    record["genetics"] = _genetics(rng)
    sod1 = any(g["gene"] == "SOD1" and g["result"] == "pathogenic" for g in record["genetics"])

    premorbid = _clamp(rng.gauss(80 if sex == "male" else 66, 11), 42, 140)
    record["premorbid_weight_kg"] = round(premorbid, 1)
    niv_since: dt.date | None = None
    gastrostomy_since: dt.date | None = None
    ratings, respiratory, weights = [], [], []
    for day in visits:
        breathing = _respiratory(course, day)
        fvc = breathing["fvc_percent_predicted"]
        if niv_since is None and (fvc < 50 or (fvc < 75 and breathing.get("symptoms"))):
            niv_since = day if rng.random() < 0.7 else None
        items = _rate_alsfrs_r(course, day, niv=niv_since is not None)
        if gastrostomy_since is None and items["swallowing"] <= 1 and rng.random() < 0.6:
            gastrostomy_since = day
        rating: dict[str, Any] = {"date": str(day), "items": items}
        rating["gastrostomy"] = gastrostomy_since is not None
        ratings.append(rating)
        respiratory.append(breathing)
        lost = min(0.3, course.rate * 0.01 * course.months(day) * rng.uniform(0.5, 1.5))
        weights.append({"date": str(day), "kg": round(premorbid * (1 - lost), 1)})
    record["alsfrs_r"] = ratings
    record["respiratory"] = respiratory
    record["weights"] = weights
    if rng.random() < 0.7:
        ftd = rng.random() < 0.08
        ecas = round(_clamp(rng.gauss(92 if ftd else 110, 12), 20, 136))
        record["cognition"] = {
            "ftd": ftd,
            "ecas_total": ecas,
            "behaviour_change": ftd or rng.random() < 0.1,
            "date": str(visits[0]),
        }
    record["medications"] = _medications(course, diagnosis, jurisdiction, sod1)
    record["labs"] = _labs(course, visits, record["medications"])
    interventions: dict[str, Any] = {}
    if niv_since is not None:
        interventions["niv"] = {
            "since": str(niv_since),
            "hours_per_day": rng.choice((8, 10, 12, 16)),
        }
    elif rng.random() < 0.03:
        interventions["niv"] = {"declined": True}
    if gastrostomy_since is not None:
        interventions["gastrostomy"] = {"since": str(gastrostomy_since)}
    if niv_since is not None and rng.random() < 0.02:
        interventions["tracheostomy"] = {"since": str(visits[-1])}
    if interventions:
        record["interventions"] = interventions
    record["care"] = {
        "advance_care_plan": rng.random() < 0.35,
        "palliative_care_referral": rng.random() < 0.25,
        "multidisciplinary_clinic": rng.random() < 0.8,
    }
    return record, course


def cohort_records(count: int, *, seed: int = SEED, as_of: dt.date = AS_OF) -> list[dict[str, Any]]:
    """The first ``count`` patients of the cohort, as records v1."""
    return [patient_record(index, seed=seed, as_of=as_of) for index in range(count)]


def patient_record_v2(index: int, *, seed: int = SEED, as_of: dt.date = AS_OF) -> dict[str, Any]:
    """Patient ``index`` of the cohort as a JSON-ready longitudinal record v2 dict.

    The patient's course is the one of :func:`patient_record` (same seed, same ratings and
    breathing tests); what v2 can hold beyond v1 is drawn from a second generator, so it never
    shifts the v1 draws: an examination at every visit, dated findings and screens, intervention
    events, care events, a stopped drug and, for a few, death.
    """
    return _patient_v2(index, seed, as_of)[0]


def _patient_v2(index: int, seed: int, as_of: dt.date) -> tuple[dict[str, Any], _Course]:
    """The record v2 and the course of its v1 draws (the synthetic cohort reads its rate)."""
    record, progression = _patient_v1(index, seed, as_of)
    rng = random.Random(f"{seed}-{index}-v2")
    visits = [dt.date.fromisoformat(rating["date"]) for rating in record["alsfrs_r"]]
    first = visits[0]
    course = _course_of(record, rng, as_of)
    v2: dict[str, Any] = {
        **{key: value for key, value in record.items() if key not in _V1_ONLY},
        "schema": "alscare.patient/v2",
        "findings": [{**finding, "date": str(first)} for finding in record["findings"]],
        "examinations": _examinations(course, visits),
        "alsfrs_r": record["alsfrs_r"],
    }
    if "emg" in record:
        v2["emg_studies"] = [record["emg"]]
    if "age_years" in record:
        v2["age_on"] = str(as_of)
    if "cognition" in record:
        v2["cognition"] = _screens(record["cognition"], visits, rng)
    v2["interventions"] = _intervention_events(record, rng)
    v2["care"] = _care_events(record["care"], visits, rng)
    v2["medications"] = _stopped_sometimes(record["medications"], rng)
    if rng.random() < 0.03:
        v2["death"] = {"date": str(_latest_date(v2) + _days(rng.uniform(10, 60)))}
    return v2, progression


def _latest_date(data: Any) -> dt.date:
    """The latest date anywhere in JSON-ready data (death comes after all of them)."""
    if isinstance(data, dict):
        found = [_latest_date(value) for value in data.values()]
    elif isinstance(data, list):
        found = [_latest_date(item) for item in data]
    elif isinstance(data, str) and len(data) == 10 and data[4] == "-" and data[7] == "-":
        return dt.date.fromisoformat(data)
    else:
        return dt.date.min
    return max(found, default=dt.date.min)


_V1_ONLY = ("exam", "emg", "cognition", "interventions", "care")


def _examinations(course: _Course, visits: list[dt.date]) -> list[dict[str, Any]]:
    """An examination at every visit that examined at least one region."""
    examinations: list[dict[str, Any]] = [
        {"date": str(day), "regions": _exam(course, day)} for day in visits
    ]
    return [e for e in examinations if any(signs is not None for signs in e["regions"].values())]


def _course_of(record: dict[str, Any], rng: random.Random, as_of: dt.date) -> _Course:
    """A course for drawing examinations that involves regions in the order the ratings show."""
    onset = dt.date.fromisoformat(record["symptom_onset"]["date"])
    group = _ONSET_GROUP[record["symptom_onset"]["site"]]
    starts = {name: rng.uniform(2, 20) for name in _ITEMS}
    starts[group] = 0.0
    return _Course(rng=rng, onset=onset, as_of=as_of, rate=1.0, onset_group=group,
                   group_start=starts)  # fmt: skip


def _screens(
    cognition: dict[str, Any], visits: list[dt.date], rng: random.Random
) -> list[dict[str, Any]]:
    screens = [{"date": str(visits[0]), **{k: v for k, v in cognition.items() if k != "date"}}]
    if len(visits) > 4 and rng.random() < 0.5:
        repeat = {**screens[0], "date": str(visits[4])}
        repeat["ecas_total"] = max(0, screens[0]["ecas_total"] - rng.randint(0, 12))
        screens.append(repeat)
    return screens


def _intervention_events(record: dict[str, Any], rng: random.Random) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for kind, intervention in record.get("interventions", {}).items():
        if intervention.get("declined"):
            day = record["alsfrs_r"][-1]["date"]
            events += [
                {"kind": kind, "event": "offered", "date": day},
                {"kind": kind, "event": "declined", "date": day},
            ]
            continue
        since = dt.date.fromisoformat(intervention["since"])
        offered = str(since - _days(rng.uniform(7, 45)))
        events.append({"kind": kind, "event": "offered", "date": offered})
        started: dict[str, Any] = {"kind": kind, "event": "started", "date": str(since)}
        if intervention.get("hours_per_day") is not None:
            started["hours_per_day"] = intervention["hours_per_day"]
        events.append(started)
    return events


def _care_events(
    care: dict[str, bool], visits: list[dt.date], rng: random.Random
) -> list[dict[str, Any]]:
    return [
        {"kind": kind, "date": str(rng.choice(visits))}
        for kind, recorded in care.items()
        if recorded
    ]


def _stopped_sometimes(
    medications: list[dict[str, Any]], rng: random.Random
) -> list[dict[str, Any]]:
    stopped = []
    for medication in medications:
        if "until" in medication:
            reason = rng.choice(("adverse_effect", "patient_choice", "ineffective"))
            medication = {**medication, "stop_reason": reason}
        stopped.append(medication)
    return stopped


def cohort_records_v2(
    count: int, *, seed: int = SEED, as_of: dt.date = AS_OF
) -> list[dict[str, Any]]:
    """The first ``count`` patients of the cohort, as records v2."""
    return [patient_record_v2(index, seed=seed, as_of=as_of) for index in range(count)]


# The synthetic registry cohort ----------------------------------------------------------------

# Age at onset (years): the mean is BMJ Best Practice's; the SD and the limits are plausible, not
# published (the limits are the benchmark cohort's).
_AGE_AT_ONSET_MEAN: Final = 57.0
_AGE_AT_ONSET_SD: Final = 11.0
_AGE_AT_ONSET_LIMITS: Final = (22.0, 88.0)
# Survival from onset (months), log-normal: the median is Lester 2025's; the log-SD is the one
# that leaves 10 % alive at 10 years (120 months), as a secondary source reports.
_SURVIVAL_MEDIAN_MONTHS: Final = 30.0
_SURVIVAL_LOG_SD: Final = math.log(120 / _SURVIVAL_MEDIAN_MONTHS) / NormalDist().inv_cdf(0.9)
# Faster progression, shorter survival: their correlation on the log scale (plausible, not
# published).
_PROGRESSION_SURVIVAL_CORRELATION: Final = -0.7
# The share of patients with two visits or more who are lost to follow-up (plausible, not
# published).
_DROPOUT_SHARE: Final = 0.10
# The series of dated entries that follow-up cuts (medications are dated by since and until).
_CUT_SERIES: Final = tuple(name for name in SERIES if name != "medications")


def synthetic_record(index: int, *, seed: int = SEED, as_of: dt.date = AS_OF) -> Record:
    """Patient ``index`` of the synthetic registry cohort: a JSON-ready record v2 dict as a
    registry holds it on ``as_of``, marked synthetic by its id (see the module docstring).

    It is the benchmark patient of the same seed with the age at onset drawn again, then death
    and dropout drawn from a generator of its own, and everything after the end of follow-up
    left out: death, dropout, or ``as_of``, whichever comes first.
    """
    record, progression = _patient_v2(index, seed, as_of)
    rng = random.Random(f"{seed}-{index}-synth")
    record.pop("death", None)  # the benchmark's few deaths give way to the survival drawn here
    visits = _visit_days(record, as_of)
    _draw_age_at_onset(record, rng, progression.onset, visits[0])
    death = _death_day(rng, progression, visits[0])
    dropout = _dropout_day(rng, visits)
    followed_until = min(dropout, as_of) if dropout else as_of
    if death <= followed_until:
        _cut(record, death - dt.timedelta(days=1))
        record["death"] = {"date": str(death)}
    else:
        _cut(record, followed_until)
    record["id"] = f"{SYNTHETIC_ID_PREFIX}{index:07d}"
    return record


def synthetic_cohort(count: int, *, seed: int = SEED, as_of: dt.date = AS_OF) -> Iterator[Record]:
    """The first ``count`` patients of the synthetic registry cohort, one at a time: a
    generator, so a cohort of millions never sits in memory."""
    for index in range(count):
        yield synthetic_record(index, seed=seed, as_of=as_of)


def write_jsonl(records: Iterable[Record], path: str | os.PathLike[str]) -> int:
    """Write ``records`` to ``path`` as JSON Lines (one compact JSON object a line, UTF-8) and
    return how many were written.

    The records are consumed one at a time. They go to a hidden partial file beside ``path``
    that replaces it only once every record is written, so an interrupted run never leaves a
    cohort that looks whole.
    """
    target = Path(path)
    partial = target.with_name(f".{target.name}.partial")
    written = 0
    try:
        with partial.open("w", encoding="utf-8", newline="\n") as out:
            for record in records:
                out.write(json.dumps(record, separators=(",", ":")) + "\n")
                written += 1
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return written


def _visit_days(record: Record, as_of: dt.date) -> list[dt.date]:
    """The visits on or before ``as_of`` (there is always one: the first is never later)."""
    days = (dt.date.fromisoformat(rating["date"]) for rating in record["alsfrs_r"])
    return sorted(day for day in days if day <= as_of)


def _draw_age_at_onset(
    record: Record, rng: random.Random, onset: dt.date, first_visit: dt.date
) -> None:
    """Replace the benchmark's age at onset by one drawn around the published mean; a record
    that gives an age instead of a birth date gives it on the first visit."""
    low, high = _AGE_AT_ONSET_LIMITS
    age_at_onset = _clamp(rng.gauss(_AGE_AT_ONSET_MEAN, _AGE_AT_ONSET_SD), low, high)
    birth = onset - _days(age_at_onset * _DAYS_PER_YEAR)
    if "birth_date" in record:
        record["birth_date"] = str(birth)
    else:
        record["age_years"] = int((first_visit - birth).days / _DAYS_PER_YEAR)
        record["age_on"] = str(first_visit)


def _death_day(rng: random.Random, progression: _Course, first_visit: dt.date) -> dt.date:
    """The day of death: onset plus a log-normal survival correlated with the progression rate,
    drawn given survival past the first visit (the patient entered the registry alive)."""
    rho = _PROGRESSION_SURVIVAL_CORRELATION
    spread = math.sqrt(1 - rho**2)
    rate_z = (math.log(progression.rate) - _RATE_LOG_MEAN) / _RATE_LOG_SD
    entered = progression.months(first_visit + dt.timedelta(days=1))
    lowest_z = math.log(entered / _SURVIVAL_MEDIAN_MONTHS) / _SURVIVAL_LOG_SD
    noise = _normal_above(rng, (lowest_z - rho * rate_z) / spread)
    months = _SURVIVAL_MEDIAN_MONTHS * math.exp(_SURVIVAL_LOG_SD * (rho * rate_z + spread * noise))
    # Rounding to whole days could land on the first visit: death comes at least a day after it.
    return max(progression.onset + _days(months * _DAYS_PER_MONTH), first_visit + _days(1))


def _normal_above(rng: random.Random, low: float) -> float:
    """A standard normal draw given that it is above ``low`` (by inverting the distribution)."""
    normal = NormalDist()
    floor = normal.cdf(low)
    # inv_cdf needs 0 < p < 1; at the far tail the caller's own floor keeps death after entry
    p = min(max(floor + rng.random() * (1 - floor), 1e-12), 1 - 1e-12)
    return normal.inv_cdf(p)


def _dropout_day(rng: random.Random, visits: list[dt.date]) -> dt.date | None:
    """The visit after which the patient is lost to follow-up, for a few: never the last."""
    if rng.random() >= _DROPOUT_SHARE or len(visits) < 2:
        return None
    return visits[rng.randrange(len(visits) - 1)]


def _cut(record: Record, last: dt.date) -> None:
    """Leave out everything dated after ``last``, the last day the registry followed the
    patient; a drug stopped later was still taken then, so its stop is left out too."""
    day = str(last)  # ISO dates compare as strings
    for name in _CUT_SERIES:
        if name in record:
            record[name] = [entry for entry in record[name] if entry.get("date", "") <= day]
    medications = [m for m in record["medications"] if m.get("since", "") <= day]
    record["medications"] = [_taken_on(medication, day) for medication in medications]
    if record.get("diagnosis_date", "") > day:
        del record["diagnosis_date"]


def _taken_on(medication: Record, day: str) -> Record:
    if medication.get("until", "") <= day:
        return medication
    return {k: v for k, v in medication.items() if k not in ("until", "stop_reason")}
