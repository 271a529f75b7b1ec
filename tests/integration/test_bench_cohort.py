"""The benchmark cohort (bench/cohort.py) is made of valid, deterministic, varied records."""

from __future__ import annotations

from collections import Counter

from bench.cohort import AS_OF, JURISDICTIONS, cohort_records, patient_record

from alscare import parse_record

COHORT = cohort_records(300)


def test_cohort_records_all_validate():
    records = [parse_record(data) for data in COHORT]
    assert len({record.id for record in records}) == len(COHORT)


def test_cohort_records_same_seed_same_records():
    assert cohort_records(20) == COHORT[:20]
    assert patient_record(7) == COHORT[7]
    assert patient_record(7, seed=1) != COHORT[7]


def test_cohort_records_cover_every_jurisdiction_and_onset_site():
    assert set(Counter(data["jurisdiction"] for data in COHORT)) == set(JURISDICTIONS)
    sites = Counter(data["symptom_onset"]["site"] for data in COHORT)
    assert {"bulbar", "cervical", "lumbosacral"} <= set(sites)


def test_cohort_records_alsfrs_r_items_never_rise():
    for data in COHORT:
        ratings = sorted(data["alsfrs_r"], key=lambda rating: rating["date"])
        for earlier, later in zip(ratings, ratings[1:], strict=False):
            assert all(later["items"][k] <= v for k, v in earlier["items"].items()), data["id"]


def test_cohort_records_hold_the_parts_the_engine_reads():
    def share(predicate) -> float:
        return sum(1 for data in COHORT if predicate(data)) / len(COHORT)

    assert share(lambda d: len(d["alsfrs_r"]) >= 3) > 0.5
    assert share(lambda d: "emg" in d) > 0.5
    assert share(lambda d: d["genetics"]) > 0.3
    assert share(lambda d: d["labs"]) > 0.5
    assert share(lambda d: "interventions" in d) > 0.05
    assert 0 < share(lambda d: any(r["date"] > str(AS_OF) for r in d["alsfrs_r"])) < 0.2
