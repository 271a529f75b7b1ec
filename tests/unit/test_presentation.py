"""The one wording of every view: each id of the vocabulary and of the knowledge base that an
assessment can hold has a clinical label, no snake_case id survives into words, and numbers,
stages and the ENCALS phrases read the same wherever they are shown."""

from __future__ import annotations

import ast
import datetime as dt
import re
from enum import StrEnum

import pytest

from alscare import KnowledgeBase
from alscare.knowledge.document import FINDING_KIND_TITLES
from alscare.knowledge.treatment import Strength
from alscare.presentation import (
    NOT_KNOWN,
    SCORE_KEYS,
    Kind,
    Wording,
    age,
    clinical_text,
    encals_conditional,
    encals_estimate,
    encals_event,
    humanise,
    number,
    percent,
    score_flags,
    score_value,
    stage,
    survival,
    wording,
)
from alscare.schemas import vocabulary
from alscare.schemas.assessment import (
    AlsfrsScore,
    EncalsConditional,
    EncalsInputs,
    EncalsPrognosis,
    Scores,
)
from tests.builders import make_record_v2
from tests.unit.test_purity import FORBIDDEN, PACKAGE, _clock_calls, _imports

SNAKE = re.compile(r"[a-z0-9]_[a-z0-9]")

# Every closed vocabulary an assessment or a record table can show, with the kind of its words.
VOCABULARIES: list[tuple[type[StrEnum], Kind]] = [
    (vocabulary.AlertId, Kind.ALERT),
    (vocabulary.RecommendationId, Kind.RECOMMENDATION),
    (vocabulary.DifferentialId, Kind.DIFFERENTIAL),
    (vocabulary.InvestigationId, Kind.INVESTIGATION),
    (vocabulary.FindingId, Kind.FINDING),
    (vocabulary.RiskFactorId, Kind.RISK_FACTOR),
    (vocabulary.Action, Kind.ACTION),
    (vocabulary.Severity, Kind.SEVERITY),
    (vocabulary.InvestigationStatus, Kind.STATUS),
    (vocabulary.DifferentialLevel, Kind.LEVEL),
    (vocabulary.ElEscorialCategory, Kind.EL_ESCORIAL),
    (vocabulary.AwajiCategory, Kind.AWAJI),
    (vocabulary.Region, Kind.REGION),
    (vocabulary.Sex, Kind.SEX),
    (vocabulary.OnsetSite, Kind.ONSET_SITE),
    (vocabulary.Jurisdiction, Kind.JURISDICTION),
    (vocabulary.InterventionKind, Kind.INTERVENTION),
    (vocabulary.InterventionEvent, Kind.INTERVENTION_EVENT),
    (vocabulary.CareKind, Kind.CARE),
    (Strength, Kind.STRENGTH),
]


def _kb_ids(kb: KnowledgeBase) -> list[tuple[Kind, str]]:
    """The ids the knowledge base puts into an assessment that no StrEnum closes."""
    treatment, scoring = kb.treatment, kb.scoring
    return [
        *((Kind.ALERT, rule.alert) for rule in treatment.alert_rules),
        *((Kind.GROUP, group.id) for group in treatment.groups),
        *((Kind.RECOMMENDATION, step.id) for group in treatment.groups for step in group.steps),
        *((Kind.KINGS_REGION, region.id) for region in scoring.kings_clinical.regions),
        *((Kind.KINGS_REGION, region.id) for region in scoring.kings_alsfrs_r.regions),
        *((Kind.MITOS_DOMAIN, domain.id) for domain in scoring.mitos.domains),
        *((Kind.FACTOR_KIND, kind) for kind in FINDING_KIND_TITLES),
        *((Kind.ALSFRS_DOMAIN, name) for name in ("bulbar", "fine_motor", "gross_motor")),
        (Kind.ALSFRS_DOMAIN, "respiratory"),
        *((Kind.ENCALS_INPUT, name) for name in EncalsInputs.model_fields),
        *((Kind.SCORE, key) for key in SCORE_KEYS),
        *((Kind.KINGS_METHOD, method) for method in ("alsfrs_r", "clinical")),
        *((Kind.LMN_SOURCE, source) for source in ("clinical", "emg", "clinical+emg")),
        *((Kind.PROGRESSION_BAND, band) for band in ("slow", "intermediate", "fast")),
    ]


@pytest.mark.parametrize(
    ("enum", "kind"), VOCABULARIES, ids=[enum.__name__ for enum, _ in VOCABULARIES]
)
def test_presentation_every_vocabulary_id_has_a_clinical_label(kb, enum, kind):
    labels = wording(kb).vocabulary()[kind.value]
    unlabelled = [member.value for member in enum if member.value not in labels]
    assert unlabelled == []
    for member in enum:
        text = wording(kb).label(kind, member)
        assert not SNAKE.search(text), (member, text)
        assert text != member.value or "_" not in text


def test_presentation_every_knowledge_base_id_of_an_assessment_has_a_label(kb):
    labels = wording(kb).vocabulary()
    unlabelled = [(kind, key) for kind, key in _kb_ids(kb) if key not in labels[kind.value]]
    assert unlabelled == []
    assert all(not SNAKE.search(text) for table in labels.values() for text in table.values())


def test_presentation_criteria_categories_read_as_clinicians_write_them(kb):
    words = wording(kb)
    assert words.label(Kind.EL_ESCORIAL, "probable_laboratory_supported") == (
        "Clinically probable, laboratory-supported"
    )
    assert words.label(Kind.AWAJI, "not_met") == "Not met"
    assert words.label(Kind.STATUS, "not_needed") == "Not needed"
    assert words.label(Kind.STRENGTH, "not_graded") == "Not graded"


def test_presentation_knowledge_base_labels_come_first_and_kinds_keep_ids_apart(kb):
    words = wording(kb)
    step = kb.treatment.groups[0].steps[0]
    assert words.label(Kind.RECOMMENDATION, step.id) == step.label
    assert words.label(Kind.GROUP, kb.treatment.groups[0].id) == kb.treatment.groups[0].label
    assert words.label(Kind.INTERVENTION, "niv") == "NIV"
    assert words.label(Kind.RECOMMENDATION, "niv") != "NIV"
    assert words.label(Kind.ACTION, "consider") == "Consider"
    assert words.label(Kind.STATUS, "consider") == "To consider"


def test_presentation_without_a_knowledge_base_still_gives_words():
    words = Wording()
    assert words.label(Kind.RECOMMENDATION, "riluzole_liver_monitoring") == (
        "Riluzole liver monitoring"
    )
    assert words.any_label("niv_indicated") == "NIV indicated"
    assert words.label(Kind.ALERT, None) == NOT_KNOWN
    assert words.labels(Kind.KINGS_REGION, ()) == "none"
    assert words.labels(Kind.KINGS_REGION, ("upper_limb", "bulbar")) == "Upper limb, Bulbar"


@pytest.mark.parametrize(
    ("identifier", "words"),
    [
        ("anti_gm1_antibodies", "Anti GM1 antibodies"),
        ("a_field_added_later", "A field added later"),
        ("clinical+emg", "Clinical and EMG"),
        ("htlv1_myelopathy", "HTLV-1 myelopathy"),
    ],
)
def test_presentation_unknown_ids_become_words(identifier, words):
    assert humanise(identifier) == words


def test_presentation_clinical_text_has_no_programmers_words():
    engine = "ALSFRS-R rating of 2025-03-01 is after as_of"
    assert clinical_text(engine) == "ALSFRS-R rating of 2025-03-01 is after the assessment date"
    assert clinical_text("an unknown_field_id here") == "an unknown field id here"
    assert clinical_text("FVC 41 % predicted (below 50)") == "FVC 41 % predicted (below 50)"


@pytest.mark.parametrize(
    ("value", "unit", "digits", "text"),
    [
        (41.0, "% predicted", 1, "41 % predicted"),
        (77.25, "% predicted", 1, "77.2 % predicted"),
        (1.2249, "points/month", 2, "1.22 points/month"),
        (-0.5, "points/month", 2, "-0.5 points/month"),
        (-0.001, "", 2, "0"),
        (None, "kg", 1, NOT_KNOWN),
    ],
)
def test_presentation_numbers_carry_units_and_sensible_digits(value, unit, digits, text):
    assert number(value, unit, digits=digits) == text


def test_presentation_survival_in_order_of_months_as_percentages():
    assert percent(0.484) == "48 %"
    assert survival({"24": 0.246, "12": 0.484}) == (("12 months", "48 %"), ("24 months", "25 %"))
    assert survival(None) == ()


def test_presentation_stage_5_says_death():
    assert stage("5") == "5 (death)"
    assert stage(5) == "5 (death)"
    assert stage("4B") == "4B"
    assert stage(None) == NOT_KNOWN


def test_presentation_scores_with_units_band_and_flags():
    scores = Scores(
        alsfrs_r=AlsfrsScore(
            date=dt.date(2025, 1, 1),
            total=40,
            bulbar=10,
            fine_motor=10,
            gross_motor=10,
            respiratory=10,
            item_5="5a",
        ),
        progression_rate=0.75,
        progression_band="intermediate",
        fvc_percent_predicted=64.0,
        bmi=9.1,
        stale=("fvc_percent_predicted", "bmi"),
        implausible=("bmi",),
    )
    assert score_value(scores, "alsfrs_r") == "40/48"
    assert score_value(scores, "progression_rate") == "0.75 points/month (intermediate)"
    assert score_value(scores, "fvc_percent_predicted") == "64 % predicted"
    assert score_value(scores, "weight_loss_percent") is None
    assert score_flags(scores, "bmi") == ("stale", "implausible")
    assert score_flags(scores, "alsfrs_r") == ()
    assert score_value(Scores(), "alsfrs_r") is None


def test_presentation_encals_phrases():
    as_of = dt.date(2025, 2, 1)
    applicable = EncalsPrognosis(
        median_survival_months=38.1,
        applicable=True,
        event="death or tracheostomy",
        conditional=EncalsConditional(months_since_onset=15.0, median_survival_months=14.1),
    )
    assert encals_event(applicable) == "death or tracheostomy"
    assert encals_estimate(applicable) == "median survival 38.1 months from symptom onset"
    assert encals_conditional(applicable, as_of) == (
        "For a patient free of the event on 2025-02-01, 15 months after onset: median survival "
        "14.1 more months."
    )
    unreached = applicable.model_copy(
        update={"conditional": EncalsConditional(months_since_onset=3.5)}
    )
    assert "not reached" in encals_conditional(unreached, as_of)
    after_event = applicable.model_copy(update={"conditional": None})
    assert encals_conditional(after_event, as_of).startswith("No survival from 2025-02-01")
    not_applicable = EncalsPrognosis(applicable=False)
    assert encals_estimate(not_applicable) == "not applicable to this patient"
    assert encals_conditional(not_applicable, as_of) == ""
    assert encals_estimate(EncalsPrognosis()) == "not computed"
    assert encals_event(EncalsPrognosis()) == "not stated"


def test_presentation_age_by_birthdays_or_as_recorded():
    born = make_record_v2(birth_date="1961-09-14")
    assert age(born, dt.date(2025, 9, 13)) == 63
    assert age(born, dt.date(2025, 9, 14)) == 64
    recorded = make_record_v2(age_years=70, age_on="2025-01-15")
    assert age(recorded, dt.date(2026, 1, 20)) == 71
    assert age(make_record_v2(), dt.date(2025, 1, 1)) is None


def test_presentation_wording_is_made_once_per_knowledge_base(kb):
    assert wording(kb) is wording(kb)
    assert wording(None) is wording(None)


def test_presentation_module_is_pure():
    tree = ast.parse((PACKAGE / "presentation.py").read_text(encoding="utf-8"))
    assert _imports(tree) & FORBIDDEN == set()
    assert _clock_calls(tree) == set()
