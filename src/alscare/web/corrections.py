"""Correcting and removing what a patient's record holds, in the pages: the whole record part by
part, a form for the patient's details (identity and demographics) and one for each entry of
every series, each saved as a new revision with who, when and why.

Routes::

    GET  /patients/{id}/record[?revision=N]              every part of the record (N: as it
                                                         stood at revision N, read-only)
    GET  /patients/{id}/record/details, POST ...          identity and demographics
    GET  /patients/{id}/record/{series}/{index}, POST ... correct one entry (``weights/2``)
    POST /patients/{id}/record/{series}/{index}/remove    remove it

The forms cover every field of the record v2 (:mod:`alscare.web.record_forms`), so a correction
changes only what is changed. A correction or removal needs a reason (the record's rule,
:mod:`alscare.revisions`): the entry forms always ask for one; the details form asks when the
change corrects or removes what was recorded, not when it only adds what was not. Every form
carries the revision it was made from; a save after someone else changed the record stores
nothing and says so (409), since the entry the form shows may no longer be the one at its
place. Nothing is stored when anything is refused, and the form comes back with each problem
at its field. The record's earlier revisions stay readable in the history (web/history.py).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from alscare import services
from alscare.errors import RecordError
from alscare.knowledge import KnowledgeBase
from alscare.presentation import wording
from alscare.revisions import (
    MAX_REASON_LENGTH,
    ReasonRequiredError,
    StaleRevisionError,
    record_changes,
)
from alscare.schemas.patient import PatientRecord
from alscare.storage.database import Database
from alscare.storage.security import Actor, Role, User
from alscare.web import forms
from alscare.web.deps import DatabaseDep, KnowledgeDep
from alscare.web.pages import NOTICE, PageUser, Posted, page_errors, render, require_role
from alscare.web.record_forms import Form, form_for
from alscare.web.record_words import (
    SERIES_PARTS,
    SeriesPart,
    entry_date,
    entry_title,
    field_label,
    place,
    summary,
)
from alscare.web.revision_view import past_revision, past_revision_context, requested_revision
from alscare.web.session import PageError, check_csrf, page_actor

__all__ = [
    "DETAIL_FIELDS",
    "correct_entry",
    "details_form",
    "entry_form",
    "record_page",
    "remove_entry",
    "router",
    "save_details",
]

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

# The parts of the record that are not series: who the patient is and the disease's frame.
DETAIL_FIELDS: Final = (
    "identity",
    "sex",
    "birth_date",
    "age_years",
    "age_on",
    "height_cm",
    "premorbid_weight_kg",
    "jurisdiction",
    "symptom_onset",
    "diagnosis_date",
    "progressive",
    "family_history",
    "risk_factors",
    "death",
)
_PARTS: Final = {part.segment: part for part in SERIES_PARTS}
_REVISION: Final = "revision"  # the hidden field: the revision a form was made from
_REASON, _REMOVAL_REASON = "reason", "removal_reason"
# Each reason field's words and what it says when the reason is missing.
_REASONS: Final = {
    _REASON: ("Reason for the correction", "say why the entry was wrong"),
    _REMOVAL_REASON: ("Reason for removing it", "say why the entry is removed"),
}
_DETAILS_REASON: Final = (
    "Reason for the change",
    "say why: this changes or removes what was recorded",
)


@dataclass(frozen=True)
class EntryRow:
    """One entry on the record page: where it is in its series, its date and what it says."""

    index: int
    date: str | None
    title: str
    text: str


@dataclass(frozen=True)
class PartRows:
    part: SeriesPart
    rows: tuple[EntryRow, ...]


# --- the record, part by part -----------------------------------------------------------------


@router.get("/patients/{patient_id}/record")
def record_page(
    request: Request,
    patient_id: str,
    user: PageUser,
    database: DatabaseDep,
    kb: KnowledgeDep,
    revision: str | None = None,
) -> Response:
    actor = page_actor(user)
    asked = requested_revision(revision)
    past = past_revision(database, actor, patient_id, asked)
    with page_errors():
        stored = services.read_patient(database, actor, patient_id, revision=asked)
    data = stored.record.to_json_dict()
    context = {
        "record": stored.record,
        "revision": stored.revision,
        "details": [(field_label(name), _detail(data.get(name), name)) for name in DETAIL_FIELDS],
        "parts": _parts(data),
        "nav": "patients",
        **past_revision_context(user, past),
    }
    return render(request, "record.html", context, user=user, kb=kb)


def _detail(value: Any, name: str) -> str:
    return "not recorded" if value is None else summary(value, name)


def _parts(data: Mapping[str, Any]) -> list[PartRows]:
    """Each series with entries, newest first (undated entries last)."""
    parts = []
    for part in SERIES_PARTS:
        rows = [
            _row(part.series, index, entry)
            for index, entry in enumerate(data.get(part.series) or [])
        ]
        rows.sort(key=lambda row: row.date or "", reverse=True)
        if rows:
            parts.append(PartRows(part, tuple(rows)))
    return parts


def _row(series: str, index: int, entry: Mapping[str, Any]) -> EntryRow:
    text = summary(entry, series, entry=True)
    return EntryRow(index, entry_date(entry), entry_title(series, entry), text)


# --- identity and demographics ----------------------------------------------------------------


@dataclass(frozen=True)
class _Page:
    """The request a form page answers: who asks, with which knowledge, on which database."""

    request: Request
    user: User
    kb: KnowledgeBase
    database: Database

    @property
    def actor(self) -> Actor:
        return page_actor(self.user)


async def _clinician_page(
    request: Request, user: PageUser, database: DatabaseDep, kb: KnowledgeDep
) -> _Page:
    """The request of a correction form: only clinicians and admins may correct a record."""
    require_role(user, Role.CLINICIAN)
    return _Page(request, user, kb, database)


ClinicianPage = Annotated[_Page, Depends(_clinician_page)]


@router.get("/patients/{patient_id}/record/details")
def details_form(patient_id: str, page: ClinicianPage) -> Response:
    with page_errors():
        stored = services.read_patient(page.database, page.actor, patient_id)
    editing = _details(stored, page.kb)
    return _edit_page(page, editing, editing.form.text(stored.record.to_json_dict()))


@router.post("/patients/{patient_id}/record/details")
def save_details(patient_id: str, values: Posted, page: ClinicianPage) -> Response:
    based_on = _based_on(values)
    with page_errors():
        stored = services.read_patient(page.database, page.actor, patient_id, revision=based_on)
    editing = _details(stored, page.kb)
    try:
        details = editing.form.read(values)
    except RecordError as error:
        return _edit_page(page, editing, values, forms.field_errors(error))
    data = stored.record.to_json_dict()
    before = {name: data.get(name) for name in DETAIL_FIELDS}
    changes = {name: details.get(name) for name in DETAIL_FIELDS}
    return _save(page, editing, values, before, changes, forms.confirmed_fields(values))


def _details(stored: services.StoredRecord, kb: KnowledgeBase) -> _Editing:
    data = stored.record.to_json_dict()
    form = form_for(PatientRecord, data, part="", words=wording(kb), fields=DETAIL_FIELDS)
    return _Editing(stored.record, stored.revision, form)


# --- one entry of a series --------------------------------------------------------------------


@router.get("/patients/{patient_id}/record/{segment}/{index}")
def entry_form(patient_id: str, segment: str, index: int, page: ClinicianPage) -> Response:
    with page_errors():
        stored = services.read_patient(page.database, page.actor, patient_id)
    editing = _entry_editing(stored, _part(segment), index, page.kb)
    return _edit_page(page, editing, editing.form.text(editing.entry))


@router.post("/patients/{patient_id}/record/{segment}/{index}")
def correct_entry(
    patient_id: str, segment: str, index: int, values: Posted, page: ClinicianPage
) -> Response:
    editing = _posted_entry(page, patient_id, segment, index, values)
    try:
        corrected = editing.form.read(values)
    except RecordError as error:
        return _edit_page(page, editing, values, forms.field_errors(error))
    entries = [*editing.entries]
    entries[index] = corrected
    confirmed = {editing.pointer + pointer for pointer in forms.confirmed_fields(values)}
    before = {editing.series: list(editing.entries)}
    return _save(page, editing, values, before, {editing.series: entries}, confirmed)


@router.post("/patients/{patient_id}/record/{segment}/{index}/remove")
def remove_entry(
    patient_id: str, segment: str, index: int, values: Posted, page: ClinicianPage
) -> Response:
    editing = _posted_entry(page, patient_id, segment, index, values)
    remaining = [entry for at, entry in enumerate(editing.entries) if at != index]
    try:
        services.update_patient(
            page.database,
            page.actor,
            editing.record.id,
            {editing.series: remaining},
            reason=values.get(_REMOVAL_REASON),
            expected_revision=editing.revision,
        )
    except _REFUSALS as error:
        shown = {**editing.form.text(editing.entry), **values}
        return _refused(page, editing, shown, error, _REMOVAL_REASON)
    page.request.session[NOTICE] = f"{editing.title} removed."
    return _back_to_record(editing.record.id)


def _part(segment: str) -> SeriesPart:
    if segment not in _PARTS:
        raise PageError(404, "Not found", f"the record has no part {segment!r}")
    return _PARTS[segment]


def _posted_entry(
    page: _Page, patient_id: str, segment: str, index: int, values: Mapping[str, str]
) -> _Editing:
    """The entry a posted form was made for, in the revision the form was made from."""
    part = _part(segment)
    based_on = _based_on(values)
    with page_errors():
        stored = services.read_patient(page.database, page.actor, patient_id, revision=based_on)
    return _entry_editing(stored, part, index, page.kb)


def _entry_editing(
    stored: services.StoredRecord, part: SeriesPart, index: int, kb: KnowledgeBase
) -> _Editing:
    entries = stored.record.to_json_dict().get(part.series) or []
    if not 0 <= index < len(entries):
        message = f"the record has no {part.noun.lower()} number {index + 1}"
        raise PageError(404, "Not found", message)
    model = services.ENTRY_MODELS[part.series]
    form = form_for(model, entries[index], part=part.series, words=wording(kb))
    return _Editing(stored.record, stored.revision, form, part, index, tuple(entries))


# --- what the forms share ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Editing:
    """What a form edits: the record at the revision the form was made from, the form, and for
    an entry its series, place and the series as it was."""

    record: PatientRecord
    revision: int
    form: Form
    part: SeriesPart | None = None
    index: int = 0
    entries: tuple[dict[str, Any], ...] = ()

    @property
    def series(self) -> str:
        assert self.part is not None
        return self.part.series

    @property
    def entry(self) -> dict[str, Any]:
        return self.entries[self.index]

    @property
    def pointer(self) -> str:
        """The JSON pointer of the part edited ("" for the details)."""
        return f"/{self.series}/{self.index}" if self.part is not None else ""

    @property
    def title(self) -> str:
        return entry_title(self.series, self.entry) if self.part else "The patient's details"

    @property
    def action(self) -> str:
        where = f"{self.part.segment}/{self.index}" if self.part is not None else "details"
        return f"/patients/{self.record.id}/record/{where}"


_REFUSALS: Final = (ReasonRequiredError, StaleRevisionError, RecordError)


def _based_on(values: Mapping[str, str]) -> int:
    raw = values.get(_REVISION, "")
    if not raw.isdigit() or int(raw) < 1:
        message = "the form does not say which revision it was made from; open it again"
        raise PageError(422, "Not a form of this record", message)
    return int(raw)


def _save(
    page: _Page,
    editing: _Editing,
    values: Mapping[str, str],
    before: Mapping[str, Any],
    changes: Mapping[str, Any],
    confirmed: Collection[str],
) -> Response:
    """Store the changed fields as a new revision, or show the form again with why not."""
    if not record_changes(before, changes):
        page.request.session[NOTICE] = f"{editing.title}: nothing was changed or saved."
        return _back_to_record(editing.record.id)
    try:
        services.update_patient(
            page.database,
            page.actor,
            editing.record.id,
            changes,
            reason=values.get(_REASON),
            expected_revision=editing.revision,
            confirmed=confirmed,
        )
    except _REFUSALS as error:
        return _refused(page, editing, values, error, _REASON)
    page.request.session[NOTICE] = f"{editing.title}: correction saved."
    return _back_to_record(editing.record.id)


def _refused(
    page: _Page,
    editing: _Editing,
    values: Mapping[str, str],
    error: Exception,
    reason_field: str,
) -> Response:
    """The form again, with why the save was refused at the field it concerns."""
    if isinstance(error, ReasonRequiredError):
        message = _reason_words(editing, reason_field)[1] if error.missing else str(error)
        return _edit_page(page, editing, values, {reason_field: message})
    if isinstance(error, StaleRevisionError):
        message = (
            "Someone else changed this record since this form was opened (it is now at "
            f"revision {error.current}): nothing was saved. Open it again to see their "
            "change, then make yours on it."
        )
        return _edit_page(page, editing, values, {"": message}, status_code=409)
    assert isinstance(error, RecordError)
    return _edit_page(page, editing, values, _local(forms.field_errors(error), editing.pointer))


def _local(errors: Mapping[str, str], pointer: str) -> dict[str, str]:
    """Messages of record fields moved onto the form of the part at ``pointer``."""
    prefix = pointer.strip("/").replace("/", ".") + "." if pointer else ""

    def field(name: str) -> str:
        confirm = forms.CONFIRM if name.startswith(forms.CONFIRM) else ""
        return confirm + name.removeprefix(confirm).removeprefix(prefix)

    return {field(name): message for name, message in errors.items()}


def _edit_page(
    page: _Page,
    editing: _Editing,
    values: Mapping[str, str],
    errors: Mapping[str, str] | None = None,
    *,
    status_code: int | None = None,
) -> Response:
    shown_errors = dict(errors or {})
    context = {
        "record": editing.record,
        "editing": editing,
        "values": values,
        "errors": shown_errors,
        "labels": _labels(editing, shown_errors),
        "max_reason": MAX_REASON_LENGTH,
        "nav": "patients",
    }
    status = status_code or (422 if shown_errors else 200)
    return render(
        page.request, "record_edit.html", context, user=page.user, kb=page.kb, status_code=status
    )


def _labels(editing: _Editing, errors: Mapping[str, str]) -> dict[str, str]:
    """The words for each field a message may name, those outside the form included (a birth
    date corrected after an entry's date: "Weight of 2024-01-10: Date")."""
    labels = editing.form.labels()
    for name in _REASONS:
        labels[name] = _reason_words(editing, name)[0]
    data = editing.record.to_json_dict()
    for name in errors:
        bare = name.removeprefix(forms.CONFIRM)
        if name and bare not in labels:
            labels[name] = place(editing.pointer + "/" + bare.replace(".", "/"), data)
    return labels


def _reason_words(editing: _Editing, name: str) -> tuple[str, str]:
    """The label of a reason field and what it says when the reason is missing."""
    return _REASONS[name] if editing.part is not None else _DETAILS_REASON


def _back_to_record(patient_id: str) -> Response:
    return RedirectResponse(f"/patients/{patient_id}/record", status_code=303)
