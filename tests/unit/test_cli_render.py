"""The text rendering shows every field of an assessment, with reasons and sources."""

from __future__ import annotations

import datetime as dt
import io

from rich.console import Console

from alscare.cli.render import render_assessment
from alscare.schemas.assessment import (
    Alert,
    AlsfrsScore,
    Assessment,
    AwajiResult,
    Criteria,
    DiagnosticFactorStatus,
    DifferentialResult,
    ElEscorialResult,
    EncalsInputs,
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


def _text(assessment: Assessment, kb=None) -> str:
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
            ),
            kings_clinical=KingsClinicalResult(stage="2B", regions_involved=("upper_limb",)),
            mitos=MitosResult(stage=1, domains_lost=("swallowing",), because=("swallowing lost",)),
            missing=("interventions",),
        ),
        criteria=Criteria(
            gold_coast=GoldCoastResult(met=True, because=("UMN and LMN in cervical",)),
            el_escorial=ElEscorialResult(category="probable", familial_laboratory_supported=False),
            awaji=AwajiResult(category="definite", missing=("EMG",)),
        ),
        prognosis=Prognosis(
            encals=EncalsPrognosis(
                linear_predictor=-4.68,
                median_survival_months=38.1,
                survival={"12": 0.98, "36": 0.55},
                inputs=EncalsInputs(age_at_onset_years=60.0, bulbar_onset=False),
                sources=("westeneng2018_encals",),
            )
        ),
        regions={
            "cervical": RegionStatus(
                umn=True,
                lmn=True,
                lmn_source="clinical+emg",
                lmn_clinical=True,
                lmn_emg=True,
                lmn_emg_el_escorial=False,
                because=("wasting",),
            )
        },
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
            ),
        ),
        investigations=(
            InvestigationPlanItem(
                id="vitamin_b12", status="recommended", reason="routine", sources=("x_src",)
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
        ignored=("weight of 2025-05-01 is after as_of",),
    )


def test_render_shows_every_section_and_field(kb):
    text = _text(_full(), kb)
    for expected in (
        "ALS assessment of patient P-9",
        "as of 2025-03-01; knowledge version 2026.1; alscare.assessment/v1",
        "! HIGH: niv indicated",
        "! MEDIUM: rapid progression (rule unverified)",
        "+ note: call the patient; today",
        "+ urgent: yes",
        "40/48 on 2025-01-01 (bulbar 10/12, fine motor 10/12, gross motor 10/12",
        "item 5 as 5b",
        "0.75 points/month (intermediate)",
        "-0.5 points/month",
        "64 % predicted",
        "5.5 % of premorbid weight",
        "22.1 kg/m²",
        "? missing: height",
        "ALSFRS-R 40/48 [bold]not markup[/bold]",
        "4A (from ALSFRS-R)",
        "regions involved: bulbar; gastrostomy: yes; NIV: no",
        "King's clinical stage",
        "regions involved: upper limb",
        "domains lost: swallowing",
        "? missing: interventions",
        "Gold Coast",
        "met",
        "probable",
        "familial, lab-supported",
        "definite",
        "? missing: EMG",
        "38.1 months from onset",
        "12 mo 98%, 36 mo 55%",
        "-4.68",
        "age at onset years",
        "UMN yes; LMN yes (clinical+emg)",
        "LMN clinical yes; by EMG yes; by EMG on the El Escorial reading no",
        "primary lateral sclerosis: consider (ALS spectrum, not a mimic); tests: emg ncs",
        "vitamin b12: recommended",
        "- routine",
        "START riluzole (disease modifying; strength: strong; rule unverified)",
        "50 mg twice daily",
        "foot drop: present",
        "falls: absent",
        "? not recorded: ftd features",
        "military service: present",
        "weight of 2025-05-01 is after as_of",
        "cedarbaum1999_alsfrs_r: Cedarbaum JM",
        "- x_src",
    ):
        assert expected in text, expected
    assert text.index("ALERTS") < text.index("SCORES") < text.index("SOURCES")


def test_render_empty_assessment_says_none_and_not_known():
    text = _text(Assessment(patient_id="P-0", as_of=dt.date(2025, 1, 1), knowledge_version="1"))
    assert "ALSFRS-R                  not known" in text
    assert "King's stage              not known" in text
    assert "none suggested by the record" in text
    assert "none recorded" in text and "none assessed" in text
    assert "SOURCES\n    none" in text
    assert "Traceback" not in text
