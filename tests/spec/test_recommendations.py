"""The treatment algorithm applied to one patient: one vignette per recommendation, written from
the sources the knowledge base cites (each case names its source id), negative cases included.

Every vignette is a record assessed as a whole; the scores and criteria the rules read (weight
loss, BMI, progression rate, the El Escorial category) come from record fields built to give
them (``nutrition``, ``progressing``, the examinations below).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from alscare import assess
from alscare.knowledge import KnowledgeBase
from alscare.schemas.assessment import Recommendation
from alscare.schemas.vocabulary import Action, ElEscorialCategory, RecommendationId
from tests.builders import losing, make_record, make_record_v2, rating, signs, workup_tests

AS_OF = dt.date(2025, 3, 1)
# A person with ALS (diagnosis date recorded), in the EU, with recent normal breathing tests.
ALS: dict[str, Any] = {
    "jurisdiction": "EU",
    "symptom_onset": {"date": "2023-12-01", "site": "cervical"},
    "diagnosis_date": "2024-06-01",
}
NORMAL_BREATHING = [
    {"date": "2025-02-01", "fvc_percent_predicted": 95, "snip_cmh2o": 80, "mip_cmh2o": 85}
]
MEASURED = "2025-02-01"


def treat(kb: KnowledgeBase, **record: Any) -> tuple[Recommendation, ...]:
    return assess(make_record(**record), as_of=AS_OF, kb=kb).recommendations


def nutrition(*, loss: float | None = None, bmi: float | None = None) -> dict[str, Any]:
    """Record fields giving a weight loss (% of the premorbid weight) and/or a BMI on
    2025-02-01: the weight is 4 x BMI kg at a height of 200 cm (80 kg without a BMI)."""
    kg = 4 * bmi if bmi is not None else 80.0
    fields: dict[str, Any] = {"weights": [{"date": MEASURED, "kg": kg}]}
    if loss is not None:
        fields["premorbid_weight_kg"] = kg / (1 - loss / 100)
    if bmi is not None:
        fields["height_cm"] = 200
    return fields


# The items a progression is lost in: the ones no other step reads first.
QUIET_ITEMS = ("dressing_hygiene", "turning_in_bed", "climbing_stairs", "handwriting")


def progressing(points: int, days: int) -> dict[str, Any]:
    """Record fields giving a progression rate of ``points`` lost in ``days`` from onset to an
    ALSFRS-R of 2025-02-01 (487 days are exactly 16 months)."""
    rated = dt.date.fromisoformat(MEASURED)
    return {
        "symptom_onset": {"date": str(rated - dt.timedelta(days=days)), "site": "cervical"},
        "alsfrs_r": [rating(rated, **losing(points, QUIET_ITEMS))],
    }


FAST = progressing(14, 304)  # 1.40 points/month


def als(**overrides: Any) -> dict[str, Any]:
    """The fields of a person with ALS and normal breathing, with overrides."""
    return {**ALS, "respiratory": NORMAL_BREATHING, **overrides}


def find(made: tuple[Recommendation, ...], step: str) -> Recommendation | None:
    return next((r for r in made if r.id == step), None)


def action(made: tuple[Recommendation, ...], step: str) -> Action | None:
    found = find(made, step)
    return found.action if found else None


def alt(value: float, upper: float = 40, date: str = "2025-02-20") -> dict[str, Any]:
    return {"id": "alt", "date": date, "value": value, "unit": "U/L", "upper_limit": upper}


RILUZOLE = {"name": "Rilutek 50 mg twice daily", "since": "2024-06-10"}


# --- who counts as a person with ALS ----------------------------------------------------------


def test_recommendations_no_diagnosis_no_criteria_nothing_for_als(kb):
    made = treat(kb, jurisdiction="EU", respiratory=NORMAL_BREATHING)
    assert made == ()


BOTH, UMN, LMN = signs(umn=True, lmn=True), signs(umn=True), signs(lmn=True)
EMG_DONE = {"date": "2025-01-10", "regions": {}}


def test_recommendations_gold_coast_met_counts_as_als(kb):
    # shefner2020_gold_coast: meeting Gold Coast is the diagnosis of ALS. LMN signs in two
    # regions meet it (work-up done) while revised El Escorial is not met.
    record = make_record(
        jurisdiction="EU",
        respiratory=NORMAL_BREATHING,
        progressive=True,
        exam={"cervical": LMN, "lumbosacral": LMN},
        emg=EMG_DONE,
        tests=workup_tests(),
    )
    assessment = assess(record, as_of=AS_OF, kb=kb)
    assert assessment.criteria.gold_coast.met is True
    assert assessment.criteria.el_escorial.category == ElEscorialCategory.NOT_MET
    riluzole = find(assessment.recommendations, "riluzole")
    assert riluzole is not None and riluzole.action == Action.START
    assert "Gold Coast criteria met" in riluzole.because


# The examination (and for laboratory support, EMG and work-up) that grades each category.
EL_ESCORIAL_RECORDS: dict[ElEscorialCategory, dict[str, Any]] = {
    ElEscorialCategory.DEFINITE: {"exam": {"bulbar": BOTH, "cervical": BOTH, "lumbosacral": BOTH}},
    ElEscorialCategory.PROBABLE: {"exam": {"bulbar": BOTH, "cervical": BOTH}},
    ElEscorialCategory.PROBABLE_LABORATORY_SUPPORTED: {
        "exam": {"cervical": BOTH},
        "emg": {
            "date": "2025-01-10",
            "regions": {
                "thoracic": {"chronic_neurogenic": True, "active_denervation": True, "muscles": 1},
                "lumbosacral": {"chronic_neurogenic": True, "active_denervation": True,
                                "muscles": 2},
            },
        },
        "tests": workup_tests(),
    },
    ElEscorialCategory.POSSIBLE: {"exam": {"cervical": BOTH}},
    ElEscorialCategory.NOT_MET: {"exam": {"cervical": UMN}},
}  # fmt: skip


@pytest.mark.parametrize(
    ("category", "counts"),
    [
        (ElEscorialCategory.DEFINITE, True),
        (ElEscorialCategory.PROBABLE, True),
        (ElEscorialCategory.PROBABLE_LABORATORY_SUPPORTED, True),
        (ElEscorialCategory.POSSIBLE, True),
        (ElEscorialCategory.NOT_MET, False),
    ],
)
def test_recommendations_el_escorial_possible_or_better_counts_as_als(kb, category, counts):
    # brooks2000_el_escorial categories; alscare treats possible or better as ALS
    fields = EL_ESCORIAL_RECORDS[category]
    record = make_record(
        jurisdiction="US", respiratory=NORMAL_BREATHING, progressive=True, **fields
    )
    assessment = assess(record, as_of=AS_OF, kb=kb)
    assert assessment.criteria.el_escorial.category == category
    assert (action(assessment.recommendations, "riluzole") == Action.START) is counts


# --- riluzole (miller2009_aan_part1 Level A; ema2021_rilutek_smpc 4.3, 4.4) --------------------


def test_riluzole_person_with_als_not_taking_it_start_strong(kb):
    riluzole = find(treat(kb, **als()), "riluzole")
    assert riluzole is not None
    assert (riluzole.action, riluzole.strength, riluzole.group) == (
        Action.START,
        "strong",
        "all_patients",
    )
    assert "miller2009_aan_part1" in riluzole.sources
    assert "ALS diagnosed on 2024-06-01" in riluzole.because


def test_riluzole_taken_under_a_brand_name_continue(kb):
    riluzole = find(treat(kb, **als(medications=[RILUZOLE])), "riluzole")
    assert riluzole is not None and riluzole.action == Action.CONTINUE
    assert any("Rilutek 50 mg" in sentence for sentence in riluzole.because)


def test_riluzole_alt_five_times_uln_stop(kb):
    # SmPC 4.4: discontinue if ALT rises to 5 x ULN
    made = treat(kb, **als(medications=[RILUZOLE], labs=[alt(200)]))
    riluzole = find(made, "riluzole")
    assert riluzole is not None and riluzole.action == Action.STOP
    assert riluzole.strength == "label"
    assert "ALT 200 U/L on 2025-02-20 = 5 x ULN (40 U/L) (at least 5 x ULN)" in riluzole.because
    assert find(made, "riluzole_liver_monitoring") is None


def test_riluzole_alt_two_and_a_half_times_uln_does_not_stop(kb):
    # SmPC 4.4: ALT above ULN means more frequent tests, not stopping
    made = treat(kb, **als(medications=[RILUZOLE], labs=[alt(100)]))
    assert action(made, "riluzole") == Action.CONTINUE
    monitoring = find(made, "riluzole_liver_monitoring")
    assert monitoring is not None and monitoring.action == Action.MONITOR
    assert monitoring.detail is not None and "more often" in monitoring.detail


def test_riluzole_neutropenia_below_lab_lower_limit_stop(kb):
    # SmPC 4.4: discontinue riluzole in neutropenia; below the laboratory's lower limit
    count = {"id": "neutrophils", "date": "2025-02-20", "value": 0.9, "unit": "10^9/L",
             "lower_limit": 1.8}  # fmt: skip
    riluzole = find(treat(kb, **als(medications=[RILUZOLE], labs=[count])), "riluzole")
    assert riluzole is not None and riluzole.action == Action.STOP
    assert any("below the laboratory's lower limit 1.8" in s for s in riluzole.because)


def test_riluzole_neutrophils_without_lab_limit_below_the_common_definition_stop_unverified(kb):
    # Redesign (was continue, "no invented threshold"): without the laboratory's lower limit the
    # knowledge base now uses the common definition of neutropenia, below 1.5 x 10^9/L
    # (rules/thresholds.yaml neutropenia_neutrophil_count, unverified), and says so.
    count = {"id": "neutrophils", "date": "2025-02-20", "value": 0.9, "unit": "10^9/L"}
    riluzole = find(treat(kb, **als(medications=[RILUZOLE], labs=[count])), "riluzole")
    assert riluzole is not None and riluzole.action == Action.STOP
    assert riluzole.verified is False


def test_riluzole_neutrophils_without_lab_limit_above_the_common_definition_continue(kb):
    count = {"id": "neutrophils", "date": "2025-02-20", "value": 1.6, "unit": "10^9/L"}
    made = treat(kb, **als(medications=[RILUZOLE], labs=[count]))
    assert action(made, "riluzole") == Action.CONTINUE


@pytest.mark.parametrize(
    ("labs", "expected"),
    [
        ([alt(140)], Action.HOLD),  # 3.5 x ULN: contraindicated (SmPC 4.3)
        ([alt(120)], Action.START),  # exactly 3 x ULN is not above 3 x ULN
        ([alt(30), {"id": "ast", "date": "2025-02-20", "value": 150, "unit": "U/L",
                    "upper_limit": 40}], Action.HOLD),  # AST is a transaminase too
        ([{"id": "alt", "date": "2025-02-20", "value": 300, "unit": "U/L"}], Action.START),
    ],
    ids=["alt-3.5x-hold", "alt-3x-start", "ast-3.75x-hold", "alt-without-uln-start"],
)  # fmt: skip
def test_riluzole_baseline_transaminases_decide_start_or_hold(kb, labs, expected):
    assert action(treat(kb, **als(labs=labs)), "riluzole") == expected


def test_riluzole_stopped_before_as_of_is_not_taken_restart_discussed(kb):
    # Redesign (was start): a drug stopped before as_of is not taken, and one stopped without a
    # recorded reason (every v1 stop) is "stopped for an unspecified reason": discuss
    # restarting it rather than offer it afresh.
    stopped = {**RILUZOLE, "until": "2024-12-01"}
    riluzole = find(treat(kb, **als(medications=[stopped])), "riluzole")
    assert riluzole is not None and riluzole.action == Action.CONSIDER
    assert riluzole.detail is not None and "discuss restarting" in riluzole.detail


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("adverse_effect", Action.HOLD),
        ("patient_choice", Action.CONSIDER),
        ("ineffective", Action.CONSIDER),
    ],
)
def test_riluzole_stop_reason_decides_what_follows(kb, reason, expected):
    # Record v2 says why a drug was stopped; after an adverse effect the label forbids a
    # re-challenge (hepatotoxicity) or asks for review (ema2021_rilutek_smpc 4.4).
    stopped = {**RILUZOLE, "until": "2024-12-01", "stop_reason": reason}
    record = make_record_v2(**als(medications=[stopped]))
    made = assess(record, as_of=AS_OF, kb=kb).recommendations
    assert action(made, "riluzole") == expected


def test_riluzole_jurisdiction_unknown_still_start_and_says_so(kb):
    fields = als()
    del fields["jurisdiction"]
    riluzole = find(treat(kb, **fields), "riluzole")
    assert riluzole is not None and riluzole.action == Action.START
    assert any("jurisdiction not recorded" in sentence for sentence in riluzole.because)


# --- riluzole liver monitoring (ema2021_rilutek_smpc 4.4) --------------------------------------


def test_riluzole_liver_monitoring_with_start_alt_before_starting(kb):
    monitoring = find(treat(kb, **als()), "riluzole_liver_monitoring")
    assert monitoring is not None and monitoring.action == Action.MONITOR
    assert monitoring.detail is not None and monitoring.detail.startswith("ALT before starting")


@pytest.mark.parametrize(
    ("since", "last_alt", "rule_detail"),
    [
        ("2025-01-15", "2025-02-10", "ALT monthly"),  # month 1.5, ALT 0.6 months ago
        ("2025-01-01", "2025-01-10", "An ALT test is due"),  # month 2, monthly, 1.6 months ago
        ("2024-07-01", "2025-01-01", "ALT monthly"),  # month 8, 3-monthly, 2 months ago
        ("2024-07-01", "2024-10-15", "An ALT test is due"),  # month 8, 4.5 months ago
        ("2023-06-01", "2024-01-01", "ALT monthly"),  # after year 1: periodically
        (None, "2024-01-01", "ALT monthly"),  # start date unknown: schedule only
        ("2025-02-01", None, "An ALT test is due"),  # month 1, no dated ALT yet
    ],
)
def test_riluzole_liver_monitoring_follows_the_smpc_schedule(kb, since, last_alt, rule_detail):
    medication = {"name": "riluzole", "since": since} if since else {"name": "riluzole"}
    labs = [alt(30, date=last_alt)] if last_alt else []
    monitoring = find(
        treat(kb, **als(medications=[medication], labs=labs)), "riluzole_liver_monitoring"
    )
    assert monitoring is not None and monitoring.detail is not None
    assert monitoring.detail.startswith(rule_detail)


def test_riluzole_liver_monitoring_says_which_phase(kb):
    made = treat(kb, **als(medications=[RILUZOLE | {"since": "2024-07-01"}], labs=[alt(30)]))
    monitoring = find(made, "riluzole_liver_monitoring")
    assert monitoring is not None
    assert "ALT 30 U/L on 2025-02-20 = 0.8 x ULN (40 U/L) (at most 1 x ULN)" in (monitoring.because)


# --- edaravone: authorised in US, JP, CA; not in EU/UK --------------------------------------


@pytest.mark.parametrize(
    ("jurisdiction", "expected"),
    [
        ("US", Action.CONSIDER),  # fda2017_edaravone
        ("JP", Action.CONSIDER),  # alstdi2017_edaravone_approvals
        ("CA", Action.CONSIDER),  # alscanada2023_edaravone
        ("EU", None),  # ema2019_edaravone_withdrawal: never authorised
        ("UK", None),
        ("AU", None),  # status not in the knowledge base: no assumption either way
    ],
)
def test_edaravone_only_where_authorised(kb, jurisdiction, expected):
    made = treat(kb, **als(jurisdiction=jurisdiction))
    assert action(made, "edaravone") == expected


def test_edaravone_eu_gets_no_start_and_weak_strength_elsewhere(kb):
    assert action(treat(kb, **als()), "edaravone") is None
    us = find(treat(kb, **als(jurisdiction="US")), "edaravone")
    assert us is not None and us.strength == "weak"
    assert "fda2017_edaravone" in us.sources


def test_edaravone_already_taken_continue(kb):
    made = treat(kb, **als(medications=[{"name": "Radicava ORS", "since": "2024-08-01"}]))
    assert action(made, "edaravone") == Action.CONTINUE


# --- sodium phenylbutyrate-taurursodiol: withdrawn, never recommended ---------------------------


@pytest.mark.parametrize(
    "name", ["Relyvrio", "AMX0035", "Albrioza", "sodium phenylbutyrate-taurursodiol"]
)
def test_sodium_phenylbutyrate_taurursodiol_listed_stop_and_says_why(kb, name):
    # amylyx2024_amx0035_withdrawal: PHOENIX failed, withdrawn in US/CA, refused in the EU
    made = treat(kb, **als(jurisdiction="US", medications=[{"name": name}]))
    listed = find(made, "sodium_phenylbutyrate_taurursodiol")
    assert listed is not None and listed.action == Action.STOP
    assert listed.detail is not None and "PHOENIX" in listed.detail
    assert "amylyx2024_amx0035_withdrawal" in listed.sources


def test_sodium_phenylbutyrate_taurursodiol_not_listed_not_mentioned(kb):
    assert find(treat(kb, **als(jurisdiction="US")), "sodium_phenylbutyrate_taurursodiol") is None


# --- tofersen (vandamme2024_ean; fda2023_tofersen; ema2024_tofersen) ----------------------------


SOD1 = [{"gene": "SOD1", "result": "pathogenic", "variant": "p.Ala5Val"}]


@pytest.mark.parametrize(
    ("genetics", "jurisdiction", "expected"),
    [
        (SOD1, "US", Action.START),
        ([{"gene": "sod1", "result": "likely_pathogenic"}], "EU", Action.START),
        (SOD1, "JP", Action.REFER),  # status not recorded: refer, do not assume access
        ([{"gene": "SOD1", "result": "vus"}], "US", None),
        ([{"gene": "C9orf72", "result": "pathogenic"}], "US", None),
    ],
)
def test_tofersen_for_pathogenic_sod1(kb, genetics, jurisdiction, expected):
    made = treat(kb, **als(jurisdiction=jurisdiction, genetics=genetics))
    assert action(made, "tofersen") == expected


def test_tofersen_group_is_the_sod1_group_and_says_the_variant(kb):
    tofersen = find(treat(kb, **als(genetics=SOD1)), "tofersen")
    assert tofersen is not None and tofersen.group == "sod1_variant"
    assert "SOD1 pathogenic variant p.Ala5Val" in tofersen.because


def test_tofersen_sod1_carrier_without_als_nothing(kb):
    made = treat(kb, jurisdiction="US", genetics=SOD1, respiratory=NORMAL_BREATHING)
    assert find(made, "tofersen") is None


def test_tofersen_taken_continue(kb):
    made = treat(kb, **als(genetics=SOD1, medications=[{"name": "Qalsody", "since": "2024-10-01"}]))
    assert action(made, "tofersen") == Action.CONTINUE


def test_ulefnersen_fus_trials_only_refer(kb):
    made = treat(kb, **als(genetics=[{"gene": "FUS", "result": "pathogenic"}]))
    fus = find(made, "ulefnersen")
    assert fus is not None and fus.action == Action.REFER
    assert any("trials only" in sentence for sentence in fus.because)
    assert action(made, "tofersen") is None


# --- multidisciplinary care (miller2009_aan_part2 Level B) --------------------------------------


def test_multidisciplinary_care_refer_unless_attending(kb):
    assert action(treat(kb, **als()), "multidisciplinary_care") == Action.REFER
    attending = als(care={"multidisciplinary_clinic": True})
    assert action(treat(kb, **attending), "multidisciplinary_care") == Action.CONTINUE
    refer = find(treat(kb, **als()), "multidisciplinary_care")
    assert refer is not None and refer.strength == "moderate"


# --- NIV (khan2023_chest triggers; miller2009_aan_part1 Level B) --------------------------------


def breathing(**values: Any) -> list[dict[str, Any]]:
    return [{"date": "2025-02-01", **values}]


@pytest.mark.parametrize(
    ("respiratory", "extra", "expected"),
    [
        (breathing(fvc_percent_predicted=95, snip_cmh2o=80), {}, None),  # normal: no NIV
        (breathing(fvc_percent_predicted=75), {}, None),  # FVC < 80 without symptoms
        (breathing(fvc_percent_predicted=75, symptoms=["orthopnea"]), {}, Action.START),
        (breathing(fvc_percent_predicted=78), {"alsfrs_r": [rating("2025-02-01", orthopnea=3)]},
         Action.START),  # symptoms from ALSFRS-R item 11
        (breathing(fvc_percent_predicted=78), {"findings": [{"id": "dyspnea", "present": True}]},
         Action.START),  # symptoms from a finding
        (breathing(fvc_percent_predicted=45), {}, Action.START),  # FVC < 50 alone
        (breathing(fvc_percent_predicted=50), {}, None),  # 50 is not below 50
        (breathing(snip_cmh2o=35), {}, Action.START),  # SNIP weaker than 40
        (breathing(snip_cmh2o=40), {}, None),
        (breathing(mip_cmh2o=38), {}, Action.START),  # MIP weaker than 40
        (breathing(paco2_mmhg=46), {}, Action.START),  # hypercapnia (cut-off unverified)
        (breathing(paco2_kpa=6.2), {}, Action.START),  # 46.5 mmHg
        (breathing(paco2_kpa=5.9), {}, None),  # 44.3 mmHg
    ],
)  # fmt: skip
def test_niv_chest_2023_triggers(kb, respiratory, extra, expected):
    made = treat(kb, **als(respiratory=respiratory, **extra))
    assert action(made, "niv") == expected


@pytest.mark.parametrize(
    ("respiratory", "expected"),
    [
        (breathing(mip_cmh2o=55), Action.START),  # MIP weaker than 60 cmH2O
        (breathing(mip_cmh2o=60), None),
        (breathing(nocturnal_spo2_88_or_below_minutes=5), Action.START),  # 5 minutes or more
        (breathing(nocturnal_spo2_88_or_below_minutes=4), None),
        (breathing(nocturnal_spo2_below_90_percent_time=2), Action.START),  # unverified mapping
        (breathing(nocturnal_spo2_below_90_percent_time=0), None),
    ],
    ids=["mip-55", "mip-60", "spo2-88-5-min", "spo2-88-4-min", "below-90-2-pct", "below-90-none"],
)
def test_niv_us_cms_and_nocturnal_oximetry_triggers(kb, respiratory, expected):
    # Redesign: the NIV trigger also counts the US CMS criteria
    # (brent2020_neuromuscular_respiratory)
    # and any recorded nocturnal time below 90 % (miller2009_aan_part1, mapping unverified).
    made = treat(kb, **als(respiratory=respiratory))
    assert action(made, "niv") == expected


def test_niv_start_names_every_criterion_met(kb):
    # In an `any`, every part that holds is a reason (redesign: not only the first).
    niv = find(
        treat(kb, **als(respiratory=breathing(fvc_percent_predicted=45, snip_cmh2o=35))), "niv"
    )
    assert niv is not None
    assert "FVC 45 % predicted on 2025-02-01 (below 50 % predicted)" in niv.because
    assert any(reason.startswith("SNIP 35 cmH2O") for reason in niv.because)


def test_niv_start_is_moderate_and_cites_chest(kb):
    niv = find(treat(kb, **als(respiratory=breathing(fvc_percent_predicted=45))), "niv")
    assert niv is not None and niv.strength == "moderate" and niv.group == "respiratory"
    assert "khan2023_chest" in niv.sources
    assert "FVC 45 % predicted on 2025-02-01 (below 50 % predicted)" in niv.because


def test_niv_hypercapnia_threshold_is_unverified(kb):
    niv = find(treat(kb, **als(respiratory=breathing(paco2_mmhg=50))), "niv")
    assert niv is not None and niv.verified is False
    assert "PaCO2 50 mmHg on 2025-02-01 (at least 45 mmHg)" in niv.because


def test_niv_paco2_in_kpa_converted_with_its_source(kb):
    niv = find(treat(kb, **als(respiratory=breathing(paco2_kpa=6.5))), "niv")
    assert niv is not None
    assert "PaCO2 6.5 kPa on 2025-02-01 (48.8 mmHg) (at least 45 mmHg)" in niv.because
    assert "nist2008_sp811" in niv.sources


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"interventions": {"niv": {"since": "2024-11-01", "hours_per_day": 10}}}, Action.CONTINUE),
        ({"alsfrs_r": [rating("2025-02-01", respiratory_insufficiency=3)]}, Action.CONTINUE),
        # Redesign (was consider): a decline is respected (monitor) until breathing worsens
        # after it; the undated v1 decline is dated on the latest date, the day of this FVC.
        ({"interventions": {"niv": {"declined": True}}}, Action.MONITOR),
        ({"interventions": {"tracheostomy": {"since": "2024-12-01"}}}, None),
        ({"alsfrs_r": [rating("2025-02-01", respiratory_insufficiency=0)]}, None),
    ],
    ids=["on-niv", "item-12-intermittent-bipap", "declined", "tracheostomy", "item-12-invasive"],
)  # fmt: skip
def test_niv_already_on_declined_or_invasive(kb, extra, expected):
    made = treat(kb, **als(respiratory=breathing(fvc_percent_predicted=40), **extra))
    assert action(made, "niv") == expected


def _declined_on(date: str) -> list[dict[str, str]]:
    return [
        {"kind": "niv", "event": "offered", "date": date},
        {"kind": "niv", "event": "declined", "date": date},
    ]


def test_niv_declined_then_breathing_worsened_revisit(kb):
    # khan2023_chest triggers met, FVC fell from 60 to 40 % after NIV was declined.
    respiratory = [
        {"date": "2024-10-01", "fvc_percent_predicted": 60},
        {"date": "2025-02-01", "fvc_percent_predicted": 40},
    ]
    record = make_record_v2(
        **als(respiratory=respiratory, interventions=_declined_on("2024-10-05"))
    )
    niv = find(assess(record, as_of=AS_OF, kb=kb).recommendations, "niv")
    assert niv is not None and niv.action == Action.CONSIDER
    assert any("since then FVC 60 to 40" in reason for reason in niv.because)


def test_niv_declined_and_nothing_worse_respected(kb):
    respiratory = [{"date": "2024-10-01", "fvc_percent_predicted": 40}]
    record = make_record_v2(
        **als(respiratory=respiratory, interventions=_declined_on("2024-10-05"))
    )
    niv = find(assess(record, as_of=AS_OF, kb=kb).recommendations, "niv")
    assert niv is not None and niv.action == Action.MONITOR
    assert niv.verified is False


# --- cough augmentation (miller2009_aan_part1 Level C; PCF cut-offs unverified) ---------------


@pytest.mark.parametrize(
    ("flow", "expected"),
    [(150, Action.START), (200, Action.CONSIDER), (270, None), (320, None)],
)
def test_cough_augmentation_on_low_peak_cough_flow(kb, flow, expected):
    made = treat(kb, **als(respiratory=breathing(peak_cough_flow_l_min=flow)))
    assert action(made, "cough_augmentation") == expected
    found = find(made, "cough_augmentation")
    assert found is None or found.verified is False


# --- respiratory review every 3 months (nice2010_cg105) ---------------------------------------


@pytest.mark.parametrize(
    ("respiratory", "expected", "detail"),
    [
        (breathing(fvc_percent_predicted=90), Action.MONITOR, "Repeat"),
        ([{"date": "2024-10-15", "fvc_percent_predicted": 90}], Action.MONITOR,
         "Respiratory tests are due"),
        ([], Action.MONITOR, "Respiratory tests are due"),
        (breathing(fvc_percent_predicted=45), Action.REFER, "Discuss treatment"),
        (breathing(snip_cmh2o=35), Action.REFER, "Discuss treatment"),
        (breathing(paco2_kpa=6.4), Action.REFER, "Urgent"),
        (breathing(paco2_kpa=6.0), Action.MONITOR, "Repeat"),
    ],
)  # fmt: skip
def test_respiratory_review_schedule_and_referral(kb, respiratory, expected, detail):
    review = find(treat(kb, **als(respiratory=respiratory)), "respiratory_review")
    assert review is not None and review.action == expected
    assert review.detail is not None and review.detail.startswith(detail)


# --- nutrition (nice2016_ng42; miller2009_aan_part1 Level B; andersen2012_efns; nice2006_cg32) --


def test_dietitian_for_every_person_with_als(kb):
    assert action(treat(kb, **als()), "dietitian") == Action.REFER
    assert find(treat(kb, jurisdiction="EU"), "dietitian") is None


@pytest.mark.parametrize(
    ("derived", "extra", "expected", "detail"),
    [
        (nutrition(loss=12), {}, Action.REFER, "Refer for gastrostomy, ideally"),
        (nutrition(loss=10), {}, Action.CONSIDER, "Discuss"),  # not over 10 %
        (nutrition(bmi=18.0), {}, Action.REFER, "Refer for gastrostomy, ideally"),
        (nutrition(bmi=18.5), {}, Action.CONSIDER, "Discuss"),
        ({}, {"alsfrs_r": [rating("2025-02-01", swallowing=2)]}, Action.REFER, "Refer"),
        ({}, {"alsfrs_r": [rating("2025-02-01", swallowing=3)]}, Action.CONSIDER, "Discuss"),
        (nutrition(bmi=17.0), {"respiratory": breathing(fvc_percent_predicted=45)}, Action.REFER,
         "Refer for gastrostomy without delay"),
        ({}, {"respiratory": breathing(fvc_percent_predicted=45)}, Action.CONSIDER,
         "FVC is below 50 %"),
        (nutrition(bmi=17.0), {"interventions": {"gastrostomy": {"since": "2024-12-01"}}},
         Action.CONTINUE, "Gastrostomy in place"),
        ({}, {"alsfrs_r": [rating("2025-02-01", gastrostomy=True)]}, Action.CONTINUE,
         "Gastrostomy in place"),
        (nutrition(bmi=17.0), {"interventions": {"gastrostomy": {"declined": True}}},
         Action.CONSIDER, "A gastrostomy is indicated but was declined"),
    ],
)  # fmt: skip
def test_gastrostomy_discussed_early_indicated_on_triggers(kb, derived, extra, expected, detail):
    gastrostomy = find(treat(kb, **als(**derived, **extra)), "gastrostomy")
    assert gastrostomy is not None and gastrostomy.action == expected
    assert gastrostomy.detail is not None and gastrostomy.detail.startswith(detail)


def test_gastrostomy_weight_loss_says_weights(kb):
    made = treat(kb, **als(premorbid_weight_kg=80, weights=[{"date": "2025-02-01", "kg": 70}]))
    gastrostomy = find(made, "gastrostomy")
    assert gastrostomy is not None
    assert (
        "weight 70 kg on 2025-02-01, a loss of 12.5 % from the premorbid 80 kg (above 10 %)"
        in gastrostomy.because
    )


# --- symptoms ---------------------------------------------------------------------------------


def present(*ids: str) -> list[dict[str, Any]]:
    return [{"id": finding, "present": True} for finding in ids]


def test_sialorrhea_from_finding_or_item_antimuscarinic_first(kb):
    # nice2016_ng42: antimuscarinic first line; khan2023_chest: anticholinergic trial
    by_finding = find(treat(kb, **als(findings=present("sialorrhea"))), "sialorrhea_treatment")
    assert by_finding is not None and by_finding.action == Action.CONSIDER
    assert by_finding.detail is not None and "antimuscarinic" in by_finding.detail
    by_item = treat(kb, **als(alsfrs_r=[rating("2025-02-01", salivation=3)]))
    assert action(by_item, "sialorrhea_treatment") == Action.CONSIDER
    assert action(treat(kb, **als()), "sialorrhea_treatment") is None


def test_sialorrhea_with_cognitive_impairment_glycopyrronium(kb):
    made = treat(kb, **als(findings=present("sialorrhea"), cognition={"ecas_total": 98}))
    sialorrhea = find(made, "sialorrhea_treatment")
    assert sialorrhea is not None and sialorrhea.detail is not None
    assert "glycopyrronium first" in sialorrhea.detail


def test_pseudobulbar_affect_dextromethorphan_quinidine_where_authorised(kb):
    # miller2009_aan_part2 Level B; fda2010_nuedexta; ec2016_nuedexta_withdrawal
    us = find(treat(kb, **als(jurisdiction="US", findings=present("pseudobulbar_affect"))),
              "pseudobulbar_affect_treatment")  # fmt: skip
    assert us is not None and us.strength == "moderate"
    assert us.detail is not None and us.detail.startswith("Consider dextromethorphan-quinidine")
    eu = find(treat(kb, **als(findings=present("pseudobulbar_affect"))),
              "pseudobulbar_affect_treatment")  # fmt: skip
    assert eu is not None and eu.action == Action.CONSIDER and eu.strength == "not_graded"
    assert any("withdrawn" in sentence for sentence in eu.because)


def test_cramps_quinine_caution(kb):
    # nice2016_ng42 (quinine first line) with mhra2010_quinine (not routine)
    cramps = find(treat(kb, **als(findings=present("painful_muscle_spasms"))), "cramp_treatment")
    assert cramps is not None and cramps.action == Action.CONSIDER
    assert cramps.detail is not None and "quinine is not for routine use" in cramps.detail
    assert "mhra2010_quinine" in cramps.sources
    assert find(treat(kb, **als()), "cramp_treatment") is None


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"exam": {"lumbosacral": {"spasticity": True}}}, Action.CONSIDER),
        ({"findings": present("spastic_unsteady_gait")}, Action.CONSIDER),
        ({"exam": {"lumbosacral": {"hyperreflexia": True}}}, None),
        ({"findings": [{"id": "spastic_unsteady_gait", "present": False}]}, None),
    ],
)
def test_spasticity_from_exam_or_findings(kb, extra, expected):
    assert action(treat(kb, **als(**extra)), "spasticity_treatment") == expected


def test_depression_anxiety_asked_about_for_every_person_with_als(kb):
    care = find(treat(kb, **als()), "depression_anxiety_care")
    assert care is not None and care.action == Action.MONITOR and care.verified is False


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"respiratory": breathing(fvc_percent_predicted=90, symptoms=["unrefreshing_sleep"])},
         Action.MONITOR),
        ({"alsfrs_r": [rating("2025-02-01", orthopnea=3)]}, Action.MONITOR),
        ({}, None),
    ],
)  # fmt: skip
def test_insomnia_check_hypoventilation_before_sedatives(kb, extra, expected):
    made = treat(kb, **als(**extra))
    assert action(made, "insomnia_care") == expected
    found = find(made, "insomnia_care")
    assert found is None or "nocturnal hypoventilation" in (found.detail or "")


def test_communication_speech_declined_refer_else_voice_banking_early(kb):
    impaired = treat(kb, **als(alsfrs_r=[rating("2025-02-01", speech=3)]))
    assert action(impaired, "communication_aac") == Action.REFER
    slurred = treat(kb, **als(findings=present("slurred_nasal_speech")))
    assert action(slurred, "communication_aac") == Action.REFER
    early = find(treat(kb, **als(alsfrs_r=[rating("2025-02-01")])), "communication_aac")
    assert early is not None and early.action == Action.CONSIDER
    assert early.detail == "Offer voice and message banking early, before speech declines."


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"findings": present("falls")}, Action.REFER),
        ({"findings": present("head_drop")}, Action.REFER),
        ({"alsfrs_r": [rating("2025-02-01", walking=3)]}, Action.REFER),
        ({"alsfrs_r": [rating("2025-02-01")]}, None),
    ],
)
def test_mobility_and_falls(kb, extra, expected):
    assert action(treat(kb, **als(**extra)), "mobility_falls") == expected


def test_steps_without_a_record_trigger_are_never_output(kb):
    made = treat(kb, **als(findings=present("sialorrhea", "painful_muscle_spasms")))
    assert {r.id for r in made}.isdisjoint(
        {"thick_secretions_care", "pain_management", "laryngospasm_care"}
    )


# --- cognition (miller2009_aan_part2; abrahams2014_ecas; strong2017_ftsd) -------------------------


@pytest.mark.parametrize(
    ("cognition", "findings", "expected", "detail"),
    [
        (None, [], Action.MONITOR, "No ECAS recorded"),
        ({"ecas_total": 120}, [], Action.MONITOR, "Repeat the ECAS"),
        ({"ecas_total": 100}, [], Action.REFER, "Cognitive or behavioural change"),
        ({"ecas_total": 120, "ftd": True}, [], Action.REFER, "Cognitive or behavioural change"),
        ({"behaviour_change": True}, [], Action.REFER, "Cognitive or behavioural change"),
        (None, present("cognitive_impairment"), Action.REFER, "Cognitive or behavioural change"),
    ],
)
def test_cognitive_screening_ecas(kb, cognition, findings, expected, detail):
    extra: dict[str, Any] = {"findings": findings}
    if cognition is not None:
        extra["cognition"] = cognition
    screening = find(treat(kb, **als(**extra)), "cognitive_screening")
    assert screening is not None and screening.action == expected
    assert screening.detail is not None and screening.detail.startswith(detail)


# --- genetics (roggenbuck2023_genetic_testing) ----------------------------------------------


PANEL_NEGATIVE = [{"gene": g, "result": "negative"} for g in ("C9orf72", "SOD1", "FUS", "TARDBP")]


@pytest.mark.parametrize(
    ("extra", "expected", "because"),
    [
        ({}, Action.REFER, "no genetic test result recorded"),
        ({"genetics": [{"gene": "C9orf72", "result": "negative"}]}, Action.REFER,
         "not tested: SOD1, FUS, TARDBP"),
        ({"genetics": [*PANEL_NEGATIVE[:3], {"gene": "TARDBP", "result": "not_tested"}]},
         Action.REFER, "not tested: TARDBP"),
        ({"genetics": PANEL_NEGATIVE}, None, None),
        ({"tests": [{"id": "genetic_testing", "result": "negative"}]}, None, None),
        ({"genetics": [*PANEL_NEGATIVE[:3], {"gene": "C9orf72", "result": "pathogenic"}]},
         Action.REFER, "C9orf72 pathogenic variant"),
    ],
)  # fmt: skip
def test_genetic_counselling_and_testing_for_everyone(kb, extra, expected, because):
    counselling = find(treat(kb, **als(**extra)), "genetic_counselling")
    assert (counselling.action if counselling else None) == expected
    if counselling is not None:
        assert because in counselling.because
        assert counselling.strength == "consensus"


# --- advance care planning and palliative care (taylor2022_aan_neuropalliative; nice2010_cg105) -


@pytest.mark.parametrize(
    ("extra", "derived", "expected", "detail"),
    [
        ({}, {}, Action.START, "Start advance care planning early"),
        ({"interventions": {"niv": {"since": "2025-01-10"}}}, {}, Action.START,
         "Start advance care planning now"),
        ({}, FAST, Action.START, "Start advance care planning now"),
        ({"care": {"advance_care_plan": True}}, {}, Action.MONITOR,
         "Revisit the advance care plan and goals of care regularly"),
        ({"care": {"advance_care_plan": True},
          "interventions": {"gastrostomy": {"since": "2025-01-10"}}}, {}, Action.MONITOR,
         "Revisit the advance care plan and goals of care now"),
    ],
)  # fmt: skip
def test_advance_care_planning_early_revisited_at_niv_gastrostomy_fast_progression(
    kb, extra, derived, expected, detail
):
    plan = find(treat(kb, **als(**{**derived, **extra})), "advance_care_planning")
    assert plan is not None and plan.action == expected
    assert plan.detail is not None and plan.detail.startswith(detail)


@pytest.mark.parametrize(
    ("extra", "derived", "expected"),
    [
        ({}, {}, Action.MONITOR),  # primary palliative care always
        ({}, FAST, Action.CONSIDER),  # specialist for complex needs
        ({"care": {"palliative_care_referral": True}}, {}, Action.CONTINUE),
    ],
)
def test_palliative_care_primary_always_specialist_for_complex_needs(kb, extra, derived, expected):
    palliative = find(treat(kb, **als(**{**derived, **extra})), "palliative_care")
    assert palliative is not None and palliative.action == expected
    assert "taylor2022_aan_neuropalliative" in palliative.sources


# --- the algorithm as a whole -------------------------------------------------------------------


def test_recommendations_follow_group_then_step_order(kb):
    made = treat(
        kb,
        **als(
            jurisdiction="US",
            genetics=SOD1,
            findings=present("sialorrhea", "pseudobulbar_affect", "painful_muscle_spasms", "falls"),
            respiratory=breathing(fvc_percent_predicted=45, peak_cough_flow_l_min=150),
        ),
    )
    order = [step.id for _, step in kb.treatment.steps()]
    positions = [order.index(r.id) for r in made]
    assert positions == sorted(positions)
    groups = [group.id for group in kb.treatment.groups]
    assert [groups.index(r.group) for r in made] == sorted(groups.index(r.group) for r in made)


def test_every_recommendation_id_of_the_contract_is_a_step(kb):
    steps = {step.id for _, step in kb.treatment.steps()}
    assert {item.value for item in RecommendationId} <= steps


@pytest.mark.parametrize(
    ("finding", "step"),
    [
        ("thick_secretions", "thick_secretions_care"),
        ("pain", "pain_management"),
        ("laryngospasm", "laryngospasm_care"),
        ("depression", "depression_anxiety_care"),
        ("anxiety", "depression_anxiety_care"),
    ],
)
def test_symptom_finding_recorded_gives_its_treatment(kb, finding, step):
    # reference 7.2: each symptom recorded gets its management (NICE NG42, wording unverified)
    record = make_record(
        diagnosis_date="2024-01-01",
        symptom_onset={"date": "2023-06-01"},
        findings=[{"id": finding, "present": True}],
    )
    assessment = assess(record, as_of=dt.date(2024, 3, 1), kb=kb)
    found = {r.id: r for r in assessment.recommendations}
    assert found[step].action == "consider"
    # The undated v1 finding is dated on the record's latest date, the diagnosis, and says so.
    label = kb.topic.finding(finding).label
    assert f"{label} recorded present on 2024-01-01 (date inferred)" in found[step].because


@pytest.mark.parametrize("finding", ["thick_secretions", "pain", "laryngospasm"])
def test_symptom_finding_absent_gives_no_treatment(kb, finding):
    record = make_record(
        diagnosis_date="2024-01-01",
        symptom_onset={"date": "2023-06-01"},
        findings=[{"id": finding, "present": False}],
    )
    assessment = assess(record, as_of=dt.date(2024, 3, 1), kb=kb)
    step = {
        "thick_secretions": "thick_secretions_care",
        "pain": "pain_management",
        "laryngospasm": "laryngospasm_care",
    }[finding]
    assert step not in {r.id for r in assessment.recommendations}
