"""The benchmark cohort (alscare.cohort.synth) is made of valid, deterministic, varied records: the
longitudinal v2 records the benchmarks time, and the v1 records of the upgrade path."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from alscare import parse_record
from alscare.cohort.synth import (
    AS_OF,
    JURISDICTIONS,
    cohort_records,
    cohort_records_v2,
    patient_record,
    patient_record_v2,
)

COHORT = cohort_records(300)
COHORT_V2 = cohort_records_v2(300)

Record = dict[str, Any]


def _share(cohort: list[Record], predicate: Callable[[Record], object]) -> float:
    return sum(1 for data in cohort if predicate(data)) / len(cohort)


def test_cohort_records_all_validate():
    for cohort, schema in ((COHORT, "alscare.patient/v1"), (COHORT_V2, "alscare.patient/v2")):
        records = [parse_record(data) for data in cohort]
        assert len({record.id for record in records}) == len(cohort)
        assert {data["schema"] for data in cohort} == {schema}


def test_cohort_records_same_seed_same_records():
    assert cohort_records(20) == COHORT[:20]
    assert patient_record(7) == COHORT[7]
    assert patient_record(7, seed=1) != COHORT[7]
    assert cohort_records_v2(20) == COHORT_V2[:20]
    assert patient_record_v2(7) == COHORT_V2[7]
    assert patient_record_v2(7, seed=1) != COHORT_V2[7]


def test_cohort_records_v2_follow_the_v1_patient():
    for v1, v2 in zip(COHORT[:50], COHORT_V2[:50], strict=True):
        assert v2["id"] == v1["id"]
        assert v2["alsfrs_r"] == v1["alsfrs_r"]
        assert v2["symptom_onset"] == v1["symptom_onset"]


def test_cohort_records_cover_every_jurisdiction_and_onset_site():
    for cohort in (COHORT, COHORT_V2):
        assert set(Counter(data["jurisdiction"] for data in cohort)) == set(JURISDICTIONS)
        sites = Counter(data["symptom_onset"]["site"] for data in cohort)
        assert {"bulbar", "cervical", "lumbosacral"} <= set(sites)


def test_cohort_records_alsfrs_r_items_never_rise():
    for data in COHORT_V2:
        ratings = sorted(data["alsfrs_r"], key=lambda rating: rating["date"])
        for earlier, later in zip(ratings, ratings[1:], strict=False):
            assert all(later["items"][k] <= v for k, v in earlier["items"].items()), data["id"]


def test_cohort_records_hold_the_parts_the_engine_reads():
    assert _share(COHORT, lambda d: len(d["alsfrs_r"]) >= 3) > 0.5
    assert _share(COHORT, lambda d: "emg" in d) > 0.5
    assert _share(COHORT, lambda d: d["genetics"]) > 0.3
    assert _share(COHORT, lambda d: d["labs"]) > 0.5
    assert _share(COHORT, lambda d: "interventions" in d) > 0.05
    assert 0 < _share(COHORT, lambda d: any(r["date"] > str(AS_OF) for r in d["alsfrs_r"])) < 0.2


def test_cohort_records_v2_are_longitudinal():
    assert _share(COHORT_V2, lambda d: len(d["examinations"]) >= 2) > 0.5
    assert _share(COHORT_V2, lambda d: d.get("emg_studies")) > 0.5
    assert all("date" in finding for data in COHORT_V2 for finding in data["findings"])
    events = Counter(
        (event["kind"], event["event"]) for data in COHORT_V2 for event in data["interventions"]
    )
    assert {("niv", "offered"), ("niv", "started"), ("gastrostomy", "started")} <= set(events)
    assert _share(COHORT_V2, lambda d: d.get("care")) > 0.5
    assert 0 < _share(COHORT_V2, lambda d: "death" in d) < 0.1
