"""Entries dated after as_of are left out of the assessment, and the assessment says so
(engine/state.py: the record as it stood on the assessment date)."""

from __future__ import annotations

import datetime as dt

from alscare import assess
from alscare.engine import patient_facts
from tests.builders import make_record, make_record_v2, rating

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


def test_timeline_cut_off_drops_and_names_later_entries(kb):
    assessment = assess(_record(), as_of=AS_OF, kb=kb)
    assert assessment.ignored == (
        "ALSFRS-R rating of 2025-03-02 is after as_of",
        "intervention event of 2025-06-01 is after as_of",
        "respiratory measurement of 2025-04-01 is after as_of",
        "weight of 2025-05-01 is after as_of",
    )
    facts = patient_facts(_record(), as_of=AS_OF, kb=kb)
    assert facts("alsfrs_r.speech").value == 3
    assert facts("respiratory.fvc_percent_predicted").value is None
    assert facts("intervention.gastrostomy.state").value == "none"


def test_timeline_entry_on_as_of_is_kept(kb):
    facts = patient_facts(_record(), as_of=dt.date(2025, 3, 2), kb=kb)
    assert facts("alsfrs_r.speech").value == 0


def test_timeline_ignored_entries_reported_in_assessment(kb):
    assessment = assess(_record(), as_of=AS_OF, kb=kb)
    assert "ALSFRS-R rating of 2025-03-02 is after as_of" in assessment.ignored
    assert assessment.scores.alsfrs_r is not None
    assert assessment.scores.alsfrs_r.total == 47
    assert assessment.scores.fvc_percent_predicted is None


def test_timeline_single_dated_parts_after_as_of_are_dropped(kb):
    record = make_record(
        symptom_onset={"date": "2025-04-01", "site": "bulbar"},
        diagnosis_date="2025-05-01",
        emg={"date": "2025-04-10", "motor_conduction_block": False},
        cognition={"date": "2025-04-10", "ftd": True},
    )
    facts = patient_facts(record, as_of=AS_OF, kb=kb)
    assert facts("patient.months_since_onset").value is None
    assert facts("patient.diagnosed").value is False
    assert facts("emg.done").value is False
    assert facts("cognition.ftd").value is None
    assert assess(record, as_of=AS_OF, kb=kb).ignored == (
        "EMG study of 2025-04-10 is after as_of",
        "cognitive screen of 2025-04-10 is after as_of",
        "diagnosis date 2025-05-01 is after as_of",
        "symptom onset 2025-04-01 is after as_of",
    )


def test_timeline_undated_v1_part_dated_after_as_of_says_how_it_was_dated(kb):
    # Upgrade rules: the undated v1 examination describes the record as it stands on its latest
    # date (2025-05-01), so an assessment of an earlier date does not see it.
    record = make_record(
        exam={"cervical": {"weakness": True}}, weights=[{"date": "2025-05-01", "kg": 70}]
    )
    facts = patient_facts(record, as_of=AS_OF, kb=kb)
    assert facts("exam.cervical.weakness").value is None
    assert (
        "examination of 2025-05-01 (undated in record v1, dated on the record's latest date) "
        "is after as_of"
    ) in assess(record, as_of=AS_OF, kb=kb).ignored


def test_timeline_death_after_as_of_is_ignored(kb):
    record = make_record_v2(symptom_onset={"date": "2024-01-01"}, death={"date": "2025-06-01"})
    assert patient_facts(record, as_of=AS_OF, kb=kb)("patient.deceased").value is False
    assert assess(record, as_of=AS_OF, kb=kb).ignored == ("death 2025-06-01 is after as_of",)


def test_timeline_medication_started_after_as_of_is_not_current(kb):
    record = make_record_v2(medications=[{"name": "riluzole", "since": "2025-04-01"}])
    facts = patient_facts(record, as_of=AS_OF, kb=kb)
    assert facts("medication.riluzole.current").value is False
    assert facts("medication.riluzole.stopped_for").value is None


def test_timeline_medication_stopped_on_as_of_is_no_longer_current(kb):
    # `until` is the first day without the drug.
    record = make_record_v2(
        medications=[{"name": "riluzole", "since": "2024-01-01", "until": str(AS_OF)}]
    )
    facts = patient_facts(record, as_of=AS_OF, kb=kb)
    assert facts("medication.riluzole.current").value is False
    assert facts("medication.riluzole.stopped_for").value == "unspecified"
    on_the_eve = patient_facts(record, as_of=AS_OF - dt.timedelta(days=1), kb=kb)
    assert on_the_eve("medication.riluzole.current").value is True
