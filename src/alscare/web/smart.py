"""SMART on FHIR EHR launch (App Launch 2.x) of the patient page: ``/smart/launch`` and
``/smart/callback`` (docs/smart.md).

``GET /smart/launch?iss=&launch=`` accepts only an EHR of ``ALSCARE_SMART_EHRS`` and sends the
browser to its authorisation server (``interop/smart.py`` does the protocol). The launch waits
in the browser's signed session cookie: a random ``state`` with its EHR and a 10-minute expiry,
taken out (single use) when the browser comes back. The PKCE verifier and the OpenID nonce are
HMACs of the state under the secret key, so they never leave the server and need no table.

``GET /smart/callback?code=&state=`` checks the state, exchanges the code, verifies the
id_token, reads the launch patient from the EHR's FHIR server, turns the resources into a record
(``interop.fhir.record_in``) and stores it as a revision of the patient it belongs to
(``arrivals.store_arrival``, reason "SMART launch from <iss>"), then logs the launching user in
(a page session, audited as a login) and sends them to ``/patients/<id>``.

The launching user is a local account of their own, one per EHR user: named
``<sub>.<digest>@<ehr name>`` from the id_token's ``sub`` and the digest of ``iss`` and
``sub``, made on their first launch with the EHR's configured role and a random password that
no one is told (so the account cannot log in by password). A name with ``@`` is the system's:
no account can be given one by hand, so no local account can be taken over by an EHR. From
then on it is an account like any other: an admin can change its role or disable it (a
disabled account's launches are refused). An EHR can give the clinician or viewer role, never
admin; a viewer's launch stores nothing and opens the patient as stored.

Every refusal (SMART not configured, an unknown ``iss``, a state this browser did not start, a
code or id_token not accepted, FHIR data that is not a record) is an error page naming what
failed, stores no record and starts no session; every refusal but "not configured" is
audited as a failed login.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Final
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.exc import IntegrityError

from alscare.arrivals import matching_patient, store_arrival
from alscare.errors import RecordError
from alscare.interop import smart
from alscare.interop.fhir.record_in import record_from_resources
from alscare.schemas.patient import PatientRecord
from alscare.services import ConflictError, PermissionDeniedError
from alscare.settings import Settings, SmartEhr
from alscare.storage.audit import AuditAction, record_event
from alscare.storage.database import Database
from alscare.storage.security import (
    Actor,
    Channel,
    Role,
    User,
    audit_login_event,
    find_account,
    hash_password,
    user_of,
)
from alscare.storage.tables import UserRow
from alscare.web.deps import DatabaseDep, SettingsDep
from alscare.web.pages import NOTICE
from alscare.web.session import PageError, log_in

__all__ = ["ACCOUNT_MAKER", "router", "smart_username"]

router = APIRouter(prefix="/smart", include_in_schema=False)

#: The audit trail's name for who makes an EHR user's account on their first launch.
ACCOUNT_MAKER: Final = "alscare-smart-launch"
_PENDING: Final = "smart_launches"
_LAUNCH_SECONDS: Final = 10 * 60
# Launches started in one browser and not yet back (several tabs); older ones are dropped.
_MAX_PENDING: Final = 4
_REFUSED: Final = "SMART launch refused"
_NOT_NAME: Final = re.compile(r"[^a-z0-9._-]+")

Param = Annotated[str | None, Query()]


@router.get("/launch")
def launch(
    request: Request,
    settings: SettingsDep,
    database: DatabaseDep,
    iss: Param = None,
    launch: Param = None,
) -> Response:
    """Start an EHR launch: on to the EHR's authorisation server."""
    base, ehr = _configured_ehr(settings, database, iss)
    if not launch:
        raise _refusal(database, 400, "launch", "the EHR sent no launch parameter")
    with _refusals(database, "SMART discovery"):
        endpoints = smart.discover(base)
    state = secrets.token_urlsafe(32)
    _remember(request, state, base)
    target = smart.authorize_url(
        endpoints,
        ehr,
        iss=base,
        launch=launch,
        redirect_uri=_redirect_uri(request),
        state=state,
        nonce=_derived(settings, "nonce", state),
        code_verifier=_derived(settings, "pkce", state),
    )
    return RedirectResponse(target, status_code=303)


@router.get("/callback")
def callback(
    request: Request,
    settings: SettingsDep,
    database: DatabaseDep,
    code: Param = None,
    state: Param = None,
    error: Param = None,
    error_description: Param = None,
) -> Response:
    """Finish an EHR launch: store the EHR's record, log the user in, open the patient."""
    _configured(settings)
    state, base = _take(request, database, state)
    ehr = settings.smart_ehrs.get(base)
    if ehr is None:
        raise _refusal(database, 400, "state", "the launch's EHR is no longer configured")
    if error or not code:
        said = f"{error} ({error_description})" if error_description else error
        why = f"the EHR's authorisation server answered {said}" if error else "no code came"
        raise _refusal(database, 400, "authorisation", why)
    with _refusals(database, "launch"):
        launched = smart.complete_launch(
            base,
            ehr,
            code=code,
            code_verifier=_derived(settings, "pkce", state),
            nonce=_derived(settings, "nonce", state),
            redirect_uri=_redirect_uri(request),
        )
    with _refusals(database, "FHIR data"):
        imported = record_from_resources(launched.resources)
    user = _ehr_account(database, base, ehr, launched.user)
    if not user.active:
        why = f"the account {user.username} is disabled"
        raise _refusal(database, 403, "account", why, username=user.username)
    patient_id, stored = _store(database, Actor.of(user, Channel.PAGES), imported.record, base)
    audit_login_event(
        database, user.username, Channel.PAGES, AuditAction.LOGIN, detail=_reason(base)
    )
    log_in(request, database, user, settings)
    request.session[NOTICE] = _notice(ehr, user, stored, len(imported.unmapped))
    return RedirectResponse(f"/patients/{quote(patient_id, safe='')}", status_code=303)


def _configured(settings: Settings) -> None:
    if not settings.smart_ehrs:
        raise PageError(
            404,
            "SMART launch is not configured",
            "SMART launch is not configured on this server (ALSCARE_SMART_EHRS is empty).",
        )


def _configured_ehr(
    settings: Settings, database: Database, iss: str | None
) -> tuple[str, SmartEhr]:
    _configured(settings)
    base = (iss or "").rstrip("/")
    ehr = settings.smart_ehrs.get(base)
    if ehr is None:
        named = f"the EHR {iss[:200]!r}" if iss else "an EHR that sent no iss"
        raise _refusal(database, 400, "iss", f"{named} is not configured for SMART launch")
    return base, ehr


def _refusal(
    database: Database, status: int, step: str, message: str, *, username: str = ""
) -> PageError:
    """The error page of a refused launch, audited as a failed login (of the account when it
    is known; the detail names the step only: a server's message is not for the audit trail)."""
    detail = f"{_REFUSED} at {step}"
    audit_login_event(database, username, Channel.PAGES, AuditAction.LOGIN_FAILED, detail=detail)
    return PageError(status, _REFUSED, f"{message[:1].upper()}{message[1:]}.")


@contextmanager
def _refusals(database: Database, step: str) -> Iterator[None]:
    """A failed protocol step (502: the EHR's side) or FHIR data that is no record (422)."""
    try:
        yield
    except smart.SmartError as error:
        raise _refusal(database, 502, error.step, str(error)) from None
    except RecordError as error:
        message = f"the EHR's FHIR data could not be read as a record ({_problems(error)})"
        raise _refusal(database, 422, step, message) from None


def _problems(error: RecordError) -> str:
    """The first problems of a refused record, each with where it is."""
    listed = "; ".join(f"{p.pointer or '/'}: {p.reason}" for p in error.problems[:5])
    return listed or str(error)


def _remember(request: Request, state: str, base: str) -> None:
    now = time.time()
    pending = {key: entry for key, entry in _pending(request).items() if entry[1] > now}
    pending[state] = (base, now + _LAUNCH_SECONDS)
    newest = sorted(pending.items(), key=lambda item: item[1][1])[-_MAX_PENDING:]
    _keep(request, dict(newest))


def _take(request: Request, database: Database, state: str | None) -> tuple[str, str]:
    """The state and EHR base of this browser's launch with ``state``, which is used up."""
    pending = _pending(request)
    entry = pending.pop(state, None) if state else None
    _keep(request, pending)
    if state is None or entry is None or entry[1] <= time.time():
        why = "the state is not one of a launch started in this browser in the last 10 minutes"
        raise _refusal(database, 400, "state", why)
    return state, entry[0]


def _pending(request: Request) -> dict[str, tuple[str, float]]:
    """The launches this browser started, by state: (EHR base, expiry as a Unix time)."""
    value = request.session.get(_PENDING)
    entries = value.items() if isinstance(value, dict) else ()
    return {
        state: (str(entry[0]), float(entry[1]))
        for state, entry in entries
        if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[1], int | float)
    }


def _keep(request: Request, pending: dict[str, tuple[str, float]]) -> None:
    request.session[_PENDING] = {state: list(entry) for state, entry in pending.items()}


def _redirect_uri(request: Request) -> str:
    return str(request.url_for("callback"))


def _derived(settings: Settings, purpose: str, state: str) -> str:
    """A secret of the launch (PKCE verifier, nonce): 43 URL-safe characters that only the
    server, which holds the key, can make from the state."""
    mac = hmac.new(settings.signing_key().encode(), f"smart-{purpose}\0{state}".encode(), "sha256")
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")


def _reason(base: str) -> str:
    return f"SMART launch from {base}"


def smart_username(ehr: SmartEhr, base: str, sub: str) -> str:
    """The local account of the EHR user ``sub`` (see the module docstring): at most 64
    characters, readable in the audit trail, one per (iss, sub)."""
    digest = hashlib.sha256(f"{base}\n{sub}".encode()).hexdigest()[:10]
    readable = _NOT_NAME.sub("-", sub.lower()).strip("-._")[:36] or "user"
    return f"{readable}.{digest}@{ehr.name}"


def _ehr_account(database: Database, base: str, ehr: SmartEhr, user: smart.EhrUser) -> User:
    username = smart_username(ehr, base, user.sub)
    found = _account(database, username)
    if found is not None:
        return found
    unusable = hash_password(secrets.token_urlsafe(32))  # no one knows it: no password login
    now = dt.datetime.now(dt.UTC)
    try:
        with database.transaction() as session:
            row = UserRow.new(username, unusable, ehr.role, now)
            session.add(row)
            session.flush()
            record_event(
                session,
                at=now,
                username=ACCOUNT_MAKER,
                role="",
                channel=Channel.PAGES,
                action=AuditAction.USER_ADDED,
                detail=f"{username} ({ehr.role}) on a first {_reason(base)}",
            )
    except IntegrityError:
        pass  # a first launch of the same user in another tab made it meanwhile
    made = _account(database, username)
    assert made is not None, "the account was just made"
    return made


def _account(database: Database, username: str) -> User | None:
    with database.transaction(write=False) as session:
        row = find_account(session, username)
        return None if row is None else user_of(row)


def _store(
    database: Database, actor: Actor, record: PatientRecord, base: str
) -> tuple[str, int | None]:
    """The id of the patient the record belongs to and the revision stored (None: a viewer's
    launch, which stores nothing and opens the patient the record belongs to, if stored)."""
    try:
        if not actor.role.allows(Role.CLINICIAN):
            return _stored_patient(database, actor, record), None
        arrival = store_arrival(database, actor, record, reason=_reason(base))
    except (ConflictError, PermissionDeniedError) as error:
        raise _refusal(database, 409, "store", str(error), username=actor.username) from None
    except RecordError as error:
        why = f"the EHR's record was not stored ({_problems(error)})"
        raise _refusal(database, 422, "store", why, username=actor.username) from None
    return arrival.stored.record.id, arrival.stored.revision


def _stored_patient(database: Database, actor: Actor, record: PatientRecord) -> str:
    """The stored patient a viewer's launch opens: the one the record belongs to (same id or
    hospital number), or a 404 refusal saying a viewer cannot store it."""
    patient_id = matching_patient(database, record)
    if patient_id is None:
        why = (
            f"the patient {record.id} is not stored in alscare, and a viewer account "
            "cannot store the record the EHR sent"
        )
        raise _refusal(database, 404, "store", why, username=actor.username)
    return patient_id


def _notice(ehr: SmartEhr, user: User, stored: int | None, unmapped: int) -> str:
    parts = [f"Opened from the EHR {ehr.name} (SMART launch) as {user.username}."]
    if stored is None:
        parts.append("The EHR's record was not stored: a viewer account stores nothing.")
    else:
        parts.append(f"The EHR's record is stored as revision {stored}.")
    if unmapped:
        parts.append(f"{unmapped} part(s) of the EHR's data could not be used.")
    return " ".join(parts)
