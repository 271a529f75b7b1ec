"""Alerts: one vignette per alert, written from the sources the knowledge base cites (each case
names its source id), negative cases included. Each vignette is a record assessed as a whole;
the scores and the differential the alerts read come from record fields built to give them."""

from __future__ import annotations

from typing import Any

import pytest

from alscare import assess
from alscare.knowledge import KnowledgeBase
from alscare.schemas.assessment import Alert
from alscare.schemas.vocabulary import AlertId, Jurisdiction, Severity
from tests.builders import make_record, make_record_v2, rating, signs
from tests.spec.test_recommendations import (
    AS_OF,
    FAST,
    RILUZOLE,
    als,
    alt,
    breathing,
    nutrition,
    progressing,
)


def raise_alerts(kb: KnowledgeBase, **record: Any) -> tuple[Alert, ...]:
    return assess(make_record(**record), as_of=AS_OF, kb=kb).alerts


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


def test_niv_indicated_again_when_breathing_worsened_after_it_was_declined(kb):
    # The decline is respected (no alert) until a criterion worsens after it: then a medium alert.
    declined = [
        {"kind": "niv", "event": "offered", "date": "2024-10-05"},
        {"kind": "niv", "event": "declined", "date": "2024-10-05"},
    ]
    respiratory = [
        {"date": "2024-10-01", "fvc_percent_predicted": 48},
        {"date": "2025-02-01", "fvc_percent_predicted": 41},
    ]
    record = make_record_v2(**als(respiratory=respiratory, interventions=declined))
    raised = assess(record, as_of=AS_OF, kb=kb).alerts
    assert severity(raised, "niv_indicated") == Severity.MEDIUM


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
    ("derived", "extra", "expected"),
    [
        (nutrition(loss=11), {}, Severity.MEDIUM),
        (nutrition(bmi=18.2), {}, Severity.MEDIUM),
        ({}, {"alsfrs_r": [rating("2025-02-01", swallowing=2)]}, Severity.MEDIUM),
        (nutrition(loss=11), {"respiratory": breathing(fvc_percent_predicted=45)},
         Severity.HIGH),  # breathing weak: placement risk rises
        (nutrition(loss=8, bmi=21), {}, None),
        (nutrition(bmi=17), {"interventions": {"gastrostomy": {"since": "2024-11-01"}}}, None),
        (nutrition(bmi=17), {"interventions": {"gastrostomy": {"declined": True}}}, None),
    ],
)  # fmt: skip
def test_gastrostomy_indicated_on_nutritional_triggers(kb, derived, extra, expected):
    raised = raise_alerts(kb, **als(**derived, **extra))
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
        # Redesign (was no alert): without the laboratory's lower limit the common definition of
        # neutropenia applies, below 1.5 x 10^9/L (rules/thresholds.yaml, unverified).
        ([RILUZOLE], [neutrophils(1.1, lower=None)], Severity.HIGH),
        ([RILUZOLE], [neutrophils(1.6, lower=None)], None),
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
        "latest respiratory tests on 2024-11-15, 3.5 months before (above 3 months)"
        in overdue.because
    )


# --- rapid_progression (kimura2006_progression_rate: fast > 1.0 points/month, unverified) ------


@pytest.mark.parametrize(
    ("progression", "rate", "expected"),
    [
        (FAST, 1.4, Severity.MEDIUM),
        (progressing(16, 487), 1.0, None),  # exactly 1.0 is not above 1.0
        (progressing(6, 304), 0.6, None),
        ({}, None, None),
    ],
)
def test_rapid_progression_above_one_point_per_month(kb, progression, rate, expected):
    assessment = assess(make_record(**als(**progression)), as_of=AS_OF, kb=kb)
    assert assessment.scores.progression_rate == rate
    assert severity(assessment.alerts, "rapid_progression") == expected
    raised = alert(assessment.alerts, "rapid_progression")
    assert raised is None or raised.verified is False


# --- mimic_suspected (turner2013_mimics; spectrum from the diagnosis section) -------------------

BLOCK = {"date": "2025-01-10", "regions": {}, "motor_conduction_block": True}
LMN, UMN = signs(lmn=True), signs(umn=True)
PURE_LMN_ARM = {"bulbar": {}, "cervical": LMN, "thoracic": {}, "lumbosacral": {}}


@pytest.mark.parametrize(
    ("record", "differential", "level", "expected"),
    [
        ({"emg": BLOCK}, "multifocal_motor_neuropathy", "suspected", Severity.HIGH),
        ({"exam": PURE_LMN_ARM}, "multifocal_motor_neuropathy", "consider", None),
        # ALS-spectrum phenotypes are never mimics (and never more than "consider").
        ({"exam": {"bulbar": {}, "cervical": UMN}}, "primary_lateral_sclerosis", "consider", None),
        ({"exam": {"cervical": LMN, "lumbosacral": LMN}}, "progressive_muscular_atrophy",
         "consider", None),
    ],
    ids=["mmn-suspected", "mmn-consider", "pls", "pma"],
)  # fmt: skip
def test_mimic_suspected_only_for_suspected_non_spectrum_differentials(
    kb, record, differential, level, expected
):
    assessment = assess(make_record(jurisdiction="UK", **record), as_of=AS_OF, kb=kb)
    levels = {found.id: found.level for found in assessment.differentials}
    assert levels[differential] == level
    assert severity(assessment.alerts, "mimic_suspected") == expected


def test_mimic_suspected_carries_the_differential_reasons(kb):
    mimic = alert(raise_alerts(kb, emg=BLOCK), "mimic_suspected")
    assert mimic is not None
    assert mimic.because[0] == (
        "Multifocal motor neuropathy suspected (motor conduction block on nerve conduction "
        "studies on 2025-01-10)"
    )
    assert "turner2013_mimics" in mimic.sources


# --- drug_not_authorised (each drug's status entry in drugs.yaml, with its sources) ----------

EDARAVONE = {"name": "Radicava ORS", "since": "2024-08-01"}


def taking(
    kb: KnowledgeBase, medication: dict[str, Any], jurisdiction: str | None
) -> tuple[Alert, ...]:
    """The alerts of a person with ALS taking ``medication``, in ``jurisdiction`` (None: not
    recorded); record v2, so that a medication can end before the assessment date."""
    fields = als(medications=[medication])
    del fields["jurisdiction"]
    if jurisdiction is not None:
        fields["jurisdiction"] = jurisdiction
    return assess(make_record_v2(**fields), as_of=AS_OF, kb=kb).alerts


@pytest.mark.parametrize(
    ("medication", "jurisdiction", "expected"),
    [
        (EDARAVONE, "EU", Severity.LOW),  # ema2019_edaravone_withdrawal: never authorised
        (EDARAVONE, "US", None),  # fda2017_edaravone: authorised
        (EDARAVONE, "JP", None),  # alstdi2017_edaravone_approvals: authorised
        ({**EDARAVONE, "until": "2025-01-15"}, "EU", None),  # stopped before the assessment
        ({**EDARAVONE, "since": "2025-03-10"}, "EU", None),  # started after the assessment
        (EDARAVONE, None, None),  # jurisdiction not recorded: status unknown
        (EDARAVONE, "AU", None),  # no status for AU in the knowledge base: unknown
        ({"name": "Baclofen 10 mg"}, "EU", None),  # not a drug of drugs.yaml
        (RILUZOLE, "EU", None),  # ema2021_rilutek_smpc: authorised
        ({"name": "ION363"}, "EU", None),  # trials_only is not "not authorised"
        ({"name": "Relyvrio"}, "US", Severity.LOW),  # amylyx2024_amx0035_withdrawal: withdrawn
        ({"name": "Albrioza"}, "EU", Severity.LOW),  # amylyx2024_amx0035_withdrawal: refused
        ({"name": "Nuedexta"}, "EU", Severity.LOW),  # ec2016_nuedexta_withdrawal: withdrawn
        ({"name": "Nuedexta"}, "US", None),  # fda2010_nuedexta: authorised
    ],
)
def test_drug_not_authorised_only_for_a_drug_taken_where_it_is_not(
    kb, medication, jurisdiction, expected
):
    assert severity(taking(kb, medication, jurisdiction), "drug_not_authorised") == expected


@pytest.mark.parametrize(
    ("medication", "drug", "jurisdiction"),
    [
        (EDARAVONE, "edaravone", Jurisdiction.EU),
        ({"name": "Relyvrio"}, "sodium_phenylbutyrate_taurursodiol", Jurisdiction.US),
        ({"name": "Nuedexta"}, "dextromethorphan_quinidine", Jurisdiction.EU),
    ],
)
def test_drug_not_authorised_states_the_status_and_cites_its_entry(
    kb, medication, drug, jurisdiction
):
    raised = alert(taking(kb, medication, jurisdiction.value), "drug_not_authorised")
    status = kb.treatment.drug(drug).status_in(jurisdiction)
    assert raised is not None and status is not None
    label = kb.treatment.drug(drug).label
    words = status.status.replace("_", " ")
    assert f"{label} in {jurisdiction.value}: {words}. {status.note}" in raised.because
    assert raised.sources == status.source_ids
    assert raised.verified is True


def test_drug_not_authorised_edaravone_eu_cites_the_ema_withdrawal(kb):
    raised = alert(taking(kb, EDARAVONE, "EU"), "drug_not_authorised")
    assert raised is not None
    assert raised.sources == ("ema2019_edaravone_withdrawal",)
    assert raised.because == (
        "Edaravone in the medication list ('Radicava ORS' since 2024-08-01)",
        "Edaravone in EU: not authorised. The marketing application was withdrawn on 24 May "
        "2019 after the CHMP's provisional view that it was not approvable; never authorised in "
        "the EU, though not formally refused.",
    )


def test_drug_not_authorised_unverified_status_makes_the_alert_unverified(kb):
    # drugs.yaml: edaravone's UK status is verified: false (UK status not checked).
    status = kb.treatment.drug("edaravone").status_in(Jurisdiction.UK)
    assert status is not None and status.verified is False
    raised = alert(taking(kb, EDARAVONE, "UK"), "drug_not_authorised")
    assert raised is not None and raised.severity == Severity.LOW
    assert raised.verified is False
    assert raised.sources == ("ema2019_edaravone_withdrawal",)


# --- the alerts as a whole --------------------------------------------------------------------


def test_alerts_most_severe_first(kb):
    raised = raise_alerts(
        kb,
        **als(
            **progressing(12, 245),  # 1.49 points/month
            **nutrition(bmi=17),
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
    assert {item.value for item in AlertId} <= set(kb.treatment.rules_by_alert)
