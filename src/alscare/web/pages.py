"""The clinic pages: server-rendered HTML (Jinja2), plain forms, no front-end framework.

Routes::

    GET  /login, POST /login, POST /logout          session cookie (web/session.py)
    GET  /patients?q=                               the patient list, searched by id or name
    GET  /patients/new, POST /patients/new          a new patient (clinicians, admins)
    GET  /patients/{id}?as_of=YYYY-MM-DD            the assessment on a date (today by default)
    GET  /patients/{id}/visit/{kind}, POST ...      add a visit entry (clinicians, admins)
    GET  /topic?section=&as_of=                     the topic browser
    GET  /audit                                     the audit trail (admins)

Every read and write of a patient goes through :mod:`alscare.services`, which checks the role
and writes the audit trail; the pages check the role too, so a viewer never sees a write form.
Every POST carries the session's CSRF token (:func:`alscare.web.session.check_csrf`). Bad form
input is answered with the form again (status 422), each faulty field marked with its reason;
nothing is stored unless the whole entry is valid. The page chooses the assessment date
explicitly: today's date (:func:`alscare.services.today`) unless the date picker asks for
another; a date the app does not assess on is answered 422.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from typing import Annotated, Any, Final, Protocol, TypeVar
from urllib.parse import urlsplit

import jinja2
from fastapi import APIRouter, Depends, Query, Request
from markupsafe import Markup
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from alscare import __version__, services
from alscare.engine import patient_facts
from alscare.errors import NotFoundError, RecordError
from alscare.knowledge import KnowledgeBase
from alscare.knowledge.document import (
    FINDING_KIND_TITLES,
    INVESTIGATION_TIER_TITLES,
    TOPIC_SECTIONS,
    citation_marks,
    review_status,
    topic_document,
)
from alscare.plots import alsfrs_r_chart, fvc_chart, fvc_reference_lines
from alscare.schemas.patient import PatientRecord
from alscare.schemas.vocabulary import (
    InvestigationId,
    Jurisdiction,
    OnsetSite,
    Position,
    RespiratorySymptom,
    Sex,
    TestResult,
)
from alscare.storage.audit import AuditAction
from alscare.storage.database import Database
from alscare.storage.security import (
    AccountLockedError,
    Actor,
    AuthenticationError,
    Channel,
    Role,
    User,
    authenticate,
)
from alscare.web import forms
from alscare.web.deps import DatabaseDep, KnowledgeDep, SettingsDep
from alscare.web.forms import EntryKind
from alscare.web.record_view import (
    EMG_FLAG_LABELS,
    EMG_SIGN_LABELS,
    EXAM_SIGN_LABELS,
    REGION_LABELS,
    record_tables,
)
from alscare.web.session import (
    CSRF_FIELD,
    PageError,
    SessionUser,
    check_csrf,
    csrf_token,
    current_user_from_session,
    log_in,
    log_out,
    page_actor,
    session_user,
)

__all__ = ["VISIT_KINDS", "error_page", "router"]

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

PageUser = Annotated[User, Depends(current_user_from_session)]
MaybeUser = Annotated[User | None, Depends(session_user)]

# URL segment of each visit form -> the record part it fills and the page heading.
VISIT_KINDS: Final[Mapping[str, tuple[EntryKind, str]]] = {
    "alsfrs-r": (EntryKind.ALSFRS_R, "ALSFRS-R rating"),
    "respiratory": (EntryKind.RESPIRATORY, "Breathing tests"),
    "weight": (EntryKind.WEIGHT, "Weight"),
    "exam": (EntryKind.EXAMINATION, "Examination"),
    "emg": (EntryKind.EMG, "EMG and nerve conduction"),
    "test": (EntryKind.TEST, "Test result"),
}
_SAVE_BUTTONS: Final[Mapping[EntryKind, str]] = {
    EntryKind.ALSFRS_R: "Save ALSFRS-R rating",
    EntryKind.RESPIRATORY: "Save breathing tests",
    EntryKind.WEIGHT: "Save weight",
    EntryKind.EXAMINATION: "Save examination",
    EntryKind.EMG: "Save EMG and nerve conduction",
    EntryKind.TEST: "Save test result",
}
_NOTICE: Final = "notice"
# Pages hold patient data: never cached, never framed, no script at all, forms post here only.
_PAGE_HEADERS: Final = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
_AUDIT_PAGE: Final = 100

_FIELD_LABELS: Final[Mapping[str, str]] = {
    "id": "Patient id",
    "identity.name": "Name",
    "identity.identifiers.0.system": "Number: which (MRN, NHS, ...)",
    "identity.identifiers.0.value": "Number",
    "sex": "Sex",
    "birth_date": "Birth date",
    "age_years": "Age today (years)",
    "height_cm": "Height (cm)",
    "jurisdiction": "Jurisdiction",
    "symptom_onset.date": "Symptom onset date",
    "symptom_onset.site": "Site of onset",
    "diagnosis_date": "Diagnosis date",
    "progressive": "Progressive motor impairment documented",
    "premorbid_weight_kg": "Premorbid weight (kg)",
    "date": "Date",
    "regions": "Regions examined",
    "item_5_form": "Item 5 form",
    "fvc_percent_predicted": "FVC",
    "fvc_litres": "FVC",
    "position": "Position (FVC)",
    "supine_fvc_percent_predicted": "Supine FVC",
    "snip_cmh2o": "SNIP",
    "mip_cmh2o": "MIP",
    "peak_cough_flow_l_min": "Peak cough flow",
    "paco2": "PaCO₂",
    "paco2_unit": "PaCO₂ unit",
    "paco2_kpa": "PaCO₂",
    "paco2_mmhg": "PaCO₂",
    "spo2_percent": "SpO₂",
    "nocturnal_spo2_below_90_percent_time": "Night-time with SpO₂ below 90 %",
    "kg": "Weight",
    "result": "Result",
    "value": "Value",
    "unit": "Unit",
    "lower_limit": "Lower limit of normal",
    "upper_limit": "Upper limit of normal",
    "finding": "Finding",
}
_TEST_FIELD_LABELS: Final = {"id": "Test"}
# Words shown for ids that the knowledge base gives no label of its own.
_WORDS: Final = {
    "niv_indicated": "NIV indicated",
    "riluzole_hepatotoxicity": "Riluzole: raised liver enzymes",
    "riluzole_neutropenia": "Riluzole: low neutrophils",
    "probable_laboratory_supported": "probable, laboratory-supported",
    "not_met": "not met",
    "not_needed": "not needed",
    "bulbar": "Bulbar",
    "fine_motor": "Fine motor",
    "gross_motor": "Gross motor",
    "respiratory": "Respiratory",
}


# --- rendering -------------------------------------------------------------------------------


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("alscare.web", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["num"] = _number
    environment.filters["yesno"] = _yes_no
    environment.globals["static_url"] = lambda name: f"/static/{name}?v={__version__}"
    return environment


@cache
def _templates() -> Jinja2Templates:
    """The page templates (package data), loaded on first use."""
    return Jinja2Templates(env=_environment())


def _number(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    return f"{value:.{digits}f}"


def _yes_no(value: bool | None) -> str:
    return "not known" if value is None else ("yes" if value else "no")


class _KbText:
    """Words the pages take from a knowledge base: labels of ids and topic section titles."""

    def __init__(self, kb: KnowledgeBase) -> None:
        document = topic_document(kb, as_of=None, section=None)
        self.labels: dict[str, str] = {}
        _collect_labels(document["sections"], self.labels)
        self.section_titles = [
            (name, str(body["title"])) for name, body in document["sections"].items()
        ]


_KB_TEXT: dict[int, tuple[KnowledgeBase, _KbText]] = {}


def _kb_text(kb: KnowledgeBase) -> _KbText:
    """Computed once per knowledge base (an app holds one for its lifetime)."""
    cached = _KB_TEXT.get(id(kb))
    if cached is None or cached[0] is not kb:
        cached = (kb, _KbText(kb))
        _KB_TEXT[id(kb)] = cached
    return cached[1]


def _collect_labels(node: object, found: dict[str, str]) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("id"), str) and isinstance(node.get("label"), str):
            found.setdefault(node["id"], node["label"])
        for value in node.values():
            _collect_labels(value, found)
    elif isinstance(node, list):
        for item in node:
            _collect_labels(item, found)


def _labeller(kb: KnowledgeBase | None) -> Callable[[object], str]:
    """``label(id)``: the knowledge base's label of an id, else the id in words."""
    labels = _kb_text(kb).labels if kb is not None else {}

    def label(identifier: object) -> str:
        text = str(identifier)
        return labels.get(text) or _WORDS.get(text) or text.replace("_", " ").capitalize()

    return label


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    user: User | None,
    kb: KnowledgeBase | None = None,
    status_code: int = 200,
) -> Response:
    """A page with the context every template relies on (user, CSRF token, notice, labels)."""
    base = {
        "user": SessionUser(user) if user is not None else None,
        "csrf_token": csrf_token(request),
        "notice": request.session.pop(_NOTICE, None),
        "nav": None,
        "knowledge_version": kb.version if kb is not None else None,
        "label": _labeller(kb),
    }
    return _templates().TemplateResponse(
        request,
        template,
        {**base, **context},
        status_code=status_code,
        headers=_PAGE_HEADERS,
    )


def error_page(request: Request, status_code: int, title: str, message: str) -> Response:
    """A plain error page (403, 404, ...) that never shows patient data."""
    user = request.session.get("username")
    return _templates().TemplateResponse(
        request,
        "error.html",
        {
            "user": None,
            "logged_in": isinstance(user, str),
            "csrf_token": csrf_token(request),
            "notice": None,
            "nav": None,
            "knowledge_version": None,
            "title": title,
            "message": message,
            "status_code": status_code,
            "label": _labeller(None),
        },
        status_code=status_code,
        headers=_PAGE_HEADERS,
    )


def _redirect(path: str) -> Response:
    return RedirectResponse(path, status_code=303)


@contextmanager
def _page_errors() -> Iterator[None]:
    """Service refusals as error pages rather than the API's JSON problems."""
    try:
        yield
    except NotFoundError as error:
        raise PageError(404, "Not found", str(error)) from None
    except services.PermissionDeniedError as error:
        raise PageError(403, "Not allowed", str(error)) from None


def _require(user: User, role: Role) -> None:
    if not user.role.allows(role):
        raise PageError(
            403, "Not allowed", f"this page needs a {role} account; yours is a {user.role} account"
        )


async def _posted(request: Request) -> dict[str, str]:
    """The posted text fields (files, which no form has, are ignored).

    An async dependency, so that the routes using it can be plain functions: FastAPI runs those
    in its thread pool, and the database work and password hashing never block the event loop.
    """
    form = await request.form()
    return {
        key: value
        for key, value in form.multi_items()
        if isinstance(value, str) and key != CSRF_FIELD
    }


Posted = Annotated[dict[str, str], Depends(_posted)]


# --- login -----------------------------------------------------------------------------------


def _safe_next(target: str | None) -> str:
    """Only a path on this site, so the login form cannot send anyone elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/patients"
    parts = urlsplit(target)
    return "/patients" if parts.scheme or parts.netloc or "\\" in target else target


@router.get("/")
def home() -> Response:
    return _redirect("/patients")


@router.get("/login")
def login_form(
    request: Request,
    user: MaybeUser,
    target: Annotated[str, Query(alias="next")] = "/patients",
) -> Response:
    if user is not None:
        return _redirect(_safe_next(target))
    context = {"next": _safe_next(target), "username": "", "error": None}
    return render(request, "login.html", context, user=None)


@router.post("/login")
def login(request: Request, form: Posted, database: DatabaseDep, settings: SettingsDep) -> Response:
    username, password = form.get("username", ""), form.get("password", "")
    target = _safe_next(form.get("next"))
    try:
        user = authenticate(database, username, password, settings, channel=Channel.PAGES)
    except AccountLockedError as error:
        message = (
            "This account is locked after too many failed logins. "
            f"Try again after {error.until:%H:%M} UTC, or ask an administrator."
        )
        context = {"next": target, "username": username, "error": message}
        return render(request, "login.html", context, user=None, status_code=429)
    except AuthenticationError:
        context = {"next": target, "username": username, "error": "Wrong username or password."}
        return render(request, "login.html", context, user=None, status_code=401)
    log_in(request, user)
    return _redirect(target)


@router.post("/logout")
def logout(request: Request) -> Response:
    log_out(request)
    return _redirect("/login")


# --- patients --------------------------------------------------------------------------------


@router.get("/patients")
def patient_list(
    request: Request, user: PageUser, database: DatabaseDep, kb: KnowledgeDep, q: str = ""
) -> Response:
    search = q.strip()[:64]
    with _page_errors():
        patients = services.list_patients(
            database, page_actor(user), search=search or None, limit=services.MAX_PAGE
        )
    rows = [
        {
            "id": p.id,
            "sex": p.sex,
            "name": p.name,
            "identifiers": p.identifiers,
            "born": p.birth_date
            or (f"{p.age_years:g} on {p.age_on}" if p.age_years is not None else None),
            "death_date": p.death_date,
            "onset": " ".join(str(x) for x in (p.symptom_onset_date, p.onset_site) if x) or None,
            "diagnosis_date": p.diagnosis_date,
            "updated": f"{p.updated_at:%Y-%m-%d %H:%M} UTC",
        }
        for p in patients
    ]
    context = {"patients": rows, "q": search, "nav": "patients"}
    return render(request, "patients.html", context, user=user, kb=kb)


def _patient_choices() -> dict[str, list[tuple[str, str]]]:
    return {
        "sex": [(s.value, s.value) for s in Sex],
        "jurisdiction": [(j.value, j.value) for j in Jurisdiction],
        "onset_site": [(s.value, s.value) for s in OnsetSite],
    }


def _new_patient_page(
    request: Request,
    user: User,
    kb: KnowledgeBase,
    values: Mapping[str, str],
    errors: Mapping[str, str],
) -> Response:
    context = {
        "values": values,
        "errors": errors,
        "labels": _FIELD_LABELS,
        "choices": _patient_choices(),
        "nav": "new",
    }
    status = 422 if errors else 200
    return render(request, "patient_new.html", context, user=user, kb=kb, status_code=status)


@router.get("/patients/new")
def new_patient_form(request: Request, user: PageUser, kb: KnowledgeDep) -> Response:
    _require(user, Role.CLINICIAN)
    return _new_patient_page(request, user, kb, {}, {})


@router.post("/patients/new")
def create_patient(
    request: Request, values: Posted, user: PageUser, database: DatabaseDep, kb: KnowledgeDep
) -> Response:
    _require(user, Role.CLINICIAN)
    try:
        record = forms.new_patient(values, today=services.today())
        with _page_errors():
            services.create_patient(database, page_actor(user), record)
    except RecordError as error:
        return _new_patient_page(request, user, kb, values, forms.field_errors(error))
    except services.ConflictError:
        errors = {"id": "a patient with this id already exists"}
        return _new_patient_page(request, user, kb, values, errors)
    request.session[_NOTICE] = f"Patient {record.id} created."
    return _redirect(f"/patients/{record.id}")


def _as_of(raw: str | None) -> dt.date:
    if not raw:
        return services.today()
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise PageError(422, "Not a date", "the assessment date must be YYYY-MM-DD") from None


@router.get("/patients/{patient_id}")
def patient_page(
    request: Request,
    patient_id: str,
    user: PageUser,
    database: DatabaseDep,
    kb: KnowledgeDep,
    as_of: str | None = None,
) -> Response:
    day = _as_of(as_of)
    actor = page_actor(user)
    try:
        with _page_errors():
            record = services.get_patient(database, actor, patient_id)
            assessment = services.assess_patient(database, actor, patient_id, as_of=day, kb=kb)
    except RecordError as error:  # an assessment date outside the range the app assesses on
        message = "; ".join(problem.reason for problem in error.problems)
        raise PageError(422, "Not an assessment date", message) from None
    cited = assessment.cited_sources()
    context = {
        "record": record,
        "assessment": assessment,
        "as_of": day,
        "today": services.today(),
        "age": _age(record, day),
        "charts": _charts(record, day, kb),
        "record_tables": record_tables(record, day, _labeller(kb)),
        "references": [kb.source(source_id) for source_id in cited if _known(kb, source_id)],
        "visit_kinds": [(segment, title) for segment, (_, title) in VISIT_KINDS.items()],
        "latest": _latest_entries(record, day),
        "topic_sections": _kb_text(kb).section_titles,
        "nav": "patients",
    }
    return render(request, "patient.html", context, user=user, kb=kb)


def _charts(record: PatientRecord, day: dt.date, kb: KnowledgeBase) -> dict[str, Markup | None]:
    """The course charts as inline SVG (plots.py escapes every text), None when nothing to plot:
    the page then says so in a line rather than showing an empty frame."""
    rated = any(rating.date <= day for rating in record.alsfrs_r)
    measured = any(
        m.date <= day
        and (m.fvc_percent_predicted is not None or m.supine_fvc_percent_predicted is not None)
        for m in record.respiratory
    )
    lines = fvc_reference_lines(kb)
    return {
        "alsfrs_r": Markup(alsfrs_r_chart(record, day)) if rated else None,
        "fvc": Markup(fvc_chart(record, day, reference_lines=lines)) if measured else None,
    }


def _known(kb: KnowledgeBase, source_id: str) -> bool:
    return any(source.id == source_id for source in kb.sources)


def _age(record: PatientRecord, day: dt.date) -> str | None:
    """Whole years on ``day`` from the birth date, or the age as recorded with its date."""
    if record.birth_date is not None:
        born = record.birth_date
        years = day.year - born.year - ((day.month, day.day) < (born.month, born.day))
        return f"{years} years"
    if record.age_years is not None:
        return f"{record.age_years:g} years on {record.age_on} (as recorded)"
    return None


def _latest_entries(record: PatientRecord, day: dt.date) -> list[str]:
    """One line per kind of measurement: the latest entry up to the assessment date."""
    lines: list[str] = []
    rating = _latest(record.alsfrs_r, day)
    if rating is not None:
        unrated = len(rating.unrated())
        total = (
            f"{sum(score or 0 for score in rating.items.values())} of 48"
            if not unrated
            else f"{unrated} item{'s' if unrated > 1 else ''} not rated"
        )
        lines.append(f"ALSFRS-R {total} on {rating.date}")
    breathing = _latest(record.respiratory, day)
    if breathing is not None:
        fvc = breathing.fvc_percent_predicted
        text = f"FVC {fvc:g} % predicted" if fvc is not None else "Breathing tests"
        lines.append(f"{text} on {breathing.date}")
    weight = _latest(record.weights, day)
    if weight is not None:
        lines.append(f"Weight {weight.kg:g} kg on {weight.date}")
    for entries, noun in ((record.examinations, "Examination"), (record.emg_studies, "EMG")):
        latest = _latest(entries, day)
        if latest is not None:
            lines.append(f"{noun} on {latest.date}")
    tests = [t for t in record.tests if t.date is None or t.date <= day]
    if tests:
        lines.append(f"{len(tests)} test result{'s' if len(tests) > 1 else ''}")
    return lines


class _Dated(Protocol):
    @property
    def date(self) -> dt.date: ...


_D = TypeVar("_D", bound=_Dated)


def _latest(entries: Iterable[_D], day: dt.date) -> _D | None:
    """The latest entry dated on or before ``day``."""
    return max(
        (entry for entry in entries if entry.date <= day),
        key=lambda entry: entry.date,
        default=None,
    )


# --- visit forms -----------------------------------------------------------------------------


def _visit_kind(segment: str) -> tuple[EntryKind, str]:
    if segment not in VISIT_KINDS:
        raise PageError(404, "Not found", f"there is no visit form {segment!r}")
    return VISIT_KINDS[segment]


def _visit_choices() -> dict[str, list[tuple[str, str]]]:
    return {
        "position": [(p.value, p.value) for p in Position],
        "symptom": [(s.value, s.value.replace("_", " ")) for s in RespiratorySymptom],
        "region": [(region.value, text) for region, text in REGION_LABELS.items()],
        "exam_sign": [(sign, EXAM_SIGN_LABELS[sign]) for sign in forms.EXAM_SIGNS],
        "emg_sign": [(sign, EMG_SIGN_LABELS[sign]) for sign in forms.EMG_REGION_SIGNS],
        "emg_flag": [(flag, EMG_FLAG_LABELS[flag]) for flag in forms.EMG_FLAGS],
        "test": [(t.value, t.value.replace("_", " ")) for t in InvestigationId],
        "test_result": [(r.value, r.value) for r in TestResult],
        "unit": [(unit, unit) for unit in forms.TEST_UNIT_CHOICES],
    }


def _visit_labels(kind: EntryKind) -> dict[str, str]:
    labels = dict(_FIELD_LABELS)
    if kind is EntryKind.TEST:
        labels.update(_TEST_FIELD_LABELS)
    for item in forms.alsfrs_r_anchors().items:
        labels[f"items.{item.id.value}"] = f"Item {item.number} {item.label}"
    for region, region_text in REGION_LABELS.items():
        labels[f"regions.{region.value}.examined"] = f"{region_text}: examined"
        signs = EXAM_SIGN_LABELS if kind is EntryKind.EXAMINATION else EMG_SIGN_LABELS
        for sign, text in signs.items():
            labels[f"regions.{region.value}.{sign}"] = f"{region_text}: {text}"
        labels[f"regions.{region.value}.muscles"] = f"{region_text}: muscles"
    labels.update(EMG_FLAG_LABELS)
    return labels


def _prefilled(
    kind: EntryKind, record: PatientRecord, today: dt.date, kb: KnowledgeBase
) -> dict[str, str]:
    """What a fresh form shows: today's date, the item 5 form in use, the usual PaCO2 unit.
    Never the findings of an earlier visit: each entry records what was found at its own."""
    values: dict[str, str] = {"date": today.isoformat()}
    if kind is EntryKind.ALSFRS_R:
        values["item_5_form"] = "5b" if _has_gastrostomy(record, today, kb) else "5a"
    elif kind is EntryKind.RESPIRATORY:
        values["paco2_unit"] = "kpa"
    return values


def _has_gastrostomy(record: PatientRecord, today: dt.date, kb: KnowledgeBase) -> bool:
    """A gastrostomy in place today, or item 5 rated as 5b last time: the engine's facts."""
    facts = patient_facts(record, as_of=today, kb=kb)
    in_place = facts("intervention.gastrostomy.in_place").value
    return in_place is True or facts("alsfrs_r.item_5_form").value == "5b"


def _visit_page(
    request: Request,
    user: User,
    kb: KnowledgeBase,
    record: PatientRecord,
    segment: str,
    values: Mapping[str, str],
    errors: Mapping[str, str],
) -> Response:
    kind, heading = _visit_kind(segment)
    context = {
        "record": record,
        "kind": segment,
        "heading": heading,
        "save": _SAVE_BUTTONS[kind],
        "values": values,
        "errors": errors,
        "labels": _visit_labels(kind),
        "choices": _visit_choices(),
        "anchors": forms.alsfrs_r_anchors(),
        "nav": "patients",
    }
    template = f"visit_{kind.value}.html"
    status = 422 if errors else 200
    return render(request, template, context, user=user, kb=kb, status_code=status)


@router.get("/patients/{patient_id}/visit/{segment}")
def visit_form(
    request: Request,
    patient_id: str,
    segment: str,
    user: PageUser,
    database: DatabaseDep,
    kb: KnowledgeDep,
) -> Response:
    _require(user, Role.CLINICIAN)
    kind, _ = _visit_kind(segment)
    with _page_errors():
        record = services.get_patient(database, page_actor(user), patient_id)
    values = _prefilled(kind, record, services.today(), kb)
    return _visit_page(request, user, kb, record, segment, values, {})


@router.post("/patients/{patient_id}/visit/{segment}")
def add_visit(
    request: Request,
    patient_id: str,
    segment: str,
    values: Posted,
    user: PageUser,
    database: DatabaseDep,
    kb: KnowledgeDep,
) -> Response:
    _require(user, Role.CLINICIAN)
    kind, heading = _visit_kind(segment)
    actor = page_actor(user)
    try:
        with _page_errors():
            entry = forms.entry_from_form(kind, values)
            _store(database, actor, patient_id, kind, entry)
    except RecordError as error:
        with _page_errors():
            record = services.get_patient(database, actor, patient_id)
        return _visit_page(request, user, kb, record, segment, values, forms.field_errors(error))
    request.session[_NOTICE] = f"{heading} saved."
    return _redirect(f"/patients/{patient_id}")


def _store(
    database: Database, actor: Actor, patient_id: str, kind: EntryKind, entry: dict[str, Any]
) -> None:
    """Add the entry to its series."""
    parsed = services.parse_entry(kind.value, entry)
    services.add_entry(database, actor, patient_id, kind.value, parsed)


# --- topic -----------------------------------------------------------------------------------


@router.get("/topic")
def topic_page(
    request: Request,
    user: MaybeUser,
    kb: KnowledgeDep,
    section: str = "about",
    as_of: str | None = None,
) -> Response:
    day = _as_of(as_of)
    if section not in TOPIC_SECTIONS:
        raise PageError(404, "Not found", f"there is no topic section {section!r}")
    document = topic_document(kb, as_of=day, section=section)
    numbers = {ref["id"]: ref["number"] for ref in document["references"]}
    context = {
        "document": document,
        "section": section,
        "body": document["sections"][section],
        "titles": _kb_text(kb).section_titles,
        "numbers": numbers,
        "marks": lambda sources: citation_marks(sources, numbers),
        "review_status": review_status(document),
        "finding_kinds": FINDING_KIND_TITLES,
        "investigation_tiers": INVESTIGATION_TIER_TITLES,
        "as_of": day,
        "nav": "topic",
    }
    return render(request, "topic.html", context, user=user, kb=kb)


# --- audit -----------------------------------------------------------------------------------


@router.get("/audit")
def audit_page(
    request: Request,
    user: PageUser,
    database: DatabaseDep,
    kb: KnowledgeDep,
    patient: str = "",
    username: str = "",
    action: str = "",
    page: int = 1,
) -> Response:
    _require(user, Role.ADMIN)
    chosen = AuditAction(action) if action in {a.value for a in AuditAction} else None
    page = max(1, page)
    with _page_errors():
        events = services.audit_trail(
            database,
            page_actor(user),
            patient_id=patient.strip() or None,
            username=username.strip() or None,
            action=chosen,
            limit=_AUDIT_PAGE + 1,
            offset=(page - 1) * _AUDIT_PAGE,
        )
    context = {
        "events": events[:_AUDIT_PAGE],
        "more": len(events) > _AUDIT_PAGE,
        "page": page,
        "filters": {"patient": patient.strip(), "username": username.strip(), "action": action},
        "actions": [a.value for a in AuditAction],
        "nav": "audit",
    }
    return render(request, "audit.html", context, user=user, kb=kb)
