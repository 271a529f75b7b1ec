"""The flowsheet: the engine's assessment on each visit date, one row per visit, only what was
measured that day, with the thresholds the rules compare each charted measure with."""

from __future__ import annotations

import datetime as dt
import json

from alscare.engine import assess
from alscare.engine.flowsheet import flowsheet
from tests.builders import make_record_v2
from tests.builders_v2 import ALS_BASE, rated, respiratory

RECORD = make_record_v2(
    **ALS_BASE,
    alsfrs_r=[rated("2024-01-15"), rated("2024-04-15", speech=2, walking=1)],
    respiratory=[
        respiratory("2024-01-15", fvc_percent_predicted=90, snip_cmh2o=70),
        respiratory("2024-03-01", fvc_percent_predicted=70),
        respiratory("2024-06-01", fvc_percent_predicted=60),  # after as_of below
    ],
    weights=[{"date": "2024-01-15", "kg": 60}, {"date": "2024-04-15", "kg": 57}],
)
AS_OF = dt.date(2024, 5, 1)


def test_one_row_per_visit_date_up_to_as_of(kb):
    sheet = flowsheet(RECORD, as_of=AS_OF, kb=kb)
    assert [row.date for row in sheet.rows] == [
        dt.date(2024, 1, 15),
        dt.date(2024, 3, 1),
        dt.date(2024, 4, 15),
    ]


def test_a_row_shows_only_what_was_measured_that_day(kb):
    first, breathing_only, last = flowsheet(RECORD, as_of=AS_OF, kb=kb).rows
    assert (first.fvc_percent_predicted, first.snip_cmh2o, first.weight_kg) == (90, 70, 60)
    assert first.alsfrs_r is not None and first.alsfrs_r.total == 48
    assert breathing_only.alsfrs_r is None and breathing_only.weight_kg is None
    assert breathing_only.fvc_percent_predicted == 70
    assert last.fvc_percent_predicted is None  # not measured on 2024-04-15
    assert last.alsfrs_r is not None and last.alsfrs_r.total == 43
    assert last.items["walking"] == 1


def test_every_number_is_the_engine_s_own_on_that_date(kb):
    for row in flowsheet(RECORD, as_of=AS_OF, kb=kb).rows:
        then = assess(RECORD, as_of=row.date, kb=kb)
        assert row.kings == then.staging.kings.stage
        if row.bmi is not None:
            assert row.bmi == then.scores.bmi
        if row.progression_rate is not None:
            assert row.progression_rate == then.scores.progression_rate


def test_thresholds_and_staleness_come_from_the_knowledge_base_and_the_assessment(kb):
    sheet = flowsheet(RECORD, as_of=dt.date(2024, 9, 1), kb=kb)
    fvc = {threshold.id: threshold.value for threshold in sheet.thresholds["fvc_percent_predicted"]}
    assert fvc["niv_fvc_alone"] == kb.rules.threshold_by_id["niv_fvc_alone"].value
    assert "bmi" in sheet.thresholds and "weight_kg" not in sheet.thresholds
    later = assess(RECORD, as_of=dt.date(2024, 9, 1), kb=kb)
    # every column is stale by 2024-09-01; the scores the assessment calls stale are among them
    assert (
        set(sheet.stale)
        == set(sheet.notes)
        == {
            "alsfrs_r",
            "progression_rate",
            "fvc_percent_predicted",
            "snip_cmh2o",
            "weight_kg",
            "bmi",
        }
    )
    assert set(later.scores.stale) - {"weight_loss_percent"} <= set(sheet.stale)
    assert sheet.notes["snip_cmh2o"] == (
        "respiratory function tests of 2024-01-15, 7.6 months old: stale, past the 3-month "
        "repeat window; a new one is due"
    )
    assert sheet.notes["fvc_percent_predicted"] == later.scores.notes["fvc_percent_predicted"]
    assert next(t for t in sheet.thresholds["fvc_percent_predicted"]).purpose
    assert json.loads(sheet.to_json())["schema"] == "alscare.flowsheet/v1"
