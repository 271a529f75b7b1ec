"""The text rendering shows every field of an assessment, with reasons and sources: each
score's date and flags, the course, the ENCALS event, applicability and survival from the
assessment date, stage 5 after death, and an unverified mark on every unverified conclusion."""

from __future__ import annotations

import datetime as dt
import io

from rich.console import Console

from alscare import assess
from alscare.cli.render import render_assessment
from alscare.schemas.assessment import (
    Alert,
    AlsfrsScore,
    Assessment,
    AwajiResult,
    Course,
    CourseRegion,
    Criteria,
    DiagnosticFactorStatus,
    DifferentialResult,
    ElEscorialResult,
    EncalsPrognosis,
    GoldCoastResult,
    InvestigationPlanItem,
    KingsClinicalResult,
    KingsResult,
    MitosResult,
    Prognosis,
    Recommendation,
    RegionStatus,
    RiskFactorStatus,
    Scores,
    Staging,
)
from tests.conftest import example
from tests.fixtures.assessments import encals_from_as_of, encals_not_applicable


def _text(assessment: Assessment, kb) -> str:
    out = io.StringIO()
    Console(file=out, width=200, color_system=None).print(render_assessment(assessment, kb))
    return out.getvalue()


class _AlertWithNote(Alert):
    """An alert with a field added later: the renderer must still show it."""

    note: tuple[str, ...] = ("call the patient", "today")
    urgent: bool = True


def _full() -> Assessment:
    return Assessment(
        patient_id="P-9",
        as_of=dt.date(2025, 3, 1),
        knowledge_version="2026.1",
        scores=Scores(
            alsfrs_r=AlsfrsScore(
                date=dt.date(2025, 1, 1),
                total=40,
                bulbar=10,
                fine_motor=10,
                gross_motor=10,
                respiratory=10,
                item_5="5b",
            ),
            progression_rate=0.75,
            alsfrs_r_slope=-0.5,
            fvc_percent_predicted=64.0,
            weight_loss_percent=5.5,
            bmi=22.1,
            progression_band="intermediate",
            missing=("height",),
            because=("ALSFRS-R 40/48 [bold]not markup[/bold]",),
            sources=("cedarbaum1999_alsfrs_r",),
            dates={
                "alsfrs_r": dt.date(2025, 1, 1),
                "progression_rate": dt.date(2025, 1, 1),
                "fvc_percent_predicted": dt.date(2024, 8, 1),
                "weight_loss_percent": dt.date(2024, 8, 1),
                "bmi": dt.date(2025, 2, 1),
            },
            stale=("fvc_percent_predicted", "weight_loss_percent"),
            implausible=("bmi",),
            notes={
                "fvc_percent_predicted": "stale: of 2024-08-01, 7 months old",
                "weight_loss_percent": "stale: of 2024-08-01, 7 months old",
                "bmi": "implausible, not used for advice: outside 10-80 kg/m2",
            },
            verified=False,
        ),
        staging=Staging(
            kings=KingsResult(
                stage="4A",
                method="alsfrs_r",
                gastrostomy=True,
                niv=False,
                regions_involved=("bulbar",),
                because=("gastrostomy (stage 4A)",),
                sources=("balendra2014_kings_alsfrs",),
                verified=False,
            ),
            kings_clinical=KingsClinicalResult(
                stage="2B", regions_involved=("upper_limb",), verified=False
            ),
            mitos=MitosResult(stage=1, domains_lost=("swallowing",), because=("swallowing lost",)),
            missing=("interventions",),
        ),
        criteria=Criteria(
            gold_coast=GoldCoastResult(
                met=True, because=("UMN and LMN in cervical",), verified=False
            ),
            el_escorial=ElEscorialResult(
                category="probable", familial_laboratory_supported=False, verified=False
            ),
            awaji=AwajiResult(category="definite", missing=("EMG",), verified=False),
        ),
        prognosis=Prognosis(encals=encals_from_as_of("westeneng2018_encals")),
        regions={
            "cervical": RegionStatus(
                umn=True,
                lmn=True,
                lmn_source="clinical+emg",
                lmn_clinical=True,
                lmn_emg=True,
                lmn_emg_el_escorial=False,
                because=("wasting",),
                verified=False,
            )
        },
        course=Course(
            regions={
                "cervical": CourseRegion(
                    first_umn=dt.date(2024, 6, 12), first_lmn=dt.date(2024, 4, 2)
                ),
                "bulbar": CourseRegion(),
            },
            sources=("shefner2020_gold_coast",),
        ),
        diagnostic_factors=(
            DiagnosticFactorStatus(id="foot_drop", kind="key", present=True, because=("seen",)),
            DiagnosticFactorStatus(id="falls", kind="other", present=False),
            DiagnosticFactorStatus(id="ftd_features", kind="other"),
        ),
        risk_factors=(RiskFactorStatus(id="military_service", present=True),),
        differentials=(
            DifferentialResult(
                id="primary_lateral_sclerosis",
                level="consider",
                spectrum=True,
                tests=("emg_ncs",),
                because=("pure UMN",),
                verified=False,
            ),
        ),
        investigations=(
            InvestigationPlanItem(
                id="vitamin_b12",
                status="recommended",
                reason="routine",
                sources=("x_src",),
                verified=False,
            ),
        ),
        recommendations=(
            Recommendation(
                id="riluzole",
                group="disease_modifying",
                action="start",
                strength="strong",
                detail="50 mg twice daily",
                because=("diagnosed",),
                sources=("miller2009_aan_part1",),
                verified=False,
            ),
        ),
        alerts=(
            _AlertWithNote(id="niv_indicated", severity="high", because=("FVC 45 %",)),
            Alert(id="rapid_progression", severity="medium", verified=False),
        ),
        missing=("height",),
        ignored=("weight of 2025-05-01 is after the assessment date",),
    )


def test_render_shows_every_section_and_field(kb):
    text = _text(_full(), kb)
    for expected in (
        "ALS assessment of patient P-9",
        "as of 2025-03-01; knowledge version 2026.1; alscare.assessment/v1",
        "! HIGH PRIORITY: NIV indicated",
        "! MEDIUM PRIORITY: Rapid progression (unverified)",
        "+ note: call the patient; today",
        "+ urgent: yes",
        "ALSFRS-R total            40/48 on 2025-01-01 (bulbar 10/12, fine motor 10/12, gross "
        "motor 10/12",
        "item 5 as 5b",
        "SCORES (UNVERIFIED)",
        "0.75 points/month (intermediate) on 2025-01-01",
        "-0.5 points/month",
        "64 % predicted on 2024-08-01; STALE",
        "5.5 % of premorbid weight on 2024-08-01; STALE",
        "22.1 kg/m² on 2025-02-01; IMPLAUSIBLE",
        "! FVC: stale: of 2024-08-01, 7 months old",
        "! Weight loss: stale: of 2024-08-01, 7 months old",
        "! BMI: implausible, not used for advice: outside 10-80 kg/m2",
        "? missing: height",
        "ALSFRS-R 40/48 [bold]not markup[/bold]",
        "4A (estimated from the ALSFRS-R) (unverified)",
        "regions involved: Bulbar; gastrostomy: yes; NIV: no",
        "King's clinical stage     2B (unverified)",
        "regions involved: Upper limb",
        "domains lost: Swallowing",
        "? missing: interventions",
        "Gold Coast                met (unverified)",
        "Clinically probable (unverified)",
        "familial, lab-supported",
        "Awaji-Shima               Clinically definite (unverified)",
        "? missing: EMG",
        "PROGNOSIS (ENCALS MODEL) (UNVERIFIED)",
        "event predicted: death, tracheostomy or NIV over 23 hours a day; times are months from "
        "symptom onset",
        "Applicable                yes",
        "38.1 months from onset",
        "12 months 98 %, 36 months 55 %, 60 months 18 %",
        "-4.68",
        "from the assessment date, event-free 15 months after onset; times are months after "
        "2025-03-01:",
        "Median survival           14.1 more months",
        "Event-free survival       12 months 58 %, 24 months 25 %",
        "Age at onset                             60 years",
        "Definite ALS (revised El Escorial)       not known",
        "caveat: The ENCALS model estimates survival for groups of patients like this one",
        "Cervical                  UMN yes; LMN yes (clinical signs and EMG) (unverified)",
        "LMN clinical yes; by EMG yes; by EMG on the El Escorial reading no",
        "COURSE (FIRST SIGNS BY REGION",
        "Cervical                  UMN since 2024-06-12; LMN since 2024-04-02",
        "Bulbar                    UMN not seen; LMN not seen",
        "Primary lateral sclerosis: to consider (ALS spectrum, not a mimic); tests: "
        "Electromyography (EMG) and nerve conduction studies (unverified)",
        "Vitamin B12: recommended (unverified)",
        "- routine",
        "START Riluzole (Disease modifying; strength: strong; unverified)",
        "50 mg twice daily",
        "Key diagnostic factors",
        "Foot drop: present",
        "Propensity for falls: absent",
        "? not recorded: Features of frontotemporal dementia",
        "Military service: present",
        "weight of 2025-05-01 is after the assessment date",
        "cedarbaum1999_alsfrs_r: Cedarbaum JM",
        "- x_src",
        "shefner2020_gold_coast: Shefner JM",
    ):
        assert expected in text, expected
    assert text.index("ALERTS") < text.index("SCORES") < text.index("SOURCES")
    assert text.index("REGIONS") < text.index("COURSE") < text.index("DIFFERENTIAL")
    assert "+ " not in text.replace("+ note:", "").replace("+ urgent:", "")  # every field known


def test_render_verified_conclusions_carry_no_mark(kb):
    verified = _full().model_copy(
        update={
            "alerts": (),
            "recommendations": (),
            "differentials": (),
            "investigations": (),
            "regions": {},
            "criteria": Criteria(),
            "scores": Scores(),
            "staging": Staging(),
            "prognosis": Prognosis(),
        }
    )
    text = _text(verified, kb)
    assert "unverified)" not in text and "UNVERIFIED)" not in text


def test_render_after_death_stage_5_and_no_survival_from_the_date(kb):
    died = ("died on 2024-10-01: stage 5 from the date of death",)
    assessment = Assessment(
        patient_id="P-5",
        as_of=dt.date(2025, 2, 1),
        knowledge_version="2026.1",
        staging=Staging(
            kings=KingsResult(stage="5", method="clinical", because=died),
            kings_clinical=KingsClinicalResult(stage="5", because=died),
            mitos=MitosResult(stage=5, because=died),
        ),
        prognosis=Prognosis(
            encals=EncalsPrognosis(
                median_survival_months=31.0,
                applicable=True,
                because=("the event has occurred (died on 2024-10-01)",),
            )
        ),
    )
    text = _text(assessment, kb)
    assert "King's stage              5 (death) (from clinical milestones)" in text
    assert "King's clinical stage     5 (death)" in text
    assert "MiToS stage               5 (death)" in text
    assert "- died on 2024-10-01: stage 5 from the date of death" in text
    assert "from the assessment date: not computed (see the reasons below)" in text
    assert "event predicted: not stated" in text


def test_render_encals_not_applicable_says_no_with_the_reasons(kb):
    text = _text(encals_not_applicable("P-6", dt.date(2025, 2, 1), "2026.1"), kb)
    assert "Applicable                NO: see the reasons below" in text
    assert "Median survival           not known" in text
    assert "- not applicable: diagnostic delay 1.2 months, below 2.5 months" in text


def test_render_mitos_unknown_when_an_unrated_item_decides_it(kb):
    staging = Staging(mitos=MitosResult(stage=None, because=("swallowing not rated",)))
    text = _text(
        Assessment(
            patient_id="P-7", as_of=dt.date(2025, 2, 1), knowledge_version="1", staging=staging
        ),
        kb,
    )
    assert "MiToS stage               not known" in text
    assert "- swallowing not rated" in text


def test_render_engine_assessment_of_a_v2_example_shows_its_course(kb):
    record = example("P-0004-sod1-late", version=2)
    text = _text(assess(record, as_of=dt.date(2025, 2, 1), kb=kb), kb)
    assert "Cervical                  UMN since 2023-02-14; LMN since 2023-02-28" in text
    assert "FVC                       41 % predicted on 2024-08-01; STALE" in text
    assert "Applicable                yes" in text
    assert "Dora Example" not in text and "EX-100004" not in text  # the id only


def test_render_empty_assessment_says_none_and_not_known(kb):
    text = _text(Assessment(patient_id="P-0", as_of=dt.date(2025, 1, 1), knowledge_version="1"), kb)
    assert "ALSFRS-R total            not known" in text
    assert "King's stage              not known" in text
    assert "none suggested by the record" in text
    assert "no dated examination or EMG" in text
    assert "none recorded" in text and "none assessed" in text
    assert "SOURCES\n    none" in text
    assert "Traceback" not in text
