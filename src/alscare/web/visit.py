"""The clinic visit: one page that records a whole visit, saved at once as one revision.

Routes::

    GET  /patients/{id}/visit                the visit form (clinicians, admins)
    POST /patients/{id}/visit                save it: one transaction, one revision
    POST /patients/{id}/alerts/{alert_id}    answer a decision alert (NIV, gastrostomy) today

The page holds the ALSFRS-R (scored by tapping the anchor texts, with a running total and the
four domains, and the 5a/5b switch), the breathing tests, the weight, the examination by region,
symptoms and findings, medication changes (a start, a stop with its reason) and intervention
events. Every entry is dated on the visit date. A section left empty stores nothing: no rating
without a rated item, no breathing tests without a measured value, no examination without a
region examined; what the form fills in for convenience (the date, the 5a/5b form in use, the
PaCO2 unit) is never stored on its own.

The whole visit is read and validated before anything is stored, entry by entry and then as the
whole record, and stored by one :func:`alscare.services.update_patient` call: one transaction,
one revision (reason "clinic visit of <date>"), or nothing at all, with every problem shown at
its field. The form carries the revision it was made from; a save after someone else changed
the record stores nothing and shows the form again on the current record.

Form fields are named after where their value goes: ``alsfrs_r.items.speech``,
``respiratory.fvc_percent_predicted``, ``weights.kg``, ``examinations.regions.cervical.weakness``,
``findings.falls.present``, ``medications.new.0.name``, ``medications.2.until`` (stopping the
record's third medication), ``interventions.niv.started``. Record problems come back with record
pointers (``/weights/7/kg``) and are put back on those fields.

The ALSFRS-R anchors are :func:`alscare.web.forms.alsfrs_r_anchors` (package data beside the
pages: the knowledge base holds the items and domains, not their anchor texts). The per-series
forms (``/patients/{id}/visit/{kind}``, in :mod:`alscare.web.pages`) still work, for an entry
recorded outside a visit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Final

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from alscare import plausibility, services
from alscare.errors import NotFoundError, Problem, RecordError
from alscare.knowledge import KnowledgeBase
from alscare.knowledge.document import FINDING_KIND_TITLES
from alscare.presentation import Kind, wording
from alscare.revisions import StaleRevisionError
from alscare.schemas.common import RespiratoryMeasurement
from alscare.schemas.patient import PatientRecord
from alscare.schemas.records import parse_record
from alscare.schemas.vocabulary import (
    AlsfrsItem,
    InterventionEvent,
    InterventionKind,
    Position,
    RespiratorySymptom,
    StopReason,
)
from alscare.services import StoredRecord
from alscare.storage.database import Database
from alscare.storage.security import Actor, Role, User
from alscare.web import forms
from alscare.web.decisions import ANSWERS, decision_alerts
from alscare.web.deps import DatabaseDep, KnowledgeDep
from alscare.web.forms import EntryKind
from alscare.web.pages import (
    NOTICE,
    PAGE_HEADERS,
    PageUser,
    Posted,
    has_gastrostomy,
    page_errors,
    render,
    require_role,
)
from alscare.web.record_view import EXAM_SIGN_LABELS, REGION_LABELS
from alscare.web.session import PageError, check_csrf, page_actor

__all__ = ["BREATHING_FIELDS", "NEW_MEDICATIONS", "BreathingField", "router"]

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

#: How many drugs the page can start at one visit.
NEW_MEDICATIONS: Final = 2
# The visit page runs one script of its own (the running ALSFRS-R total), from this site only.
_HEADERS: Final = {
    **PAGE_HEADERS,
    "Content-Security-Policy": PAGE_HEADERS["Content-Security-Policy"] + "; script-src 'self'",
}
_EXAM_PREFIX: Final = "examinations."
_BREATHING_PREFIX: Final = "respiratory."
# Breathing-test fields that qualify a measurement rather than being one.
_BREATHING_QUALIFIERS: Final = frozenset({"paco2_unit", "position"})


@dataclass(frozen=True)
class BreathingField:
    """A number of the breathing tests: its field (of the record's entry) and words. Its range
    (the form's min and max) is the clinic's where it has one, else the record schema's."""

    name: str
    label: str
    unit: str
    band: plausibility.Band | None = None

    @property
    def low(self) -> float | None:
        return self.band.lowest if self.band else _schema_bounds(self.name)[0]

    @property
    def high(self) -> float | None:
        return self.band.highest if self.band else _schema_bounds(self.name)[1]


@cache
def _schema_bounds(name: str) -> tuple[float | None, float | None]:
    schema = RespiratoryMeasurement.model_json_schema()["properties"][name]
    number = next(option for option in schema["anyOf"] if option.get("type") == "number")
    return number.get("minimum", number.get("exclusiveMinimum")), number.get("maximum")


BREATHING_FIELDS: Final = (
    BreathingField("fvc_percent_predicted", "FVC", "% predicted", plausibility.FVC),
    BreathingField("fvc_litres", "FVC", "L"),
    BreathingField("supine_fvc_percent_predicted", "Supine FVC", "% predicted", plausibility.FVC),
    BreathingField("snip_cmh2o", "SNIP", "cmH₂O"),
    BreathingField("mip_cmh2o", "MIP", "cmH₂O"),
    BreathingField("peak_cough_flow_l_min", "Peak cough flow", "L/min"),
    BreathingField("spo2_percent", "SpO₂ awake", "%"),
    BreathingField("nocturnal_spo2_below_90_percent_time", "Night: SpO₂ below 90 %", "% of sleep"),
    BreathingField("nocturnal_spo2_88_or_below_minutes", "Night: SpO₂ 88 % or below", "minutes"),
)


@dataclass(frozen=True)
class _Addition:
    """An entry the visit adds to a series, and the form field its problems belong to."""

    series: str
    entry: dict[str, Any]
    field: str


@dataclass(frozen=True)
class _Stop:
    """A drug of the record stopped at the visit (``index`` in the record's medications)."""

    index: int
    until: dt.date
    reason: str | None


@dataclass(frozen=True)
class _Placed:
    """Where an entry of the visit is in the record, and the form field it came from."""

    pointer: str
    field: str


@dataclass(frozen=True)
class _Visit:
    """What the form asks to store: entries dated on the visit, and drugs stopped."""

    date: dt.date | None
    additions: tuple[_Addition, ...]
    stops: tuple[_Stop, ...]

    def changes(self, record: PatientRecord) -> tuple[dict[str, list[Any]], tuple[_Placed, ...]]:
        """The series the visit changes, as they will be stored, and where its entries are."""
        data = record.to_json_dict()
        changes: dict[str, list[Any]] = {}
        placed: list[_Placed] = []
        for addition in self.additions:
            entries = changes.setdefault(addition.series, list(data.get(addition.series, [])))
            placed.append(_Placed(f"/{addition.series}/{len(entries)}", addition.field))
            entries.append(addition.entry)
        for stop in self.stops:
            drugs = changes.setdefault("medications", list(data.get("medications", [])))
            reason = {"stop_reason": stop.reason} if stop.reason else {}
            drugs[stop.index] = {**drugs[stop.index], "until": stop.until.isoformat(), **reason}
            placed.append(_Placed(f"/medications/{stop.index}", f"medications.{stop.index}"))
        return changes, tuple(placed)


@dataclass(frozen=True)
class _Reading:
    """The visit as read: the parts that are valid on their own, and every fault found."""

    visit: _Visit
    problems: tuple[Problem, ...]


# --- reading the form ------------------------------------------------------------------------


@dataclass
class _VisitReader:
    """Reads each section of the posted visit, collecting every problem with its field."""

    form: Mapping[str, str]
    record: PatientRecord
    kb: KnowledgeBase
    read: forms.FieldReader = field(init=False)
    additions: list[_Addition] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.read = forms.FieldReader(self.form)

    def reading(self) -> _Reading:
        date = self._date("date")
        self.read.required("date", date, "enter the date of the visit")
        self._alsfrs_r()
        self._built(EntryKind.RESPIRATORY, "respiratory", self._breathing_form())
        self._built(EntryKind.WEIGHT, "weights", self._weight_form())
        self._built(EntryKind.EXAMINATION, "examinations", self._examination_form())
        self._findings()
        self._new_medications()
        self._interventions()
        stops = tuple(self._stops())
        if not self.additions and not stops:
            self.read.problems.append(Problem("", _NOTHING_TO_SAVE))
        additions = [_dated(addition, date) for addition in self.additions] if date else []
        valid = tuple(self._valid(additions))
        return _Reading(_Visit(date, valid, stops), tuple(self.read.problems))

    def _date(self, name: str) -> dt.date | None:
        """A date of the visit, which cannot be later than today (the server's)."""
        date = self.read.date(name)
        if date is not None and date > services.today():
            self.read.problems.append(Problem(_pointer(name), services.FUTURE_DATE))
        return date

    def _section(self, prefix: str) -> dict[str, str]:
        """The section's fields that hold something, named without the prefix."""
        return {
            name.removeprefix(prefix): value
            for name, value in self.form.items()
            if name.startswith(prefix) and value.strip()
        }

    def _alsfrs_r(self) -> None:
        items: dict[str, int] = {}
        for item in AlsfrsItem:
            score = self.read.whole(f"alsfrs_r.items.{item.value}", "choose a score from 0 to 4")
            if score is not None:
                items[item.value] = score
        item_5 = self.read.text("alsfrs_r.item_5_form")
        if item_5 not in ("5a", "5b"):
            self.read.problems.append(Problem("/alsfrs_r/item_5_form", "choose 5a or 5b"))
        if items:
            entry = {"items": items, "gastrostomy": item_5 == "5b"}
            self.additions.append(_Addition("alsfrs_r", entry, "alsfrs_r"))

    def _breathing_form(self) -> dict[str, str] | None:
        given = self._section(_BREATHING_PREFIX)
        if given.keys() - _BREATHING_QUALIFIERS:
            return given
        if "position" in given:
            reason = "give the FVC measured in this position"
            self.read.problems.append(Problem("/respiratory/position", reason))
        return None

    def _weight_form(self) -> dict[str, str] | None:
        return self._section("weights.") or None

    def _examination_form(self) -> dict[str, str] | None:
        return self._section(_EXAM_PREFIX) or None

    def _built(self, kind: EntryKind, prefix: str, section: dict[str, str] | None) -> None:
        """An entry from a section the per-series forms also read (the visit gives the date)."""
        if section is None:
            return
        try:
            entry = forms.entry_from_form(kind, {**section, "date": self.form.get("date", "")})
        except RecordError as error:
            self.read.problems.extend(_under(error.problems, prefix))
            return
        entry.pop("date", None)
        self.additions.append(_Addition(kind.value, entry, prefix))

    def _findings(self) -> None:
        for finding in self.kb.topic.findings:
            present = self.read.choice(f"findings.{finding.id.value}.present")
            if present is not None:
                entry = {"id": finding.id.value, "present": present}
                self.additions.append(_Addition("findings", entry, f"findings.{finding.id.value}"))

    def _new_medications(self) -> None:
        for row in range(NEW_MEDICATIONS):
            prefix = f"medications.new.{row}"
            name, since = self.read.text(f"{prefix}.name"), self._date(f"{prefix}.since")
            if name is None:
                if since is not None:
                    self.read.problems.append(Problem(_pointer(prefix, "name"), "enter the drug"))
                continue
            entry: dict[str, Any] = {"name": name}
            if since is not None:
                entry["since"] = since.isoformat()
            self.additions.append(_Addition("medications", entry, prefix))

    def _stops(self) -> Iterator[_Stop]:
        for index, _drug in _current_medications(self.record):
            prefix = f"medications.{index}"
            until = self._date(f"{prefix}.until")
            reason = self.read.text(f"{prefix}.stop_reason")
            if until is None:
                if reason is not None:
                    reason_text = "give the date it was stopped"
                    self.read.required(f"{prefix}.until", until, reason_text)
                continue
            yield _Stop(index, until, reason)

    def _interventions(self) -> None:
        for kind in InterventionKind:
            prefix = f"interventions.{kind.value}"
            events = [e for e in InterventionEvent if self.read.checked(f"{prefix}.{e.value}")]
            hours = self.read.number(f"{prefix}.hours_per_day")
            if hours is not None and InterventionEvent.STARTED not in events:
                reason = "hours of use go with 'started'"
                self.read.problems.append(Problem(_pointer(prefix, "hours_per_day"), reason))
            for event in events:
                entry: dict[str, Any] = {"kind": kind.value, "event": event.value}
                if event is InterventionEvent.STARTED and hours is not None:
                    entry["hours_per_day"] = hours
                self.additions.append(_Addition("interventions", entry, prefix))

    def _valid(self, additions: Sequence[_Addition]) -> Iterator[_Addition]:
        """The entries that are valid on their own; the faults of the others at their fields."""
        for addition in additions:
            try:
                services.parse_entry(addition.series, addition.entry)
            except RecordError as error:
                self.read.problems.extend(_under(error.problems, addition.field))
            else:
                yield addition


_NOTHING_TO_SAVE: Final = (
    "this visit records nothing yet: fill in at least one section (a section left empty "
    "stores nothing)"
)
# Record fields whose value the form takes in another field.
_FIELD_ALIASES: Final = {
    "respiratory.paco2_kpa": "respiratory.paco2",
    "respiratory.paco2_mmhg": "respiratory.paco2",
}


def _dated(addition: _Addition, date: dt.date) -> _Addition:
    """Entries of the visit are dated on it; a drug started at it starts on it unless the form
    says when."""
    key = "since" if addition.series == "medications" else "date"
    entry = {key: date.isoformat(), **addition.entry}
    return _Addition(addition.series, entry, addition.field)


def _pointer(prefix: str, name: str = "") -> str:
    """The form-field pointer of a field: ``medications.new.0`` + ``name``; a field the form
    takes under another name (PaCO2 in either unit) is that field."""
    field_name = ".".join(filter(None, (prefix, name)))
    return "/" + _FIELD_ALIASES.get(field_name, field_name).replace(".", "/")


def _under(problems: Sequence[Problem], prefix: str) -> Iterator[Problem]:
    """Problems of an entry (pointers relative to it) at the fields of its form section; its
    date is the visit's, whose own problems the date field reports."""
    for problem in problems:
        if problem.pointer != "/date":
            yield Problem(
                _pointer(prefix, problem.pointer.strip("/").replace("/", ".")), problem.reason
            )


def _current_medications(record: PatientRecord) -> list[tuple[int, Any]]:
    """The record's drugs not yet stopped, with their index in its medications."""
    return [(index, drug) for index, drug in enumerate(record.medications) if drug.until is None]


# --- checking the whole record, and its problems back on the form ----------------------------


def _refusal(
    reading: _Reading,
    record: PatientRecord,
    changes: Mapping[str, Any],
    placed: Sequence[_Placed],
    confirmed: frozenset[str],
) -> RecordError | None:
    """Every fault of the visit at once: those of its parts, and those of the record with its
    valid parts (dates against the birth and the drugs, the clinic's plausibility policy), as
    the save would find them. None when the visit can be stored."""
    problems = list(reading.problems)
    unconfirmed: frozenset[str] = frozenset()
    if reading.visit.date is not None:
        try:
            plausibility.check(
                record, parse_record({**record.to_json_dict(), **changes}), confirmed=confirmed
            )
        except RecordError as error:
            on_fields = _on_fields(error, placed)
            problems.extend(on_fields.problems)
            if isinstance(on_fields, plausibility.ConfirmationNeeded):
                unconfirmed = on_fields.unconfirmed
    if unconfirmed:
        return plausibility.ConfirmationNeeded(problems, unconfirmed)
    return RecordError(problems) if problems else None


def _on_fields(error: RecordError, placed: Sequence[_Placed]) -> RecordError:
    """A record's problems with the pointers of the form fields they concern."""
    problems = [Problem(_field_pointer(p.pointer, placed), p.reason) for p in error.problems]
    if isinstance(error, plausibility.ConfirmationNeeded):
        unconfirmed = (_field_pointer(pointer, placed) for pointer in error.unconfirmed)
        return plausibility.ConfirmationNeeded(problems, unconfirmed)
    return RecordError(problems)


def _field_pointer(pointer: str, placed: Sequence[_Placed]) -> str:
    for place in placed:
        if pointer == place.pointer or pointer.startswith(place.pointer + "/"):
            rest = pointer.removeprefix(place.pointer)
            if rest == "/date":
                return "/date"
            return _pointer(place.field, rest.strip("/").replace("/", "."))
    return pointer


def _confirmed(form: Mapping[str, str], placed: Sequence[_Placed]) -> frozenset[str]:
    """The record pointers of the values whose "I confirm this value" box is ticked."""
    ticked = {
        name.removeprefix(forms.CONFIRM)
        for name, value in form.items()
        if name.startswith(forms.CONFIRM) and value == "on"
    }
    return frozenset(
        place.pointer + "/" + name.removeprefix(place.field + ".").replace(".", "/")
        for name in ticked
        for place in placed
        if name.startswith(place.field + ".")
    )


# --- the page --------------------------------------------------------------------------------


def _defaults(record: PatientRecord, kb: KnowledgeBase) -> dict[str, str]:
    """What a fresh form shows: today's date, the item 5 form in use, the usual PaCO2 unit.
    None of it is stored unless a section is filled in."""
    today = services.today()
    return {
        "date": today.isoformat(),
        "alsfrs_r.item_5_form": "5b" if has_gastrostomy(record, today, kb) else "5a",
        "respiratory.paco2_unit": "kpa",
    }


def _labels(kb: KnowledgeBase) -> dict[str, str]:
    """Words for each field, as the error summary names it."""
    words = wording(kb)
    labels = {"date": "Visit date", "alsfrs_r.item_5_form": "ALSFRS-R item 5 form"}
    for item in forms.alsfrs_r_anchors().items:
        labels[f"alsfrs_r.items.{item.id.value}"] = f"ALSFRS-R {item.number} {item.label}"
    for breathing in BREATHING_FIELDS:
        labels[_BREATHING_PREFIX + breathing.name] = breathing.label
    labels.update(
        {
            "respiratory.paco2": "PaCO₂",
            "respiratory.paco2_unit": "PaCO₂ unit",
            "respiratory.position": "FVC position",
            "weights.kg": "Weight",
            "examinations.regions": "Examination: regions examined",
        }
    )
    for finding in kb.topic.findings:
        labels[f"findings.{finding.id.value}.present"] = finding.label
    for row in range(NEW_MEDICATIONS):
        labels[f"medications.new.{row}.name"] = "Drug started"
        labels[f"medications.new.{row}.since"] = "Drug started on"
    for kind in InterventionKind:
        text = words.label(Kind.INTERVENTION, kind.value)
        labels[f"interventions.{kind.value}"] = text
        labels[f"interventions.{kind.value}.hours_per_day"] = f"{text}: hours a day"
    return labels


def _choices(kb: KnowledgeBase, record: PatientRecord) -> dict[str, Any]:
    words = wording(kb)
    return {
        "position": [(p.value, p.value) for p in Position],
        "symptom": [(s.value, s.value.replace("_", " ")) for s in RespiratorySymptom],
        "region": [(region.value, text) for region, text in REGION_LABELS.items()],
        "exam_sign": [(sign, EXAM_SIGN_LABELS[sign]) for sign in forms.EXAM_SIGNS],
        "findings": [
            (title, [(f.id.value, f.label) for f in kb.topic.findings if f.kind == kind])
            for kind, title in FINDING_KIND_TITLES.items()
        ],
        "drugs": sorted({name for drug in kb.treatment.drugs for name in drug.names}),
        "current_drugs": _current_medications(record),
        "stop_reason": [(r.value, r.value.replace("_", " ")) for r in StopReason],
        "intervention": [
            (k.value, words.label(Kind.INTERVENTION, k.value)) for k in InterventionKind
        ],
        "event": [
            (e.value, words.label(Kind.INTERVENTION_EVENT, e.value)) for e in InterventionEvent
        ],
        "domain": {d: words.label(Kind.ALSFRS_DOMAIN, d) for d in _domains()},
    }


def _domains() -> tuple[str, ...]:
    return tuple(dict.fromkeys(item.domain for item in forms.alsfrs_r_anchors().items))


def _visit_page(
    request: Request,
    user: User,
    kb: KnowledgeBase,
    stored: StoredRecord,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    *,
    status_code: int = 200,
) -> Response:
    context = {
        "record": stored.record,
        "revision": stored.revision,
        "values": values,
        "errors": errors,
        "labels": _labels(kb),
        "choices": _choices(kb, stored.record),
        "anchors": forms.alsfrs_r_anchors(),
        "breathing": BREATHING_FIELDS,
        "weight": plausibility.WEIGHT,
        "item_max": kb.scoring.alsfrs_r.item_max,
        "new_medications": range(NEW_MEDICATIONS),
        "today": services.today(),
        "nav": "patients",
    }
    response = render(
        request, "clinic_visit.html", context, user=user, kb=kb, status_code=status_code
    )
    response.headers.update(_HEADERS)
    return response


def _read_stored(
    database: Database, actor: Actor, patient_id: str, revision: str | None
) -> StoredRecord:
    """The record the form was made from (its revision, posted with it), else the current one."""
    with page_errors():
        if revision and revision.isdigit():
            try:
                return services.read_patient(database, actor, patient_id, revision=int(revision))
            except NotFoundError:
                pass  # a revision this patient does not have: the current record decides
        return services.read_patient(database, actor, patient_id)


@router.get("/patients/{patient_id}/visit")
def visit_form(
    request: Request, patient_id: str, user: PageUser, database: DatabaseDep, kb: KnowledgeDep
) -> Response:
    require_role(user, Role.CLINICIAN)
    stored = _read_stored(database, page_actor(user), patient_id, None)
    return _visit_page(request, user, kb, stored, _defaults(stored.record, kb), {})


@router.post("/patients/{patient_id}/visit")
def save_visit(
    request: Request,
    patient_id: str,
    values: Posted,
    user: PageUser,
    database: DatabaseDep,
    kb: KnowledgeDep,
) -> Response:
    require_role(user, Role.CLINICIAN)
    actor = page_actor(user)
    stored = _read_stored(database, actor, patient_id, values.get("revision"))
    reading = _VisitReader(values, stored.record, kb).reading()
    changes, placed = reading.visit.changes(stored.record)
    confirmed = _confirmed(values, placed)
    refusal = _refusal(reading, stored.record, changes, placed, confirmed)
    if refusal is None:
        try:
            with page_errors():
                services.update_patient(
                    database,
                    actor,
                    patient_id,
                    changes,
                    reason=f"clinic visit of {reading.visit.date}",
                    expected_revision=stored.revision,
                    confirmed=confirmed,
                )
        except RecordError as error:  # what only the store finds (text it cannot hold)
            refusal = _on_fields(error, placed)
        except StaleRevisionError:
            current = _read_stored(database, actor, patient_id, None)
            errors = {"": _CHANGED_MEANWHILE.format(revision=current.revision)}
            return _visit_page(request, user, kb, current, values, errors, status_code=409)
    if refusal is not None:
        errors = forms.field_errors(refusal)
        return _visit_page(request, user, kb, stored, values, errors, status_code=422)
    request.session[NOTICE] = f"Visit of {reading.visit.date} saved."
    return RedirectResponse(f"/patients/{patient_id}", status_code=303)


_CHANGED_MEANWHILE: Final = (
    "someone else saved a change to this record while the visit was being entered (it is now "
    "revision {revision}): nothing of this visit was saved; check it below and save again"
)


# --- answering an alert ----------------------------------------------------------------------


@router.post("/patients/{patient_id}/alerts/{alert_id}")
def answer_alert(
    request: Request,
    patient_id: str,
    alert_id: str,
    values: Posted,
    user: PageUser,
    database: DatabaseDep,
    kb: KnowledgeDep,
) -> Response:
    """Store the answer to a decision alert as an intervention event dated today."""
    require_role(user, Role.CLINICIAN)
    kind = decision_alerts(kb).get(alert_id)
    if kind is None:
        raise PageError(404, "Not found", f"the alert {alert_id!r} is not answered here")
    event = values.get("event", "")
    if event not in {answer.value for answer in ANSWERS}:
        answers = ", ".join(answer.value for answer in ANSWERS)
        raise PageError(422, "Not an answer", f"answer with one of {answers}")
    today = services.today()
    try:
        with page_errors():
            entry = {"kind": kind.value, "event": event, "date": today.isoformat()}
            parsed = services.parse_entry("interventions", entry)
            services.add_entry(database, page_actor(user), patient_id, "interventions", parsed)
    except RecordError as error:
        message = "; ".join(problem.reason for problem in error.problems)
        raise PageError(422, "Not recorded", message) from None
    words = wording(kb)
    what = words.label(Kind.INTERVENTION, kind.value)
    answer = words.label(Kind.INTERVENTION_EVENT, event).lower()
    request.session[NOTICE] = f"{what} {answer}: recorded on {today}."
    return RedirectResponse(f"/patients/{patient_id}#alerts-h", status_code=303)
