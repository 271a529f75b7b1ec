"""The synthetic registry cohort (alscare.cohort.synth): deterministic, streamed, valid v2
records marked synthetic, with the mix its docstring documents, dropout and death; and the
benchmark cohort beside it left as it was (the golden digest checks its bytes)."""

from __future__ import annotations

import datetime as dt
import json
import random
import statistics
from collections import Counter
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from alscare.cohort.synth import (
    AS_OF,
    SEED,
    SYNTHETIC_ID_PREFIX,
    _Course,
    _death_day,
    patient_record_v2,
    synthetic_cohort,
    synthetic_record,
    write_jsonl,
)
from alscare.knowledge import KnowledgeBase
from alscare.schemas.patient import PatientRecord
from alscare.schemas.records import parse_record

SIZE = 2_000
COHORT = list(synthetic_cohort(SIZE))
PARSED = [parse_record(data) for data in COHORT]
DAYS_PER_MONTH = 30.4375

Record = dict[str, Any]


def _share(predicate: Any, records: list[Record] = COHORT) -> float:
    return sum(1 for data in records if predicate(data)) / len(records)


def _months(start: dt.date, end: dt.date) -> float:
    return (end - start).days / DAYS_PER_MONTH


def _progression(data: Record) -> float:
    """The delta-FS of the last rating: points lost per month since onset."""
    last = data["alsfrs_r"][-1]
    onset = dt.date.fromisoformat(data["symptom_onset"]["date"])
    lost = 48 - sum(score for score in last["items"].values())
    return lost / _months(onset, dt.date.fromisoformat(last["date"]))


def _ratings_until(data: Record, day: dt.date) -> list[Record]:
    return [rating for rating in data["alsfrs_r"] if rating["date"] <= str(day)]


# Same seed, same bytes; streamed -------------------------------------------------------------


def test_write_jsonl_same_seed_same_bytes(tmp_path: Path):
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert write_jsonl(synthetic_cohort(150, seed=7), first) == 150
    assert write_jsonl(synthetic_cohort(150, seed=7), second) == 150
    assert first.read_bytes() == second.read_bytes()
    lines = first.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 150
    assert json.loads(lines[42]) == synthetic_record(42, seed=7)
    assert lines[0] == json.dumps(synthetic_record(0, seed=7), separators=(",", ":"))


def test_synthetic_cohort_patient_is_the_same_whatever_the_size():
    assert list(synthetic_cohort(20)) == COHORT[:20]
    assert synthetic_record(1234) == COHORT[1234]


def test_synthetic_cohort_different_seeds_differ(tmp_path: Path):
    write_jsonl(synthetic_cohort(50, seed=1), tmp_path / "one.jsonl")
    write_jsonl(synthetic_cohort(50, seed=2), tmp_path / "two.jsonl")
    one = (tmp_path / "one.jsonl").read_text(encoding="utf-8").splitlines()
    two = (tmp_path / "two.jsonl").read_text(encoding="utf-8").splitlines()
    assert all(a != b for a, b in zip(one, two, strict=True))
    assert synthetic_cohort_ids(one) == synthetic_cohort_ids(two)  # ids are the index, not the seed


def synthetic_cohort_ids(lines: list[str]) -> list[str]:
    return [json.loads(line)["id"] for line in lines]


def test_synthetic_cohort_streams_without_building_the_cohort():
    cohort = synthetic_cohort(10**12)  # a list of this size could never be built
    assert isinstance(cohort, Generator)
    assert next(cohort) == COHORT[0]
    assert next(cohort) == COHORT[1]


def test_write_jsonl_consumes_records_one_at_a_time_and_leaves_no_part_on_failure(
    tmp_path: Path,
):
    target = tmp_path / "cohort.jsonl"
    target.write_text("the previous cohort\n", encoding="utf-8")
    consumed: list[str] = []

    def failing() -> Iterator[Record]:
        for data in synthetic_cohort(5):
            consumed.append(data["id"])
            yield data
        raise RuntimeError("the generator broke after five records")

    with pytest.raises(RuntimeError, match="after five records"):
        write_jsonl(failing(), target)
    assert consumed == [f"{SYNTHETIC_ID_PREFIX}{i:07d}" for i in range(5)]
    assert target.read_text(encoding="utf-8") == "the previous cohort\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["cohort.jsonl"]


# Valid records v2, marked synthetic, nothing after the end of follow-up ----------------------


def test_synthetic_records_all_validate_as_v2():
    assert {data["schema"] for data in COHORT} == {"alscare.patient/v2"}
    assert all(isinstance(record, PatientRecord) for record in PARSED)
    assert len({record.id for record in PARSED}) == SIZE


def test_synthetic_records_are_marked_synthetic_and_carry_no_identity():
    for index, (data, record) in enumerate(zip(COHORT, PARSED, strict=True)):
        assert record.id == f"SYN-{index:07d}"
        assert "identity" not in data
        assert record.identity is None


def test_synthetic_records_hold_nothing_after_as_of():
    for record in PARSED:
        assert all(when <= AS_OF for _, when in record.dated_entries()), record.id


def test_synthetic_records_follow_the_benchmark_patient_until_follow_up_ends():
    for index, data in enumerate(COHORT[:300]):
        benchmark = patient_record_v2(index)
        assert data["symptom_onset"] == benchmark["symptom_onset"]
        ratings = data["alsfrs_r"]
        assert ratings == benchmark["alsfrs_r"][: len(ratings)], data["id"]
        assert ratings, data["id"]  # every patient entered the registry at a first visit


# The mix the module docstring documents (fixed seed: the shares are the same on every run) ---


def test_synthetic_cohort_onset_sites_as_documented():
    sites = Counter(data["symptom_onset"]["site"] for data in COHORT)
    # bulbar onset inside the 25-33 % secondary sources report; the documented split is 28 %
    assert 0.25 <= sites["bulbar"] / SIZE <= 0.33
    for site, documented in (("cervical", 0.35), ("lumbosacral", 0.30)):
        assert abs(sites[site] / SIZE - documented) < 0.04, site
    rare = sum(sites[site] for site in ("respiratory", "thoracic", "generalized", "cognitive"))
    assert 0.04 <= rare / SIZE <= 0.10
    assert set(sites) == {
        "cervical",
        "lumbosacral",
        "bulbar",
        "respiratory",
        "thoracic",
        "generalized",
        "cognitive",
    }


def test_synthetic_cohort_sex_ratio_as_documented():
    sexes = Counter(data["sex"] for data in COHORT)
    assert 1.25 <= sexes["male"] / sexes["female"] <= 1.55  # 1.39 documented, 1.3-1.5 published


def test_synthetic_cohort_age_at_onset_as_documented():
    ages = [
        (record.symptom_onset.date - record.birth_date).days / 365.25
        for record in PARSED
        if record.birth_date and record.symptom_onset and record.symptom_onset.date
    ]
    assert len(ages) > 0.8 * SIZE
    assert abs(statistics.mean(ages) - 57) < 1.0  # the published mean; the benchmark's is 60
    assert abs(statistics.stdev(ages) - 11) < 1.0
    assert min(ages) >= 22 and max(ages) <= 88.1


def test_synthetic_cohort_progression_bands_as_documented(kb: KnowledgeBase):
    bands = kb.scoring.progression_bands
    shares: Counter[str] = Counter()
    for data in COHORT:
        rate = _progression(data)
        band = "slow" if rate < bands.slow_below else "fast" if rate > bands.fast_above else "mid"
        shares[band] += 1
    for band, documented in (("slow", 0.37), ("mid", 0.42), ("fast", 0.20)):
        assert abs(shares[band] / SIZE - documented) < 0.05, band


# Death and dropout ----------------------------------------------------------------------------


def test_synthetic_cohort_deaths_end_follow_up():
    deaths = [data for data in COHORT if "death" in data]
    assert 0.35 < len(deaths) / SIZE < 0.5  # about 41 % documented
    for data in deaths:
        died = data["death"]["date"]
        assert died <= str(AS_OF)
        assert all(rating["date"] < died for rating in data["alsfrs_r"]), data["id"]


def test_synthetic_cohort_faster_progression_shorter_survival():
    def survival(data: Record) -> float:
        onset = dt.date.fromisoformat(data["symptom_onset"]["date"])
        return _months(onset, dt.date.fromisoformat(data["death"]["date"]))

    deaths = sorted((data for data in COHORT if "death" in data), key=_progression)
    third = len(deaths) // 3
    slowest, fastest = deaths[:third], deaths[-third:]
    assert statistics.median(map(survival, fastest)) < 0.7 * statistics.median(
        map(survival, slowest)
    )


def test_synthetic_cohort_drops_out_about_one_in_twelve():
    followed, dropped = 0, 0
    for index, data in enumerate(COHORT):
        visits = _ratings_until(patient_record_v2(index), AS_OF)
        if len(visits) < 2:
            continue
        followed += 1
        if "death" not in data and len(data["alsfrs_r"]) < len(visits):
            dropped += 1
            assert data["alsfrs_r"][-1]["date"] < visits[-1]["date"]
    # 10 % drawn; those who die before their dropout visit show the death: about 8 % documented
    assert 0.06 < dropped / followed < 0.10


def test_death_day_follows_the_documented_survival_law():
    # The law is internal: no record shows it uncensored, so it is sampled here directly.
    rng = random.Random(SEED)
    onset = dt.date(2000, 1, 1)
    months = []
    for _ in range(20_000):
        rate = min(max(rng.lognormvariate(-0.5, 0.6), 0.08), 4.0)
        course = _Course(rng, onset, AS_OF, rate, "arm", {})
        months.append(_months(onset, _death_day(rng, course, onset + dt.timedelta(days=1))))
    assert abs(statistics.median(months) - 30) < 1.5  # Lester 2025: median about 30 months
    assert abs(sum(m > 120 for m in months) / len(months) - 0.10) < 0.015  # 10 % at 10 years


def test_death_day_never_before_the_patient_entered():
    rng = random.Random(SEED)
    onset = dt.date(2020, 1, 1)
    for rate in (0.08, 1.0, 4.0):
        course = _Course(rng, onset, AS_OF, rate, "bulbar", {})
        for entered in (onset + dt.timedelta(days=90), onset + dt.timedelta(days=3000)):
            assert all(_death_day(rng, course, entered) > entered for _ in range(200))
