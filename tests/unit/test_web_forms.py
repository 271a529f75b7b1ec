"""web/forms.py: posted form text to record v2 entries, problems back to form fields, and the
ALSFRS-R anchors the rating form shows."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from alscare.errors import Problem, RecordError
from alscare.knowledge import KnowledgeBase
from alscare.schemas.patient import PATIENT_SCHEMA
from alscare.schemas.records import parse_record
from alscare.schemas.vocabulary import AlsfrsItem
from alscare.services import ENTRY_MODELS
from alscare.web.forms import (
    AlsfrsAnchors,
    EntryKind,
    alsfrs_r_anchors,
    entry_from_form,
    field_errors,
    new_patient,
)


def rating_form(**changes: str) -> dict[str, str]:
    form = {"date": "2025-03-01", "item_5_form": "5a"}
    form.update({f"items.{item.value}": "4" for item in AlsfrsItem})
    form.update(changes)
    return form


def problems(kind: EntryKind, form: dict[str, str]) -> dict[str, str]:
    with pytest.raises(RecordError) as raised:
        entry_from_form(kind, form)
    return field_errors(raised.value)


# --- anchors ---------------------------------------------------------------------------------


def test_anchors_list_the_twelve_items_in_scale_order_with_five_scores_each() -> None:
    anchors = alsfrs_r_anchors()
    assert [item.id for item in anchors.items] == list(AlsfrsItem)
    assert [item.number for item in anchors.items] == [
        "1", "2", "3", "4", "5a", "6", "7", "8", "9", "10", "11", "12"
    ]  # fmt: skip
    for item in anchors.items:
        assert [score for score, _ in item.scores] == [4, 3, 2, 1, 0]


def test_anchors_item_5_alone_has_the_gastrostomy_form_5b() -> None:
    with_5b = [item for item in alsfrs_r_anchors().items if item.gastrostomy_form is not None]
    assert [item.id for item in with_5b] == [AlsfrsItem.CUTTING_FOOD]
    assert with_5b[0].gastrostomy_form is not None
    assert with_5b[0].gastrostomy_form.number == "5b"


def test_anchors_domains_follow_the_four_factor_convention(kb: KnowledgeBase) -> None:
    """Cedarbaum 1999 items grouped as Franchignoni 2017: bulbar 1-3, fine motor 4-6, gross
    motor 7-9, respiratory 10-12 (the same grouping as the scoring section)."""
    by_domain: dict[str, list[AlsfrsItem]] = {}
    for item in alsfrs_r_anchors().items:
        by_domain.setdefault(item.domain, []).append(item.id)
    assert [len(items) for items in by_domain.values()] == [3, 3, 3, 3]
    assert by_domain["bulbar"] == [AlsfrsItem.SPEECH, AlsfrsItem.SALIVATION, AlsfrsItem.SWALLOWING]
    assert by_domain["respiratory"][0] == AlsfrsItem.DYSPNEA


def test_anchors_from_memory_are_marked_unverified() -> None:
    """The reference marks the anchors of items 9 (stairs) and 11 (orthopnoea) [M]."""
    unverified = [item.id for item in alsfrs_r_anchors().items if not item.verified]
    assert unverified == [AlsfrsItem.CLIMBING_STAIRS, AlsfrsItem.ORTHOPNEA]


def test_anchors_cite_sources_of_the_knowledge_base(kb: KnowledgeBase) -> None:
    known = {source.id for source in kb.sources}
    for item in alsfrs_r_anchors().items:
        forms = [item, *([item.gastrostomy_form] if item.gastrostomy_form else [])]
        for form in forms:
            assert set(form.source_ids) <= known, form.number


# --- ALSFRS-R --------------------------------------------------------------------------------


def test_alsfrs_r_form_gives_a_rating_entry() -> None:
    entry = entry_from_form(EntryKind.ALSFRS_R, rating_form(**{"items.walking": " 2 "}))
    assert entry["date"] == dt.date(2025, 3, 1)
    assert entry["items"]["walking"] == 2
    assert entry["gastrostomy"] is False


def test_alsfrs_r_form_item_5b_means_a_gastrostomy() -> None:
    entry = entry_from_form(EntryKind.ALSFRS_R, rating_form(item_5_form="5b"))
    assert entry["gastrostomy"] is True


@pytest.mark.parametrize("score", ["5", "-1", "4.0", "x", "nan"])
def test_alsfrs_r_form_score_outside_0_to_4_is_refused(score: str) -> None:
    errors = problems(EntryKind.ALSFRS_R, rating_form(**{"items.speech": score}))
    assert errors == {"items.speech": "must be a whole number from 0 to 4"}


def test_alsfrs_r_form_every_fault_is_reported_at_once() -> None:
    form = rating_form(date="", item_5_form="")
    del form["items.orthopnea"]
    assert problems(EntryKind.ALSFRS_R, form) == {
        "date": "enter the date of the rating",
        "items.orthopnea": "rate this item from 0 to 4",
        "item_5_form": "choose 5a or 5b for item 5",
    }


# --- the other visit forms -------------------------------------------------------------------


def test_respiratory_form_puts_paco2_under_its_unit_and_keeps_ticked_symptoms() -> None:
    entry = entry_from_form(
        EntryKind.RESPIRATORY,
        {
            "date": "2025-03-01",
            "fvc_percent_predicted": "64,5",
            "paco2": "45",
            "paco2_unit": "mmhg",
            "symptoms.orthopnea": "on",
            "symptoms.morning_headache": "",
        },
    )
    assert entry == {
        "date": dt.date(2025, 3, 1),
        "fvc_percent_predicted": 64.5,
        "paco2_mmhg": 45.0,
        "symptoms": ["orthopnea"],
    }


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e999"])
def test_number_fields_refuse_non_finite_numbers(value: str) -> None:
    assert problems(EntryKind.WEIGHT, {"date": "2025-01-01", "kg": value}) == {
        "kg": "must be a number"
    }


def test_exam_form_dated_examined_regions_only_and_a_sign_implies_examined() -> None:
    entry = entry_from_form(
        EntryKind.EXAMINATION,
        {
            "date": "2025-02-03",
            "regions.bulbar.examined": "on",
            "regions.cervical.wasting": "on",
            "regions.thoracic.weakness": "",
        },
    )
    assert entry == {
        "date": dt.date(2025, 2, 3),
        "regions": {"bulbar": {}, "cervical": {"wasting": True}},
    }


def test_exam_form_needs_a_date_and_a_region() -> None:
    assert problems(EntryKind.EXAMINATION, {"regions.bulbar.weakness": ""}) == {
        "date": "enter the date of the examination",
        "regions": "tick each region you examined",
    }


def test_emg_form_yes_no_and_not_recorded() -> None:
    entry = entry_from_form(
        EntryKind.EMG,
        {
            "date": "2025-02-01",
            "regions.bulbar.fasciculation_potentials": "yes",
            "regions.bulbar.muscles": "1",
            "regions.cervical.chronic_neurogenic": "",
            "motor_conduction_block": "no",
        },
    )
    assert entry == {
        "date": dt.date(2025, 2, 1),
        "regions": {"bulbar": {"fasciculation_potentials": True, "muscles": 1}},
        "motor_conduction_block": False,
    }


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ({"id": "vitamin_b12", "unit": "pg/mL"},
         {"value": "a unit was given without a value",
          "result": "give a result, a value, or both"}),
        ({"id": "vitamin_b12", "value": "400", "unit": "U/L"},
         {"unit": "choose one of pg/mL, pmol/L, ng/L"}),
        ({"id": "hiv_test", "value": "1"},
         {"value": "this test is recorded as a result, not a number"}),
        ({"result": "normal"}, {"id": "choose the test"}),
    ],
)  # fmt: skip
def test_test_form_unit_problems_go_to_their_field(
    form: dict[str, str], expected: dict[str, str]
) -> None:
    assert problems(EntryKind.TEST, form) == expected


def test_entry_kinds_are_series_of_the_record_v2() -> None:
    assert {kind.value for kind in EntryKind} <= set(ENTRY_MODELS)
    assert {EntryKind.EXAMINATION.value, EntryKind.EMG.value} == {"examinations", "emg_studies"}


@pytest.mark.parametrize(
    ("kind", "form"),
    [
        (EntryKind.ALSFRS_R, rating_form()),
        (EntryKind.RESPIRATORY, {"date": "2025-03-01", "fvc_percent_predicted": "70"}),
        (EntryKind.WEIGHT, {"date": "2025-03-01", "kg": "70"}),
        (EntryKind.EXAMINATION, {"date": "2025-03-01", "regions.bulbar.examined": "on"}),
        (EntryKind.EMG, {"date": "2025-03-01", "motor_conduction_block": "no"}),
        (EntryKind.TEST, {"id": "thyroid_function", "result": "normal"}),
    ],
)
def test_every_visit_form_gives_a_valid_entry_of_its_series(
    kind: EntryKind, form: dict[str, str]
) -> None:
    entry = entry_from_form(kind, form)
    record = parse_record({"schema": PATIENT_SCHEMA, "id": "F-1", kind.value: [entry]})
    assert len(getattr(record, kind.value)) == 1


# --- new patient and messages ----------------------------------------------------------------


TODAY = dt.date(2025, 6, 2)


def test_new_patient_form_gives_a_valid_record_v2() -> None:
    record = new_patient(
        {
            "id": "N-1",
            "sex": "male",
            "birth_date": "1955-02-03",
            "symptom_onset.date": "2024-01-10",
            "symptom_onset.site": "bulbar",
            "progressive": "yes",
            "premorbid_weight_kg": "80",
            "jurisdiction": "",
            "identity.name": "  ",
        },
        today=TODAY,
    )
    assert record.to_json_dict()["schema"] == "alscare.patient/v2"
    assert record.id == "N-1"
    assert record.symptom_onset is not None and record.symptom_onset.site == "bulbar"
    assert record.progressive is True
    assert record.jurisdiction is None
    assert (record.identity, record.age_years, record.age_on) == (None, None, None)


def test_new_patient_form_age_is_the_age_today_and_identity_is_kept() -> None:
    record = new_patient(
        {
            "id": "N-3",
            "age_years": "67",
            "identity.name": "Ada Example",
            "identity.identifiers.0.system": "MRN",
            "identity.identifiers.0.value": "0012345",
        },
        today=TODAY,
    )
    assert (record.age_years, record.age_on) == (67, TODAY)
    assert record.identity is not None and record.identity.name == "Ada Example"
    assert [(i.system, i.value) for i in record.identity.identifiers] == [("MRN", "0012345")]


@pytest.mark.parametrize(
    ("given", "missing", "reason"),
    [
        ("system", "value", "enter the number"),
        ("value", "system", "say which number it is (MRN, NHS, ...)"),
    ],
)
def test_new_patient_form_identifier_needs_its_system_and_value(
    given: str, missing: str, reason: str
) -> None:
    with pytest.raises(RecordError) as raised:
        new_patient({"id": "N-4", f"identity.identifiers.0.{given}": "MRN"}, today=TODAY)
    assert field_errors(raised.value) == {f"identity.identifiers.0.{missing}": reason}


def test_new_patient_form_names_schema_problems_by_field() -> None:
    with pytest.raises(RecordError) as raised:
        new_patient(
            {"id": "N-2", "diagnosis_date": "2020-01-01", "symptom_onset.date": "2021-01-01"},
            today=TODAY,
        )
    assert field_errors(raised.value) == {"diagnosis_date": "diagnosis is before symptom onset"}


def test_field_errors_join_messages_and_keep_entry_level_ones_apart() -> None:
    error = RecordError(
        [
            Problem("/kg", "must be a number"),
            Problem("/kg", "Input should be greater than 0"),
            Problem("", "String should have at most 64 characters"),
        ]
    )
    assert field_errors(error) == {
        "kg": "must be greater than 0; must be a number",
        "": "must have at most 64 characters",
    }


def test_anchors_out_of_scale_order_are_rejected() -> None:
    data = alsfrs_r_anchors().model_dump()
    data["items"] = list(reversed(data["items"]))
    with pytest.raises(ValidationError, match="scale order"):
        AlsfrsAnchors.model_validate(data)
