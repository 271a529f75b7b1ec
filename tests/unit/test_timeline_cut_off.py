"""Entries dated after as_of are left out of the assessment, and the assessment says so."""

from __future__ import annotations

import datetime as dt

from alscare import assess
from alscare.engine.timeline import cut_off
from tests.builders import make_record, rating

AS_OF = dt.date(2025, 3, 1)


def _record():
    return make_record(
        symptom_onset={"date": "2024-01-01"},
        diagnosis_date="2024-06-01",
        alsfrs_r=[rating("2025-01-01", speech=3), rating("2025-03-02", speech=0)],
        respiratory=[{"date": "2025-04-01", "fvc_percent_predicted": 40}],
        weights=[{"date": "2025-05-01", "kg": 50}],
        interventions={"gastrostomy": {"since": "2025-06-01"}},
    )


def test_timeline_cut_off_drops_and_names_later_entries():
    timeline = cut_off(_record(), AS_OF)
    assert [r.date for r in timeline.record.alsfrs_r] == [dt.date(2025, 1, 1)]
    assert timeline.record.respiratory == () and timeline.record.weights == ()
    assert timeline.record.interventions.gastrostomy is None
    assert timeline.ignored == (
        "alsfrs_r rating of 2025-03-02 is after as_of",
        "gastrostomy started 2025-06-01, after as_of",
        "respiratory measurement of 2025-04-01 is after as_of",
        "weight of 2025-05-01 is after as_of",
    )


def test_timeline_entry_on_as_of_is_kept():
    timeline = cut_off(_record(), dt.date(2025, 3, 2))
    assert timeline.record.alsfrs_r[-1].date == dt.date(2025, 3, 2)


def test_timeline_ignored_entries_reported_in_assessment(kb):
    assessment = assess(_record(), as_of=AS_OF, kb=kb)
    assert "alsfrs_r rating of 2025-03-02 is after as_of" in assessment.ignored
    assert assessment.scores.alsfrs_r.total == 47
    assert assessment.scores.fvc_percent_predicted is None


def test_timeline_single_dated_parts_after_as_of_are_dropped():
    record = make_record(
        symptom_onset={"date": "2025-04-01", "site": "bulbar"},
        diagnosis_date="2025-05-01",
        emg={"date": "2025-04-10", "motor_conduction_block": False},
        cognition={"date": "2025-04-10", "ftd": True},
    )
    timeline = cut_off(record, AS_OF)
    assert timeline.record.symptom_onset is None and timeline.onset is None
    assert timeline.record.diagnosis_date is None
    assert timeline.record.emg is None and timeline.record.cognition is None
    assert timeline.ignored == (
        "EMG of 2025-04-10 is after as_of",
        "cognitive assessment of 2025-04-10 is after as_of",
        "diagnosis date 2025-05-01 is after as_of",
        "symptom onset 2025-04-01 is after as_of",
    )
