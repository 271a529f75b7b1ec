"""The clinic pages: server-rendered HTML (Jinja2), plain forms, no front-end framework.

Routes::

    GET  /login, POST /login, POST /logout          session cookie (web/session.py)
    GET  /patients?q=                               the patient list, searched by id or name
    GET  /patients/new, POST /patients/new          a new patient (clinicians, admins)
    GET  /patients/{id}?as_of=YYYY-MM-DD            the assessment on a date (today by default)
    GET  /patients/{id}/letter?as_of=&format=       the clinic letter, html or pdf
    GET  /patients/{id}/flowsheet?as_of=            the visits as a table and charts
    GET  /worklist?as_of=&kind=                     what is due across all patients
    GET  /patients/{id}/visit/{kind}, POST ...      add one entry (clinicians, admins); the
                                                    whole clinic visit is web/visit.py
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
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from alscare import __version__, clinic, limits, services
from alscare.cohort.trials import fitting_trials
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
from alscare.presentation import (
    ENCALS_CAVEAT,
    ENCALS_NOT_APPLICABLE,
    UNVERIFIED_LEGEND,
    UNVERIFIED_MEANING,
    age_text,
    clinical_text,
    encals_inputs,
    factor_groups,
    number,
    stage,
    wording,
    yes_no,
)
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
    Actor,
    AuthenticationError,
    Channel,
    LoginThrottledError,
    Role,
    User,
    authenticate,
)
from alscare.web import forms, lists
from alscare.web.decisions import ANSWERS, decision_alerts
from alscare.web.deps import DatabaseDep, KnowledgeDep, LoginGuardDep, SettingsDep
from alscare.web.flowsheet import COLUMNS as FLOWSHEET_COLUMNS
from alscare.web.flowsheet import DOMAINS as FLOWSHEET_DOMAINS
from alscare.web.flowsheet import flowsheet_view
from alscare.web.forms import EntryKind
from alscare.web.letters import FORMAT, LetterFormat, letter_response
from alscare.web.login_guard import client_address
from alscare.web.record_view import (
    EMG_FLAG_LABELS,
    EMG_SIGN_LABELS,
    EXAM_SIGN_LABELS,
    REGION_LABELS,
    record_tables,
)
from alscare.web.revision_view import past_revision, past_revision_context, requested_revision
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

__all__ = [
    "NOTICE",
    "PAGE_HEADERS",
    "VISIT_KINDS",
    "MaybeUser",
    "PageUser",
    "Posted",
    "error_page",
    "has_gastrostomy",
    "page_errors",
    "render",
    "require_role",
    "router",
]

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
NOTICE: Final = "notice"
# Pages hold patient data: never cached, never framed, no script at all, forms post here only.
PAGE_HEADERS: Final = {
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


# --- rendering -------------------------------------------------------------------------------


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("alscare.web", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Labels, numbers and marks as every view words them (alscare.presentation).
    environment.filters["num"] = lambda value, digits=1: number(value, digits=digits)
    environment.filters["yesno"] = yes_no
    environment.filters["stage"] = stage
    environment.filters["clinical"] = clinical_text
    environment.globals["encals_caveat"] = ENCALS_CAVEAT
    environment.globals["encals_not_applicable"] = ENCALS_NOT_APPLICABLE
    environment.globals["encals_inputs"] = encals_inputs
    environment.globals["factor_groups"] = factor_groups
    environment.globals["unverified_meaning"] = UNVERIFIED_MEANING
    environment.globals["static_url"] = lambda name: f"/static/{name}?v={__version__}"
    return environment


@cache
def _templates() -> Jinja2Templates:
    """The page templates (package data), loaded on first use."""
    return Jinja2Templates(env=_environment())


class _KbText:
    """The topic section titles of a knowledge base (its labels: alscare.presentation)."""

    def __init__(self, kb: KnowledgeBase) -> None:
        document = topic_document(kb, as_of=None, section=None)
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


def _labeller(kb: KnowledgeBase | None) -> Callable[[object], str]:
    """``label(id)``: the label of an id of any kind (``words.label(kind, id)`` when the
    template knows the kind)."""
    return wording(kb).any_label


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
        "notice": request.session.pop(NOTICE, None),
        "nav": None,
        "knowledge_version": kb.version if kb is not None else None,
        "label": _labeller(kb),
        "words": wording(kb),
    }
    return _templates().TemplateResponse(
        request,
        template,
        {**base, **context},
        status_code=status_code,
        headers=PAGE_HEADERS,
    )


def error_page(request: Request, status_code: int, title: str, message: str) -> Response:
    """A plain error page (403, 404, ...) that never shows patient data; whoever is logged in
    keeps the navigation of every page."""
    user = session_user(request, request.app.state.database)
    return _templates().TemplateResponse(
        request,
        "error.html",
        {
            "user": SessionUser(user) if user is not None else None,
            "logged_in": user is not None,
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
        headers=PAGE_HEADERS,
    )


def _redirect(path: str) -> Response:
    return RedirectResponse(path, status_code=303)


@contextmanager
def page_errors() -> Iterator[None]:
    """Service refusals as error pages rather than the API's JSON problems."""
    try:
        yield
    except NotFoundError as error:
        raise PageError(404, "Not found", str(error)) from None
    except services.PermissionDeniedError as error:
        raise PageError(403, "Not allowed", str(error)) from None


def require_role(user: User, role: Role) -> None:
    if not user.role.allows(role):
        raise PageError(
            403,
            "Not allowed",
            f"This page needs {_an(role)} account. You are logged in as {user.username}, "
            f"with {_an(user.role)} account.",
        )


def _an(role: Role) -> str:
    return f"{'an' if role.value[0] in 'aeiou' else 'a'} {role.value}"


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
async def login(
    request: Request,
    form: Posted,
    database: DatabaseDep,
    settings: SettingsDep,
    guard: LoginGuardDep,
) -> Response:
    """Log in: throttled by client (web/login_guard.py), the same answer for unknown names."""
    username, password = form.get("username", ""), form.get("password", "")
    target = _safe_next(form.get("next"))
    try:
        user = await guard.attempt(
            lambda: authenticate(database, username, password, channel=Channel.PAGES),
            database,
            client=client_address(request),
            username=username,
            channel=Channel.PAGES,
        )
    except LoginThrottledError as error:
        message = str(error)
        error_text = f"{message[:1].upper()}{message[1:]}."
        context = {"next": target, "username": username, "error": error_text}
        return render(request, "login.html", context, user=None, status_code=429)
    except AuthenticationError:
        context = {"next": target, "username": username, "error": "Wrong username or password."}
        return render(request, "login.html", context, user=None, status_code=401)
    await run_in_threadpool(log_in, request, database, user, settings)
    return _redirect(target)


@router.post("/logout")
def logout(request: Request, database: DatabaseDep) -> Response:
    """End the session on the server, so that no copy of the cookie opens a page again."""
    log_out(request, database)
    return _redirect("/login")


# --- patients --------------------------------------------------------------------------------


@router.get("/patients")
def patient_list(
    request: Request,
    user: PageUser,
    database: DatabaseDep,
    kb: KnowledgeDep,
    q: str = "",
    page: int = 1,
) -> Response:
    """A page of patients, each with the stage, latest scores and what is due today."""
    search, page, day = q.strip()[:64], limits.clamped_page(page), services.today()
    with page_errors():
        patients = clinic.patient_summaries(
            database,
            page_actor(user),
            as_of=day,
            kb=kb,
            search=search or None,
            offset=(page - 1) * clinic.PATIENT_PAGE,
        )
    context = {
        "patients": [lists.patient_row(patient, kb) for patient in patients],
        "q": search,
        "page": page,
        "more": len(patients) == clinic.PATIENT_PAGE,
        "as_of": day,
        "nav": "patients",
    }
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
    require_role(user, Role.CLINICIAN)
    return _new_patient_page(request, user, kb, {}, {})


@router.post("/patients/new")
def create_patient(
    request: Request, values: Posted, user: PageUser, database: DatabaseDep, kb: KnowledgeDep
) -> Response:
    require_role(user, Role.CLINICIAN)
    try:
        record = forms.new_patient(values, today=services.today())
        with page_errors():
            confirmed = forms.confirmed_fields(values)
            services.create_patient(database, page_actor(user), record, confirmed=confirmed)
    except RecordError as error:
        return _new_patient_page(request, user, kb, values, forms.field_errors(error))
    except services.ConflictError:
        errors = {"id": "a patient with this id already exists"}
        return _new_patient_page(request, user, kb, values, errors)
    request.session[NOTICE] = f"Patient {record.id} created."
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
    revision: str | None = None,
) -> Response:
    actor = page_actor(user)
    asked = requested_revision(revision)  # a past revision: its record, read-only
    past = past_revision(database, actor, patient_id, asked)
    day = _as_of(as_of) if as_of or past is None else past.day
    with _refused_date(), page_errors():
        record = services.read_patient(database, actor, patient_id, revision=asked).record
        assessment = services.assess_patient(
            database, actor, patient_id, as_of=day, kb=kb, revision=asked
        )
    trials = fitting_trials(record, assessment, kb=kb)
    cited = dict.fromkeys((*assessment.cited_sources(), *(s for t in trials for s in t.sources)))
    context = {
        "record": record,
        "assessment": assessment,
        "trials": trials,
        "as_of": day,
        "today": services.today(),
        "age": age_text(record, day),
        "charts": _charts(record, day, kb),
        "record_tables": record_tables(record, day, _labeller(kb)),
        "references": [kb.source(source_id) for source_id in cited if _known(kb, source_id)],
        "visit_kinds": [(segment, title) for segment, (_, title) in VISIT_KINDS.items()],
        "decisions": decision_alerts(kb),
        "answers": ANSWERS,
        "latest": _latest_entries(record, day),
        "topic_sections": _kb_text(kb).section_titles,
        "nav": "patients",
        **past_revision_context(user, past),
    }
    return render(request, "patient.html", context, user=user, kb=kb)


@contextmanager
def _refused_date() -> Iterator[None]:
    """An assessment date the app does not assess this patient on (alscare.assessment_dates),
    as an error page that says why."""
    try:
        yield
    except RecordError as error:
        message = "; ".join(problem.reason for problem in error.problems)
        raise PageError(422, "Not an assessment date", message) from None


@router.get("/patients/{patient_id}/letter")
def letter_page(
    patient_id: str,
    user: PageUser,
    database: DatabaseDep,
    kb: KnowledgeDep,
    as_of: str | None = None,
    output: Annotated[LetterFormat, FORMAT] = LetterFormat.HTML,
) -> Response:
    """The clinic letter the patient page's "Letter" button opens (web/letters.py)."""
    day = _as_of(as_of)
    with _refused_date(), page_errors():
        return letter_response(database, page_actor(user), patient_id, day, kb, output)


@router.get("/patients/{patient_id}/flowsheet")
def flowsheet_page(
    request: Request,
    patient_id: str,
    user: PageUser,
    database: DatabaseDep,
    kb: KnowledgeDep,
    as_of: str | None = None,
) -> Response:
    """The visits up to the date as a table and charts (web/flowsheet.py)."""
    day = _as_of(as_of)
    actor = page_actor(user)
    with _refused_date(), page_errors():
        sheet = services.patient_flowsheet(database, actor, patient_id, as_of=day, kb=kb)
        record = services.get_patient(database, actor, patient_id)
    context = {
        "record": record,
        "view": flowsheet_view(sheet, record, kb),
        "columns": FLOWSHEET_COLUMNS,
        "domains": FLOWSHEET_DOMAINS,
        "unverified_legend": UNVERIFIED_LEGEND,
        "as_of": day,
        "today": services.today(),
        "nav": "patients",
    }
    return render(request, "flowsheet.html", context, user=user, kb=kb)


@router.get("/worklist")
def worklist_page(
    request: Request,
    user: PageUser,
    database: DatabaseDep,
    kb: KnowledgeDep,
    as_of: str | None = None,
    kind: str = "",
) -> Response:
    """What is due across all patients on the date, longest due first (alscare.clinic)."""
    day = _as_of(as_of)
    refused = clinic.unknown_kind(kb, kind or None)
    if refused:
        raise PageError(422, "Not a kind of due item", refused)
    with _refused_date(), page_errors():
        work = clinic.worklist(database, page_actor(user), as_of=day, kb=kb, kind=kind or None)
    context = {
        "worklist": work,
        "rows": [lists.work_row(item) for item in work.items],
        "kinds": clinic.follow_up_kinds(kb),
        "kind": kind,
        "as_of": day,
        "today": services.today(),
        "nav": "worklist",
    }
    return render(request, "worklist.html", context, user=user, kb=kb)


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
        values["item_5_form"] = "5b" if has_gastrostomy(record, today, kb) else "5a"
    elif kind is EntryKind.RESPIRATORY:
        values["paco2_unit"] = "kpa"
    return values


def has_gastrostomy(record: PatientRecord, today: dt.date, kb: KnowledgeBase) -> bool:
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
    require_role(user, Role.CLINICIAN)
    kind, _ = _visit_kind(segment)
    with page_errors():
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
    require_role(user, Role.CLINICIAN)
    kind, heading = _visit_kind(segment)
    actor = page_actor(user)
    try:
        with page_errors():
            entry = forms.entry_from_form(kind, values)
            _store(database, actor, patient_id, kind, entry, forms.confirmed_fields(values))
    except RecordError as error:
        with page_errors():
            record = services.get_patient(database, actor, patient_id)
        return _visit_page(request, user, kb, record, segment, values, forms.field_errors(error))
    request.session[NOTICE] = f"{heading} saved."
    return _redirect(f"/patients/{patient_id}")


def _store(
    database: Database,
    actor: Actor,
    patient_id: str,
    kind: EntryKind,
    entry: dict[str, Any],
    confirmed: frozenset[str],
) -> None:
    """Add the entry to its series (with the unlikely values the form confirms)."""
    parsed = services.parse_entry(kind.value, entry)
    services.add_entry(database, actor, patient_id, kind.value, parsed, confirmed=confirmed)


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
    require_role(user, Role.ADMIN)
    chosen = AuditAction(action) if action in {a.value for a in AuditAction} else None
    page = limits.clamped_page(page)
    with page_errors():
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
