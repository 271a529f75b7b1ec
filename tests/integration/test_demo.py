"""The demo patients are dated relative to the day the demo starts: every date of each example,
the birth date included, moves by one offset so the latest entry is three weeks old, and the
patient's clinical picture on that day is the example's three weeks after its own last visit."""

from __future__ import annotations

import datetime as dt

import pytest

from alscare import KnowledgeBase, assess
from alscare.demo import LATEST_ENTRY_DAYS_AGO, dated_for, demo_records
from alscare.presentation import age
from alscare.schemas.patient import PatientRecord
from tests.builders import make_record_v2

TODAY = dt.date(2026, 12, 3)
EXAMPLES = demo_records()


def _latest(record: PatientRecord) -> dt.date:
    return max(when for _, when in record.dated_entries())


@pytest.mark.parametrize("original", EXAMPLES, ids=[record.id for record in EXAMPLES])
def test_demo_dates_move_by_one_offset_to_three_weeks_ago(original: PatientRecord) -> None:
    dated = dated_for(original, TODAY)
    assert _latest(dated) == TODAY - dt.timedelta(days=LATEST_ENTRY_DAYS_AGO)
    offset = _latest(dated) - _latest(original)
    moved = [(pointer, when - offset) for pointer, when in dated.dated_entries()]
    assert moved == original.dated_entries()
    if original.birth_date is not None:
        assert dated.birth_date == original.birth_date + offset
        assert age(dated, _latest(dated)) == age(original, _latest(original))
    assert dated.identity == original.identity and dated.id == original.id


@pytest.mark.parametrize("original", EXAMPLES, ids=[record.id for record in EXAMPLES])
def test_demo_patient_today_is_the_example_three_weeks_after_its_last_visit(
    original: PatientRecord, kb: KnowledgeBase
) -> None:
    then = _latest(original) + dt.timedelta(days=LATEST_ENTRY_DAYS_AGO)
    before = assess(original, as_of=then, kb=kb)
    now = assess(dated_for(original, TODAY), as_of=TODAY, kb=kb)
    assert [alert.id for alert in now.alerts] == [alert.id for alert in before.alerts]
    assert [rec.id for rec in now.recommendations] == [rec.id for rec in before.recommendations]
    assert now.staging.kings.stage == before.staging.kings.stage
    assert now.scores.stale == before.scores.stale


def test_demo_record_without_entries_is_left_as_it_is() -> None:
    bare = make_record_v2(birth_date="1960-05-01")
    assert bare.dated_entries() == []
    assert dated_for(bare, TODAY) is bare
