"""Posted HTML forms in, record v2 entries out; record problems back to the fields they concern.

A form field is named after the JSON pointer of the value it fills, relative to the entry, with
dots for slashes: ``date``, ``items.speech``, ``regions.cervical.weakness``,
``symptom_onset.site``, ``identity.identifiers.0.value``. Text
that cannot even be read as the field's type (``"abc"`` for a number) fails here; everything else
(ranges, ids, units, impossible dates) is checked by the record schema itself, on the whole record
with the new entry in place, so a form can never store what ``parse_record`` would reject.
Nothing is stored by this module: it only builds and validates.

The ALSFRS-R anchors (what each score of each item means) are package data,
``alsfrs_r_anchors.yaml``, read once and validated with :class:`AlsfrsAnchors`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from alscare.errors import ConfigError, Problem, RecordError
from alscare.knowledge.base import Cited, Frozen
from alscare.plausibility import ConfirmationNeeded
from alscare.schemas.common import TEST_UNITS
from alscare.schemas.patient import PATIENT_SCHEMA, PatientRecord
from alscare.schemas.records import parse_record
from alscare.schemas.vocabulary import (
    AlsfrsItem,
    LmnSign,
    Region,
    RespiratorySymptom,
    UmnSign,
)

__all__ = [
    "CONFIRM",
    "EMG_FLAGS",
    "EMG_REGION_SIGNS",
    "EXAM_SIGNS",
    "TEST_UNIT_CHOICES",
    "AlsfrsAnchors",
    "AnchoredItem",
    "EntryKind",
    "FieldReader",
    "ItemForm",
    "alsfrs_r_anchors",
    "confirmed_fields",
    "entry_from_form",
    "field_errors",
    "new_patient",
]

_ITEM_MAX = 4  # the ALSFRS-R scores each item 0-4; the record schema checks the same range
_ITEM_RANGE = "must be a whole number from 0 to 4"
# What the form posts for a yes / no / not recorded choice.
_YES, _NO = "yes", "no"
_CHECKED = "on"
# The box that confirms an unlikely value is named after the value's field: confirm.<field>.
CONFIRM = "confirm."

EXAM_SIGNS: tuple[str, ...] = (*(s.value for s in LmnSign), *(s.value for s in UmnSign))
EMG_REGION_SIGNS: tuple[str, ...] = (
    "chronic_neurogenic",
    "active_denervation",
    "fasciculation_potentials",
)
EMG_FLAGS: tuple[str, ...] = (
    "motor_conduction_block",
    "sensory_conduction_abnormal",
    "myopathic_units",
    "rns_decrement",
    "post_exercise_increment",
)
TEST_UNIT_CHOICES: tuple[str, ...] = tuple(
    sorted({unit for units in TEST_UNITS.values() for unit in units})
)


class EntryKind(StrEnum):
    """The series of the record a visit form adds an entry to (the value is the series)."""

    ALSFRS_R = "alsfrs_r"
    RESPIRATORY = "respiratory"
    WEIGHT = "weights"
    EXAMINATION = "examinations"
    EMG = "emg_studies"
    TEST = "tests"


# --- ALSFRS-R anchors -------------------------------------------------------------------------

Anchors = Annotated[dict[Literal[0, 1, 2, 3, 4], str], Field(min_length=5, max_length=5)]


class ItemForm(Cited):
    """One form of an item: its number on the scale, its name, and the meaning of each score."""

    number: str
    label: str
    anchors: Anchors

    @property
    def scores(self) -> tuple[tuple[int, str], ...]:
        """Scores from 4 (normal) down to 0, with what each means."""
        return tuple(sorted(self.anchors.items(), reverse=True))


class AnchoredItem(ItemForm):
    """An ALSFRS-R item; item 5 also has the form used for a patient with a gastrostomy."""

    id: AlsfrsItem
    domain: Literal["bulbar", "fine_motor", "gross_motor", "respiratory"]
    gastrostomy_form: ItemForm | None = None


class AlsfrsAnchors(Frozen):
    """The twelve items in scale order."""

    items: tuple[AnchoredItem, ...]

    @model_validator(mode="after")
    def _items_in_scale_order(self) -> AlsfrsAnchors:
        if tuple(item.id for item in self.items) != tuple(AlsfrsItem):
            raise ValueError("the anchors must list the twelve ALSFRS-R items in scale order")
        return self


@cache
def alsfrs_r_anchors() -> AlsfrsAnchors:
    """The packaged ALSFRS-R anchors, validated (read once per process)."""
    text = (resources.files("alscare.web") / "alsfrs_r_anchors.yaml").read_text(encoding="utf-8")
    try:
        return AlsfrsAnchors.model_validate(yaml.safe_load(text))
    except ValidationError as error:
        raise ConfigError(f"alsfrs_r_anchors.yaml is invalid: {error}") from None


# --- reading typed values from form text ------------------------------------------------------


class FieldReader:
    """Reads typed values out of the posted strings, collecting a problem for each bad one."""

    def __init__(self, form: Mapping[str, str]) -> None:
        self.form = form
        self.problems: list[Problem] = []

    def text(self, name: str) -> str | None:
        value = self.form.get(name, "").strip()
        return value or None

    def _typed(self, name: str, convert: Callable[[str], Any], reason: str) -> Any:
        raw = self.text(name)
        if raw is None:
            return None
        try:
            return convert(raw)
        except ValueError:
            self.problems.append(Problem(_pointer(name), reason))
            return None

    def number(self, name: str) -> float | None:
        value: float | None = self._typed(name, _finite, "must be a number")
        return value

    def whole(self, name: str, reason: str = "must be a whole number") -> int | None:
        value: int | None = self._typed(name, int, reason)
        return value

    def date(self, name: str) -> dt.date | None:
        value: dt.date | None = self._typed(
            name, dt.date.fromisoformat, "must be a date (YYYY-MM-DD)"
        )
        return value

    def required(self, name: str, value: object, reason: str) -> None:
        if value is None and not any(p.pointer == _pointer(name) for p in self.problems):
            self.problems.append(Problem(_pointer(name), reason))

    def choice(self, name: str) -> bool | None:
        """A yes / no / not recorded choice."""
        raw = self.text(name)
        if raw is None:
            return None
        if raw not in (_YES, _NO):
            self.problems.append(Problem(_pointer(name), "choose yes, no or not recorded"))
            return None
        return raw == _YES

    def checked(self, name: str) -> bool:
        return self.form.get(name) == _CHECKED

    def done(self, entry: dict[str, Any]) -> dict[str, Any]:
        if self.problems:
            raise RecordError(self.problems)
        return _without_nulls(entry)


def _finite(raw: str) -> float:
    value = float(raw.replace(",", "."))
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(raw)
    return value


def _without_nulls(entry: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in entry.items() if value is not None}


def _pointer(field: str) -> str:
    return "/" + field.replace(".", "/")


# --- one builder per entry kind ---------------------------------------------------------------


def _alsfrs_r(read: FieldReader) -> dict[str, Any]:
    date = read.date("date")
    read.required("date", date, "enter the date of the rating")
    items: dict[str, int | None] = {}
    for item in AlsfrsItem:
        name = f"items.{item.value}"
        score = read.whole(name, _ITEM_RANGE)
        read.required(name, score, "rate this item from 0 to 4")
        if score is not None and not 0 <= score <= _ITEM_MAX:
            read.problems.append(Problem(_pointer(name), _ITEM_RANGE))
        items[item.value] = score
    form_5 = read.text("item_5_form")
    if form_5 not in ("5a", "5b"):
        read.problems.append(Problem("/item_5_form", "choose 5a or 5b for item 5"))
    return read.done({"date": date, "items": items, "gastrostomy": form_5 == "5b"})


def _respiratory(read: FieldReader) -> dict[str, Any]:
    date = read.date("date")
    read.required("date", date, "enter the date of the measurement")
    paco2 = read.number("paco2")
    paco2_unit = read.text("paco2_unit")
    if paco2 is not None and paco2_unit not in ("kpa", "mmhg"):
        read.problems.append(Problem("/paco2_unit", "choose kPa or mmHg"))
    entry: dict[str, Any] = {
        "date": date,
        "position": read.text("position"),
        "symptoms": [s.value for s in RespiratorySymptom if read.checked(f"symptoms.{s.value}")],
    }
    for name in (
        "fvc_percent_predicted",
        "fvc_litres",
        "supine_fvc_percent_predicted",
        "snip_cmh2o",
        "mip_cmh2o",
        "spo2_percent",
        "nocturnal_spo2_below_90_percent_time",
        "nocturnal_spo2_88_or_below_minutes",
        "peak_cough_flow_l_min",
    ):
        entry[name] = read.number(name)
    if paco2 is not None and paco2_unit in ("kpa", "mmhg"):
        entry[f"paco2_{paco2_unit}"] = paco2
    return read.done(entry)


def _weight(read: FieldReader) -> dict[str, Any]:
    date = read.date("date")
    kg = read.number("kg")
    read.required("date", date, "enter the date of the weight")
    read.required("kg", kg, "enter the weight in kg")
    return read.done({"date": date, "kg": kg})


def _examination(read: FieldReader) -> dict[str, Any]:
    """The regions ticked as examined (or with a sign ticked), with the signs found there.

    A region left out was not examined; an examined region without signs is ``{}``.
    """
    date = read.date("date")
    read.required("date", date, "enter the date of the examination")
    regions: dict[str, Any] = {}
    for region in Region:
        name = f"regions.{region.value}"
        found = {sign: True for sign in EXAM_SIGNS if read.checked(f"{name}.{sign}")}
        if found or read.checked(f"{name}.examined"):
            regions[region.value] = found
    if not regions:
        read.problems.append(Problem("/regions", "tick each region you examined"))
    return read.done({"date": date, "regions": regions})


def _emg(read: FieldReader) -> dict[str, Any]:
    date = read.date("date")
    read.required("date", date, "enter the date of the study")
    regions: dict[str, Any] = {}
    for region in Region:
        signs: dict[str, Any] = {
            sign: read.choice(f"regions.{region.value}.{sign}") for sign in EMG_REGION_SIGNS
        }
        signs["muscles"] = read.whole(f"regions.{region.value}.muscles")
        if any(value is not None for value in signs.values()):
            regions[region.value] = _without_nulls(signs)
    entry: dict[str, Any] = {"date": date, "regions": regions}
    for flag in EMG_FLAGS:
        entry[flag] = read.choice(flag)
    return read.done(entry)


def _test(read: FieldReader) -> dict[str, Any]:
    test_id = read.text("id")
    read.required("id", test_id, "choose the test")
    value = read.number("value")
    unit = read.text("unit")
    result = read.text("result")
    if result is None and value is None:
        read.problems.append(Problem("/result", "give a result, a value, or both"))
    _check_test_unit(read, test_id, value, unit)
    return read.done(
        {
            "id": test_id,
            "date": read.date("date"),
            "result": result,
            "value": value,
            "unit": unit,
            "lower_limit": read.number("lower_limit"),
            "upper_limit": read.number("upper_limit"),
            "finding": read.text("finding"),
        }
    )


def _check_test_unit(
    read: FieldReader, test_id: str | None, value: float | None, unit: str | None
) -> None:
    """The schema checks units on the whole entry; here each fault goes to its own field."""
    allowed = TEST_UNITS.get(test_id or "")
    if value is None and unit is not None and not read.text("value"):
        read.problems.append(Problem("/value", "a unit was given without a value"))
    elif value is not None and test_id is not None and allowed is None:
        read.problems.append(Problem("/value", "this test is recorded as a result, not a number"))
    elif value is not None and allowed is not None and unit not in allowed:
        read.problems.append(Problem("/unit", f"choose one of {', '.join(allowed)}"))


_BUILDERS: dict[EntryKind, Callable[[FieldReader], dict[str, Any]]] = {
    EntryKind.ALSFRS_R: _alsfrs_r,
    EntryKind.RESPIRATORY: _respiratory,
    EntryKind.WEIGHT: _weight,
    EntryKind.EXAMINATION: _examination,
    EntryKind.EMG: _emg,
    EntryKind.TEST: _test,
}


def entry_from_form(kind: EntryKind, form: Mapping[str, str]) -> dict[str, Any]:
    """The entry a visit form describes, as record JSON; RecordError for unreadable fields."""
    return _BUILDERS[kind](FieldReader(form))


def new_patient(form: Mapping[str, str], *, today: dt.date) -> PatientRecord:
    """A new record v2 from the new-patient form; RecordError with a problem per faulty field.

    An age given without a birth date is the age on ``today``, the day it is entered.
    """
    read = FieldReader(form)
    patient_id = read.text("id")
    read.required("id", patient_id, "enter the patient's id")
    onset = _without_nulls(
        {"date": read.date("symptom_onset.date"), "site": read.text("symptom_onset.site")}
    )
    age = read.number("age_years")
    data = read.done(
        {
            "schema": PATIENT_SCHEMA,
            "id": patient_id,
            "identity": _identity(read),
            "sex": read.text("sex"),
            "birth_date": read.date("birth_date"),
            "age_years": age,
            "age_on": today if age is not None else None,
            "height_cm": read.number("height_cm"),
            "jurisdiction": read.text("jurisdiction"),
            "symptom_onset": onset or None,
            "diagnosis_date": read.date("diagnosis_date"),
            "progressive": read.choice("progressive"),
            "premorbid_weight_kg": read.number("premorbid_weight_kg"),
        }
    )
    return parse_record(data)


_IDENTIFIER = "identity.identifiers.0"  # the form takes one identifier


def _identity(read: FieldReader) -> dict[str, Any] | None:
    """The name and one identifier (its system, such as MRN, and its value), or None."""
    name = read.text("identity.name")
    system = read.text(f"{_IDENTIFIER}.system")
    value = read.text(f"{_IDENTIFIER}.value")
    if value is not None:
        read.required(f"{_IDENTIFIER}.system", system, "say which number it is (MRN, NHS, ...)")
    if system is not None:
        read.required(f"{_IDENTIFIER}.value", value, "enter the number")
    identifiers = [{"system": system, "value": value}] if system and value else []
    if name is None and not identifiers:
        return None
    return _without_nulls({"name": name, "identifiers": identifiers})


def field_errors(error: RecordError) -> dict[str, str]:
    """Messages by form field name; problems that name no field are under ``""``.

    Where several problems hit one field, the messages are joined. An unlikely value that needs
    confirmation (:mod:`alscare.plausibility`) also gets ``confirm.<field>``: the form then
    shows its "I confirm this value" box (see :func:`confirmed_fields`).
    """
    messages: dict[str, list[str]] = {}
    for problem in error.problems:
        field = _field(problem.pointer)
        messages.setdefault(field, []).append(_friendly(problem.reason))
    unconfirmed = error.unconfirmed if isinstance(error, ConfirmationNeeded) else frozenset()
    for pointer in sorted(unconfirmed):
        messages[CONFIRM + _field(pointer)] = ["needs confirmation"]
    return {field: "; ".join(reasons) for field, reasons in messages.items()}


def confirmed_fields(form: Mapping[str, str]) -> frozenset[str]:
    """The pointers of the values whose "I confirm this value" box is ticked."""
    return frozenset(
        _pointer(name.removeprefix(CONFIRM))
        for name, value in form.items()
        if name.startswith(CONFIRM) and value == _CHECKED
    )


def _field(pointer: str) -> str:
    return pointer.strip("/").replace("/", ".")


def _friendly(reason: str) -> str:
    """pydantic's "Input should be ..." reads better on a form as "must be ..."."""
    if reason.startswith("String should match pattern"):
        return "use only letters, digits, '.', '_' and '-'"
    for prefix in ("Input should be ", "Value should be ", "String should "):
        if reason.startswith(prefix):
            verb = "must " if prefix == "String should " else "must be "
            return verb + reason.removeprefix(prefix)
    return reason
