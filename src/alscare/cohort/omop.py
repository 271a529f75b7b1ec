"""OMOP CDM 5.4 databases as patient records v2: one record per person, in person_id order.

A source is a DuckDB file (``.duckdb``, ``.db``), a directory of tables (``person.parquet`` or
``person.csv``, one file, or one folder of files, per table) read by DuckDB in this process, or
a PostgreSQL URL (SQLAlchemy 2 with psycopg 3). Each table is queried once, ordered by
person_id, and the queries are merged person by person: memory holds one person's rows and the
fetch buffers, whatever the size of the database (:mod:`alscare.cohort.omop_sources`).

Concepts are mapped by the FHIR import's code table (``interop/fhir/codes.yaml``) and nothing
else: a row's concept_id, or else its source concept, is looked up in the CDM's ``concept``
table, whose vocabulary_id and concept_code are a code of one of the table's systems. alscare's
own codes are local concepts of the vocabulary ``alscare``. Units convert through the FHIR
import's UCUM code. What the table cannot map is reported in the person's problems, never
guessed; an entry the record would refuse (a rating that does not say whether item 5 was rated
as 5a or 5b, a measurement after death) is left out and reported.

This module reads each table's rows into the record; a row's values are read by
:mod:`alscare.cohort.omop_rows` and the record is assembled by :mod:`alscare.cohort.omop_record`.
docs/omop.md, written by ``scripts/omop-doc`` (:mod:`alscare.cohort.omop_doc`), is the mapping
table by table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

from alscare.cohort.omop_record import Entry, Exposure, Person, person_record
from alscare.cohort.omop_rows import (
    Concept,
    Row,
    clinical_row,
    dated,
    iso_day,
    omop_code,
    row_values,
    whole_number,
)
from alscare.cohort.omop_sources import OmopError, PersonRows, is_omop_source, read_persons
from alscare.interop.fhir.codes import Key, ObservationPart, code_table
from alscare.interop.fhir.elements import Unreadable
from alscare.schemas.vocabulary import InterventionEvent, StopReason

__all__ = [
    "FAMILY_HISTORY_CODE",
    "GENDERS",
    "OmopError",
    "OmopItem",
    "is_omop_source",
    "omop_records",
]

#: OMOP's gender concepts (the Gender vocabulary) as person.gender_concept_id holds them.
GENDERS: Final = {8507: "male", 8532: "female"}
#: alscare's concept of a family history observation; the condition is its value concept.
FAMILY_HISTORY_CODE: Final = "family_history"


@dataclass(frozen=True, slots=True)
class OmopItem:
    """One person: the reference (``person 42``), the record v2 as JSON-ready data (None when
    there is no person row to make one from) and what could not become part of it."""

    ref: str
    record: dict[str, Any] | None
    problems: tuple[str, ...]


def omop_records(source: str, *, schema: str | None = None) -> Iterator[OmopItem]:
    """Every person of the CDM in person_id order; rows of a person_id the person table does
    not hold come as an item without a record, in the same order. ``schema`` names the CDM's
    schema in a DuckDB file or a PostgreSQL database (PostgreSQL also takes it from the URL:
    ``?options=-csearch_path%3Dcdm``).

    Raises OmopError at once when the source cannot be opened or lacks the person or concept
    table; the records are read as the iterator is consumed.
    """
    return _items(read_persons(source, schema))


def _items(persons: Generator[PersonRows, None, None]) -> Iterator[OmopItem]:
    with closing(persons):  # the source closes when the items end or are closed
        for found in persons:
            if found.person is None:
                yield OmopItem(_person_ref(found.person_id), None, (found.unread,))
            else:
                yield _person_item(found.person, found.rows)


def _person_ref(person_id: int | None) -> str:
    return "person (no person_id)" if person_id is None else f"person {person_id}"


# --- one person ------------------------------------------------------------------------------


def _person_item(person: Mapping[str, Any], rows: Mapping[str, list[dict[str, Any]]]) -> OmopItem:
    state = Person(int(person["person_id"]))
    _read_person(person, state)
    for table, found in rows.items():
        read = _READERS[table]
        for data in found:
            row = clinical_row(table, data)
            try:
                read(row, state)
            except Unreadable as reason:
                state.skip(row, str(reason))
    record = person_record(state)
    _note_missing(record, state)
    return OmopItem(_person_ref(state.person_id), record, state.problems())


def _read_person(person: Mapping[str, Any], state: Person) -> None:
    gender = person.get("gender")
    if gender in GENDERS:
        state.data["sex"] = GENDERS[gender]
    else:
        known = ", ".join(f"{concept} {sex}" for concept, sex in GENDERS.items())
        state.notes.append(f"gender_concept_id {gender} is not mapped ({known}): no sex")
    birth, reason = _birth_date(person)
    if birth is not None:
        state.data["birth_date"] = birth
    else:
        state.notes.append(reason)


def _birth_date(person: Mapping[str, Any]) -> tuple[str | None, str]:
    """The birth date (YYYY-MM-DD) from year, month and day of birth, else from
    birth_datetime; or why there is none."""
    year, month, day = person.get("year"), person.get("month"), person.get("day")
    if year is not None and month is not None and day is not None:
        try:
            return dt.date(year, month, day).isoformat(), ""
        except ValueError:
            return None, f"year, month and day of birth {year}-{month}-{day} are not a date"
    birth = iso_day(person.get("birth"))
    if birth is not None:
        return birth, ""
    if year is None:
        return None, "no year_of_birth: no birth date"
    return None, f"birth date not recorded in full (year_of_birth {year} only): no birth date"


def _note_missing(record: Mapping[str, Any], state: Person) -> None:
    table = code_table()
    if "diagnosis_date" not in record:
        codes = ", ".join(omop_code(coding) for coding in table.conditions["als"].codes)
        state.notes.append(f"no ALS diagnosis: no condition_occurrence coded {codes}")
    if "symptom_onset" not in record:
        part = table.part("symptom_onset")
        codes = " or ".join(omop_code(c) for c in (part.code, part.path_coding("site")))
        state.notes.append(f"no symptom onset: no observation coded {codes}")


# --- conditions, death -----------------------------------------------------------------------


def _read_condition(row: Row, state: Person) -> None:
    als = {coding.key for coding in code_table().conditions["als"].codes}
    if not any(concept.key() in als for concept in row.concepts):
        raise Unreadable("a condition other than ALS: the record holds the ALS diagnosis")
    date = dated(row)
    earliest = state.data.get("diagnosis_date")
    if earliest is None or date < earliest:
        state.data["diagnosis_date"] = date


def _read_death(row: Row, state: Person) -> None:
    date = dated(row)
    recorded = state.data.get("death")
    if recorded is not None and recorded["date"] != date:
        raise Unreadable(f"a second date of death; the first, {recorded['date']}, is kept")
    state.data["death"] = {"date": date}


# --- measurements and observations -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Target:
    """Where a measurement or observation concept goes: a part of the record and the field
    paths of its entries the concept holds (none: the part's own code, or one of its ids;
    more than one: told apart by the unit)."""

    part: ObservationPart
    paths: tuple[tuple[str, ...], ...] = ()
    id_value: str | None = None


@cache
def _targets() -> dict[Key, _Target]:
    """The codes the table lists for Observation parts: each part's code and ids (the table's
    own lookup) and the standard codes of their fields."""
    table = code_table()
    found = {key: _Target(part, (), value) for key, (part, value) in table.part_by_code.items()}
    for part in table.observations:
        shared: dict[Key, list[tuple[str, ...]]] = {}
        for path, coding in part.codes.items():
            shared.setdefault(coding.key, []).append(tuple(path.split(".")))
        for key, paths in shared.items():
            found.setdefault(key, _Target(part, tuple(paths)))
    return found


def _target(key: Key) -> _Target | None:
    """A listed code, else an alscare code that names a field path of an entry of a series or
    object part (``alsfrs_r.items.speech``), as codes.yaml codes them."""
    listed = _targets().get(key)
    if listed is not None:
        return listed
    system, code = key
    if system != code_table().systems["alscare"]:
        return None
    for part in code_table().observations:
        if part.shape != "fields" and code.startswith(part.prefix):
            return _Target(part, (tuple(code.removeprefix(part.prefix).split(".")),))
    return None


def _read_observation(row: Row, state: Person) -> None:
    """A measurement or observation row: a field of the record, an intervention or care event,
    or a family history."""
    table = code_table()
    for concept in row.concepts:
        key = concept.key()
        if key is None:
            continue
        if key in table.not_recorded_by_code:
            raise Unreadable(table.not_recorded_by_code[key])
        target = _target(key)
        if target is not None:
            return _read_field(row, target, state)
        if key in table.intervention_by_code:
            return _read_intervention_event(row, table.intervention_by_code[key], state)
        if key in table.care_by_code:
            return _read_care(row, table.care_by_code[key], state)
        if key == (table.systems["alscare"], FAMILY_HISTORY_CODE):
            return _read_family_history(row, state)
    raise Unreadable("not a concept alscare maps")


def _read_field(row: Row, target: _Target, state: Person) -> None:
    if row.operator not in (None, 0):
        raise Unreadable(f"a value with an operator (operator_concept_id {row.operator})")
    part = target.part
    if part.id is not None and target.id_value is None:
        # a row of a part read by id is one whole entry, coded by the entry's id
        raise Unreadable(f"a row of {part.field} is coded by the entry's id")
    if part.total is not None and not target.paths and row.number is not None:
        return _read_total(row, target, state)
    values = row_values(row, part, target.paths)
    if part.shape == "fields":
        if not values:
            raise Unreadable(f"no value for {part.field}")
        if part.date is not None:
            values[(part.date,)] = dated(row)
        for path, value in values.items():
            state.put(path[0], value)
        return None
    entry = _entry_for(row, target, state)
    for path, value in values.items():
        entry.put(path, value)
    entry.refs.append(row.ref)
    return None


def _read_total(row: Row, target: _Target, state: Person) -> None:
    """A total (the ALSFRS-R's), only checked against the items: the record holds those."""
    if row.text is not None:
        raise Unreadable("value_as_string is not read for a total")
    total = whole_number(row.number, "the total")
    entry = _entry_for(row, target, state)
    if entry.total is not None and entry.total != total:
        raise Unreadable(f"a second total, {total}; the first, {entry.total}, is checked")
    entry.total = total
    entry.refs.append(row.ref)


def _entry_for(row: Row, target: _Target, state: Person) -> Entry:
    """The entry a row belongs to: the part's one object; the row's own entry for an id; else
    the part's entry of the row's date."""
    part = target.part
    if part.shape == "object":
        key: tuple[Any, ...] = (part.field,)
    elif target.id_value is not None:
        key = (part.field, row.ref)
    else:
        key = (part.field, dated(row))
    entry = state.entries.get(key)
    if entry is None:
        entry = state.entries[key] = Entry(part, {})
        if part.id is not None and target.id_value is not None:
            entry.values[part.id] = target.id_value
    if part.date is not None and row.date is not None:
        entry.put((part.date,), row.date)
    return entry


# --- intervention and care events, family history --------------------------------------------


def _read_intervention_event(row: Row, kind: str, state: Person) -> None:
    events = [event.value for event in InterventionEvent]
    if row.text not in events:
        raise Unreadable(f"value_as_string gives the event ({', '.join(events)})")
    event: dict[str, Any] = {"kind": kind, "event": row.text, "date": dated(row)}
    if row.number is not None:
        if row.text != InterventionEvent.STARTED:
            raise Unreadable("hours a day (value_as_number) belong to a started event")
        event["hours_per_day"] = float(row.number)
    state.add_event("interventions", event, row)


def _read_care(row: Row, kind: str, state: Person) -> None:
    if row.has_value():
        raise Unreadable("a care event takes no value")
    state.add_event("care", {"kind": kind, "date": dated(row)}, row)


def _read_family_history(row: Row, state: Person) -> None:
    """A condition of the family history (the value concept): present, or with
    value_as_number 0 looked for and absent. Any row saying present makes it present."""
    condition = _family_condition(row.value)
    if row.number not in (None, 0, 1) or row.text is not None:
        raise Unreadable("value_as_number is 1 (present), 0 (absent) or none (present)")
    family = dict(state.data.get("family_history") or {})
    family[condition] = bool(family.get(condition)) or row.number != 0
    state.data["family_history"] = family


def _family_condition(value: Concept | None) -> str:
    key = value.key() if value is not None else None
    for name, codes in code_table().conditions.items():
        if key in {coding.key for coding in codes.codes}:
            return name
    shown = value.label() if value is not None else "none"
    raise Unreadable(f"its value concept ({shown}) is not a condition of the family history")


# --- drugs and procedures --------------------------------------------------------------------


def _read_drug(row: Row, state: Person) -> None:
    drug = _drug(row)
    since = dated(row)
    # the CDM's end date is the last day of the exposure; the record's until is the day after
    until = None
    if row.end is not None:
        until = (dt.date.fromisoformat(row.end) + dt.timedelta(days=1)).isoformat()
    reason = row.stop_reason
    if reason is not None and reason not in {member.value for member in StopReason}:
        state.skip(row, f"stop_reason {reason!r} is not a stop reason alscare records")
        reason = None
    state.exposures.append(Exposure(drug, since, until, reason, [row.ref]))


def _drug(row: Row) -> str:
    """The ALS drug of a row: by the table's codes, else by its concept's name in any case."""
    table = code_table()
    for concept in row.concepts:
        key = concept.key()
        if key in table.medication_by_code:
            return table.medication_by_code[key]
    for concept in row.concepts:
        name = (concept.name or "").strip().casefold()
        if name in table.medications:
            return name
    raise Unreadable("not a drug alscare records")


def _read_procedure(row: Row, state: Person) -> None:
    table = code_table()
    for concept in row.concepts:
        key = concept.key()
        if key in table.care_by_code:
            return _read_care(row, table.care_by_code[key], state)
        if key in table.intervention_by_code:
            return _read_intervention(row, table.intervention_by_code[key], state)
    raise Unreadable("not a procedure alscare records")


def _read_intervention(row: Row, kind: str, state: Person) -> None:
    """A procedure done: the intervention started on its date."""
    date = dated(row)
    event = {"kind": kind, "event": InterventionEvent.STARTED.value, "date": date}
    state.add_event("interventions", event, row)
    if row.end is not None and row.end > date:
        state.skip(row, f"procedure_end_date {row.end} is not read: a stop is an observation")


_READERS: Final[dict[str, Callable[[Row, Person], None]]] = {
    "condition_occurrence": _read_condition,
    "measurement": _read_observation,
    "observation": _read_observation,
    "drug_exposure": _read_drug,
    "procedure_occurrence": _read_procedure,
    "death": _read_death,
}
