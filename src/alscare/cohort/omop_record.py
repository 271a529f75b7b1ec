"""The record of one person of an OMOP CDM: the state the table readers of
:mod:`alscare.cohort.omop` fill row by row, and the record v2 assembled from it.

The record is validated as it is assembled: an entry of a series the record refuses (a rating
that does not say whether item 5 was rated as 5a or 5b, a value dated after the death) is left
out and noted with its rows, never passed on for the whole record to be refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

from alscare.cohort.omop_rows import Leaf, Ref, Row, leaf_at
from alscare.errors import RecordError
from alscare.interop.fhir.codes import ObservationPart
from alscare.interop.fhir.elements import Unreadable
from alscare.schemas.patient import PATIENT_SCHEMA, SERIES, PatientRecord
from alscare.schemas.records import parse_record

__all__ = ["Entry", "Exposure", "Person", "person_record"]

# A problem names at most this many rows of a table, then says how many more.
_ROWS_NAMED: Final = 5


# --- one person ------------------------------------------------------------------------------


@dataclass
class Entry:
    """An entry of a part of the record, built from rows, and the rows it came from."""

    part: ObservationPart
    values: dict[str, Any]
    refs: list[Ref] = field(default_factory=list)
    total: int | None = None

    def put(self, path: tuple[str, ...], value: Any) -> None:
        """Set a field path of the entry; a list field gathers one value per row."""
        *parents, name = path
        target = self.values
        for parent in parents:
            target = target.setdefault(parent, {})
        if value == {} and isinstance(target.get(name), dict):
            return  # an object (a region examined) that other rows have filled already
        _set(target, name, value, leaf_at(self.part.entry_model(), path), ".".join(path))


@dataclass
class Exposure:
    """A drug exposure of an ALS drug, as the record's medication takes it."""

    drug: str
    since: str
    until: str | None
    stop_reason: str | None
    refs: list[Ref]


_Series = dict[str, list[tuple[dict[str, Any], list[Ref]]]]


@dataclass
class Person:
    """The record of one person being built, and what did not become part of it."""

    person_id: int
    data: dict[str, Any] = field(default_factory=dict)
    entries: dict[tuple[Any, ...], Entry] = field(default_factory=dict)
    exposures: list[Exposure] = field(default_factory=list)
    events: _Series = field(default_factory=dict)
    unmapped: dict[tuple[str, str, str], list[Ref]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def skip(self, row: Row, reason: str) -> None:
        """A row, or a value of one, not mapped: rows of one concept with one reason are
        reported together."""
        self.unmapped.setdefault((row.ref.table, row.label(), reason), []).append(row.ref)

    def put(self, name: str, value: Any) -> None:
        """A top-level field of the record; a list field gathers one value per row."""
        _set(self.data, name, value, leaf_at(PatientRecord, (name,)), name)

    def add_event(self, series: str, event: dict[str, Any], row: Row) -> None:
        self.events.setdefault(series, []).append((event, [row.ref]))

    def leave_out(
        self, refs: Iterable[Ref], series: str, values: Mapping[str, Any], why: str
    ) -> None:
        """Note an entry of a series left out of the record, with its rows and why."""
        date = _entry_date(series, values) or "no date"
        self.notes.append(f"{_refs_text(refs)}: the {series} entry of {date} is left out: {why}")

    def problems(self) -> tuple[str, ...]:
        unmapped = [
            f"{_refs_text(refs)} ({label}): {reason}"
            for (_, label, reason), refs in self.unmapped.items()
        ]
        return (*unmapped, *self.notes)


def _set(target: dict[str, Any], name: str, value: Any, leaf: Leaf | None, dotted: str) -> None:
    """Set a field: a list field gathers one value per row; any other keeps its first value,
    and a second, different one is refused."""
    if leaf is not None and leaf.many:
        gathered = target.setdefault(name, [])
        if value not in gathered:
            gathered.append(value)
    elif name in target and target[name] != value:
        given = _shown(target[name])
        raise Unreadable(f"{dotted} is {_shown(value)} here; an earlier row gave {given}")
    else:
        target[name] = value


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


# --- the record ------------------------------------------------------------------------------

_POINTER: Final = re.compile(r"/([a-z_0-9]+)/(\d+)(/.*)?")
_FIELD_ORDER: Final = tuple(info.alias or name for name, info in PatientRecord.model_fields.items())


def person_record(state: Person) -> dict[str, Any]:
    """The person's record. An entry of a series the record refuses is left out and noted,
    until it validates or what it refuses is not an entry of a series (then the caller's
    validation names it)."""
    series = _series(state)
    while True:
        record = _assembled(state, series)
        try:
            parse_record(record)
        except RecordError as error:
            if not _left_out(error, series, state):
                return record
        else:
            return record


def _series(state: Person) -> _Series:
    found: _Series = {}
    for entry in state.entries.values():
        if entry.part.shape == "object":
            state.data[entry.part.field] = entry.values
        elif _total_agrees(entry, state):
            found.setdefault(entry.part.field, []).append((entry.values, entry.refs))
    medications = [(_medication(e), e.refs) for e in _joined(state.exposures)]
    if medications:
        found["medications"] = medications
    found.update(state.events)
    for name, entries in found.items():
        entries.sort(key=lambda entry: _entry_date(name, entry[0]))
    return found


def _entry_date(series: str, values: Mapping[str, Any]) -> str:
    return str(values.get("since" if series == "medications" else "date") or "")


def _total_agrees(entry: Entry, state: Person) -> bool:
    """Whether a total given for the entry is the sum of its items; a rating whose total
    disagrees, or whose items are not all rated, is left out (as the FHIR import does)."""
    if entry.total is None:
        return True
    summed = entry.part.total_of(entry.values)
    if summed == entry.total:
        return True
    why = (
        f"the total {entry.total} cannot be checked: not all of its items are rated"
        if summed is None
        else f"the total {entry.total} is not the sum of its items ({summed})"
    )
    state.leave_out(entry.refs, entry.part.field, entry.values, why)
    return False


def _joined(exposures: Sequence[Exposure]) -> list[Exposure]:
    """The exposures of each drug, those that overlap or follow on without a day's gap (and
    without a stop reason between them) joined into one: the days taken stay the same."""
    joined: list[Exposure] = []
    for exposure in sorted(exposures, key=lambda e: (e.drug, e.since)):
        last = joined[-1] if joined else None
        if last is not None and _follows_on(last, exposure):
            until = _later(last.until, exposure.until)
            last.stop_reason = exposure.stop_reason if until == exposure.until else None
            last.until = until
            last.refs.extend(exposure.refs)
        else:
            joined.append(replace(exposure, refs=list(exposure.refs)))
    return joined


def _later(first: str | None, second: str | None) -> str | None:
    """The later of two untils; None (not stopped) is the latest."""
    return None if first is None or second is None else max(first, second)


def _follows_on(last: Exposure, exposure: Exposure) -> bool:
    if last.drug != exposure.drug or last.stop_reason is not None:
        return False
    return last.until is None or exposure.since <= last.until


def _medication(exposure: Exposure) -> dict[str, Any]:
    medication: dict[str, Any] = {"name": exposure.drug, "since": exposure.since}
    if exposure.until is not None:
        medication["until"] = exposure.until
        if exposure.stop_reason is not None:
            medication["stop_reason"] = exposure.stop_reason
    return medication


def _assembled(state: Person, series: _Series) -> dict[str, Any]:
    """The record as JSON-ready data, its fields in the record's order."""
    data = {
        **state.data,
        **{name: [v for v, _ in found] for name, found in series.items() if found},
    }
    record: dict[str, Any] = {"schema": PATIENT_SCHEMA, "id": str(state.person_id)}
    record.update((name, data[name]) for name in _FIELD_ORDER if name in data)
    return record


def _left_out(error: RecordError, series: _Series, state: Person) -> bool:
    """Leave out each series entry the record refuses, noting why; False when none was."""
    refused = _refused(error, series)
    for name, index in sorted(refused):
        values, refs = series[name][index]
        state.leave_out(refs, name, values, "; ".join(dict.fromkeys(refused[(name, index)])))
    for name, index in sorted(refused, reverse=True):
        del series[name][index]
    return bool(refused)


def _refused(error: RecordError, series: _Series) -> dict[tuple[str, int], list[str]]:
    """What the record refuses of each entry of a series, by series and index."""
    refused: dict[tuple[str, int], list[str]] = {}
    for problem in error.problems:
        match = _POINTER.fullmatch(problem.pointer)
        if match is None or match.group(1) not in SERIES:
            continue
        name, index = match.group(1), int(match.group(2))
        if index >= len(series.get(name, ())):
            continue
        inner = (match.group(3) or "").removeprefix("/").replace("/", ".")
        refused.setdefault((name, index), []).append(
            f"{inner}: {problem.reason}" if inner else problem.reason
        )
    return refused


def _refs_text(refs: Iterable[Ref]) -> str:
    """``measurement 3, 4; observation 9``: the rows by table, a few ids of each."""
    by_table: dict[str, list[int | None]] = {}
    for ref in refs:
        ids = by_table.setdefault(ref.table, [])
        if ref.id not in ids:
            ids.append(ref.id)
    parts = []
    for table, ids in by_table.items():
        if ids == [None]:
            parts.append(table)
            continue
        named = ", ".join(str(i) for i in ids[:_ROWS_NAMED])
        more = f" and {len(ids) - _ROWS_NAMED} more" if len(ids) > _ROWS_NAMED else ""
        parts.append(f"{table} {named}{more}")
    return "; ".join(parts)
