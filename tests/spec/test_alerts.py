"""Alerts: one vignette per alert, written from the sources the knowledge base cites (each case
names its source id), negative cases included. Alerts are computed, as in ``assess``, after the
recommendations of the same assessment."""

from __future__ import annotations

from typing import Any

import pytest

from alscare.engine.alerts import alerts
from alscare.engine.recommendations import recommendations
from alscare.engine.timeline import cut_off
from alscare.knowledge import KnowledgeBase
from alscare.schemas.assessment import Alert, DifferentialResult, Scores
from alscare.schemas.vocabulary import AlertId, DifferentialLevel, Severity
from tests.builders import make_record, rating
from tests.spec.test_recommendations import (
    AS_OF,
    RILUZOLE,
    als,
    alt,
    assessment_so_far,
    breathing,
)


def raise_alerts(
    kb: KnowledgeBase,
    *,
    scores: Scores | None = None,
    differentials: tuple[DifferentialResult, ...] = (),
    **record: Any,
) -> tuple[Alert, ...]:
    timeline = cut_off(make_record(**record), AS_OF)
    so_far = assessment_so_far(kb, scores=scores, differentials=differentials)
    advice = recommendations(timeline, so_far, kb)
    return alerts(timeline, so_far.model_copy(update={"recommendations": advice}), kb)


def alert(raised: tuple[Alert, ...], alert_id: str) -> Alert | None:
    return next((a for a in raised if a.id == alert_id), None)


def severity(raised: tuple[Alert, ...], alert_id: str) -> Severity | None:
    found = alert(raised, alert_id)
    return found.severity if found else None


def test_alerts_none_for_a_stable_patient(kb):
    assert raise_alerts(kb, **als(medications=[RILUZOLE], labs=[alt(30)])) == ()


# --- niv_indicated (khan2023_chest) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("respiratory", "extra", "expected"),
    [
        (breathing(fvc_percent_predicted=95, snip_cmh2o=80), {}, None),  # normal breathing
        (breathing(fvc_percent_predicted=45), {}, Severity.HIGH),
        (breathing(fvc_percent_predicted=70, symptoms=["morning_headache"]), {}, Severity.HIGH),
        (breathing(snip_cmh2o=30), {}, Severity.HIGH),
        (breathing(paco2_mmhg=47), {}, Severity.HIGH),
        (breathing(fvc_percent_predicted=45), {"interventions": {"niv": {"since": "2024-12-01"}}},
         None),  # already on NIV
        (breathing(fvc_percent_predicted=45), {"interventions": {"niv": {"declined": True}}},
         None),  # declined: the recommendation asks to revisit it instead
    ],
)  # fmt: skip
def test_niv_indicated_on_chest_triggers(kb, respiratory, extra, expected):
    raised = raise_alerts(kb, **als(respiratory=respiratory, **extra))
    assert severity(raised, "niv_indicated") == expected


def test_niv_indicated_says_why_and_cites_chest(kb):
    raised = raise_alerts(kb, **als(respiratory=breathing(fvc_percent_predicted=45)))
    niv = alert(raised, "niv_indicated")
    assert niv is not None
    assert niv.because[0] == "FVC 45 % predicted on 2025-02-01 (below 50 % predicted)"
    assert "khan2023_chest" in niv.sources


# --- hypercapnia_urgent_review (nice2010_cg105: PaCO2 > 6 kPa, review within 1 week) ------------


@pytest.mark.parametrize(
    ("respiratory", "expected"),
    [
        (breathing(paco2_kpa=6.3), Severity.HIGH),
        (breathing(paco2_mmhg=48), Severity.HIGH),  # 6.4 kPa
        (breathing(paco2_kpa=6.0), None),  # not above 6 kPa
        (breathing(paco2_mmhg=44), None),
    ],
)
def test_hypercapnia_urgent_review_above_six_kpa(kb, respiratory, expected):
    raised = raise_alerts(kb, **als(respiratory=respiratory))
    assert severity(raised, "hypercapnia_urgent_review") == expected


# --- gastrostomy_indicated (andersen2012_efns; nice2006_cg32; miller2009_aan_part1) -----------


@pytest.mark.parametrize(
    ("scores", "extra", "expected"),
    [
        (Scores(weight_loss_percent=11), {}, Severity.MEDIUM),
        (Scores(bmi=18.2), {}, Severity.MEDIUM),
        (None, {"alsfrs_r": [rating("2025-02-01", swallowing=2)]}, Severity.MEDIUM),
        (Scores(weight_loss_percent=11), {"respiratory": breathing(fvc_percent_predicted=45)},
         Severity.HIGH),  # breathing weak: placement risk rises
        (Scores(weight_loss_percent=8, bmi=21), {}, None),
        (Scores(bmi=17), {"interventions": {"gastrostomy": {"since": "2024-11-01"}}}, None),
        (Scores(bmi=17), {"interventions": {"gastrostomy": {"declined": True}}}, None),
    ],
)  # fmt: skip
def test_gastrostomy_indicated_on_nutritional_triggers(kb, scores, extra, expected):
    raised = raise_alerts(kb, scores=scores, **als(**extra))
    assert severity(raised, "gastrostomy_indicated") == expected


# --- riluzole_hepatotoxicity and riluzole_neutropenia (ema2021_rilutek_smpc 4.4) ----------------


@pytest.mark.parametrize(
    ("medications", "labs", "expected"),
    [
        ([RILUZOLE], [alt(200)], Severity.HIGH),  # 5 x ULN
        ([RILUZOLE], [alt(100)], None),  # 2.5 x ULN: test more often, no alert
        ([], [alt(200)], None),  # not on riluzole
        ([RILUZOLE], [alt(30), alt(210, date="2024-12-01")], None),  # the latest ALT counts
    ],
)
def test_riluzole_hepatotoxicity_at_five_times_uln(kb, medications, labs, expected):
    raised = raise_alerts(kb, **als(medications=medications, labs=labs))
    assert severity(raised, "riluzole_hepatotoxicity") == expected


def neutrophils(value: float, lower: float | None = 1.8) -> dict[str, Any]:
    count: dict[str, Any] = {"id": "neutrophils", "date": "2025-02-20", "value": value,
                             "unit": "10^9/L"}  # fmt: skip
    if lower is not None:
        count["lower_limit"] = lower
    return count


@pytest.mark.parametrize(
    ("medications", "labs", "expected"),
    [
        ([RILUZOLE], [neutrophils(1.1)], Severity.HIGH),
        ([RILUZOLE], [neutrophils(2.5)], None),
        ([RILUZOLE], [neutrophils(1.1, lower=None)], None),  # no lab limit: no invented number
        ([], [neutrophils(1.1)], None),
    ],
)
def test_riluzole_neutropenia_below_the_lab_lower_limit(kb, medications, labs, expected):
    raised = raise_alerts(kb, **als(medications=medications, labs=labs))
    assert severity(raised, "riluzole_neutropenia") == expected


# --- respiratory_review_overdue (nice2010_cg105: tests about every 3 months) -------------------


@pytest.mark.parametrize(
    ("respiratory", "is_als", "expected"),
    [
        ([{"date": "2024-11-15", "fvc_percent_predicted": 90}], True, Severity.MEDIUM),
        ([], True, Severity.MEDIUM),  # none recorded
        ([{"date": "2024-12-15", "fvc_percent_predicted": 90}], True, None),  # 2.5 months
        ([], False, None),  # the algorithm applies to people with ALS
    ],
)
def test_respiratory_review_overdue_after_three_months(kb, respiratory, is_als, expected):
    record = als(respiratory=respiratory) if is_als else {"respiratory": respiratory}
    raised = raise_alerts(kb, **record)
    assert severity(raised, "respiratory_review_overdue") == expected


def test_respiratory_review_overdue_says_when(kb):
    raised = raise_alerts(kb, **als(respiratory=[{"date": "2024-11-15", "snip_cmh2o": 70}]))
    overdue = alert(raised, "respiratory_review_overdue")
    assert overdue is not None
    assert (
        "latest respiratory tests on 2024-11-15, 3.5 months before as_of (above 3 months)"
        in overdue.because
    )


# --- rapid_progression (kimura2006_progression_rate: fast > 1.0 points/month, unverified) ------


@pytest.mark.parametrize(
    ("rate", "expected"),
    [(1.4, Severity.MEDIUM), (1.0, None), (0.6, None), (None, None)],
)
def test_rapid_progression_above_one_point_per_month(kb, rate, expected):
    raised = raise_alerts(kb, scores=Scores(progression_rate=rate), **als())
    assert severity(raised, "rapid_progression") == expected
    if expected:
        assert alert(raised, "rapid_progression").verified is False


# --- mimic_suspected (turner2013_mimics; spectrum from the diagnosis section) -------------------


def differential(differential_id: str, level: DifferentialLevel) -> DifferentialResult:
    return DifferentialResult(
        id=differential_id,
        level=level,
        because=("motor conduction block on nerve conduction studies",),
        sources=("turner2013_mimics",),
    )


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (differential("multifocal_motor_neuropathy", DifferentialLevel.SUSPECTED), Severity.HIGH),
        (differential("multifocal_motor_neuropathy", DifferentialLevel.CONSIDER), None),
        (differential("primary_lateral_sclerosis", DifferentialLevel.SUSPECTED), None),  # spectrum
        (differential("progressive_muscular_atrophy", DifferentialLevel.SUSPECTED), None),
    ],
)
def test_mimic_suspected_only_for_suspected_non_spectrum_differentials(kb, result, expected):
    raised = raise_alerts(kb, differentials=(result,), jurisdiction="UK")
    assert severity(raised, "mimic_suspected") == expected


def test_mimic_suspected_carries_the_differential_reasons(kb):
    result = differential("multifocal_motor_neuropathy", DifferentialLevel.SUSPECTED)
    mimic = alert(raise_alerts(kb, differentials=(result,)), "mimic_suspected")
    assert mimic is not None
    assert "suspected (motor conduction block on nerve conduction studies)" in mimic.because[0]
    assert "turner2013_mimics" in mimic.sources


# --- the alerts as a whole --------------------------------------------------------------------


def test_alerts_most_severe_first(kb):
    raised = raise_alerts(
        kb,
        scores=Scores(progression_rate=1.5, bmi=17),
        **als(
            medications=[RILUZOLE],
            labs=[alt(220)],
            respiratory=[{"date": "2024-10-01", "fvc_percent_predicted": 45}],
        ),
    )
    ranks = [list(Severity).index(a.severity) for a in raised]
    assert ranks == sorted(ranks)
    assert {a.id for a in raised} >= {
        "niv_indicated",
        "gastrostomy_indicated",
        "riluzole_hepatotoxicity",
        "respiratory_review_overdue",
        "rapid_progression",
    }


def test_every_alert_id_of_the_contract_has_a_rule(kb):
    assert {item.value for item in AlertId} <= set(kb.treatment.alert_ids())
