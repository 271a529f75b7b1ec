"""``Idempotency-Key`` on the API's writes: a retried POST, PUT or PATCH is answered, not redone.

A client that cannot tell whether a write arrived (the connection dropped, the answer timed
out) sends it again with the same key, and gets the answer to the first one instead of a
second entry. The rules:

* A key is 1 to 200 visible ASCII characters (a UUID is a good one), and belongs to the account
  that sent it: two accounts never share a key.
* The same key with the same method, path and body is answered with the stored answer of the
  first request: its status, body, ``ETag`` and ``Location``, plus ``Idempotency-Replayed:
  true``. Nothing is written again and nothing more is audited (the write was, once).
* The same key with another body, method or path is refused, 422 naming the header.
* The answer is stored in the write's own transaction (``services.write_receipt``), so a write
  and the answer to its retries are stored together or not at all. A refused request stores no
  answer: its retry is judged afresh.
* Two requests with one key at the same moment: one stores; the other's write rolls back when
  it meets the first one's key, and it is answered as a retry of the first.

Keys are kept with the account's answers (``idempotency_keys``); a client uses a new key for
each new write. Every write of patient data takes a key (``POST /patients``, ``PATCH`` and
``PUT /patients/{id}``, ``POST /patients/{id}/<series>``, ``POST /import``); the ``/auth``
routes do not: a login makes a new token each time, a logout is idempotent by itself, and a
retried password change fails safe (the current password has changed).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass
from typing import Annotated, Any, Final

from fastapi import Depends, Header, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from alscare import services
from alscare.errors import Problem, RecordError
from alscare.services import ConflictError, StoredRecord, WriteOutcome
from alscare.storage.database import Database
from alscare.storage.repository import record_json
from alscare.storage.tables import IdempotencyKeyRow
from alscare.web.deps import DatabaseDep, TokenUser
from alscare.web.preconditions import etag

__all__ = [
    "IDEMPOTENCY_KEY",
    "IDEMPOTENCY_KEY_POINTER",
    "Idempotent",
    "IdempotentRoute",
    "KeyHeader",
    "idempotent_write",
]

IDEMPOTENCY_KEY: Final = "Idempotency-Key"
IDEMPOTENCY_KEY_POINTER: Final = f"/header/{IDEMPOTENCY_KEY}"
_REPLAYED: Final = "Idempotency-Replayed"
_JSON: Final = "application/json"

KeyHeader = Annotated[
    str | None,
    Header(
        alias=IDEMPOTENCY_KEY,
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description=(
            "a key of your choice (1-200 visible ASCII characters, e.g. a UUID) that makes a "
            "retry of this write safe: the same key with the same body is answered with the "
            "first answer and writes nothing; with another body it is refused (422)"
        ),
    ),
]


@dataclass(frozen=True)
class _Request:
    """What identifies a keyed write: whose key, which key, and what was sent."""

    username: str
    key: str
    method: str
    path: str
    body_sha256: str

    def same_as(self, row: IdempotencyKeyRow) -> bool:
        return (self.method, self.path, self.body_sha256) == (
            row.method,
            row.path,
            row.body_sha256,
        )


class _Replay(Exception):  # noqa: N818 - not an error: the answer, found early
    """Raised by the dependency to answer with a stored answer instead of the route."""

    def __init__(self, response: Response) -> None:
        super().__init__("a stored answer")
        self.response = response


class _KeyTaken(ConflictError):
    """A request with the same key stored its answer while this one was writing."""

    def __init__(self, request: _Request) -> None:
        super().__init__(f"a request with this {IDEMPOTENCY_KEY} was answered meanwhile")
        self.request = request


async def idempotent_write(
    request: Request,
    database: DatabaseDep,
    user: TokenUser,
    key: KeyHeader = None,
) -> None:
    """Answer a retry with its stored answer, refuse a key reused for another request, or
    have the write store its answer (see the module docstring)."""
    if key is None:
        services.write_receipt.set(None)
        return
    keyed = _Request(
        username=user.username,
        key=key,
        method=request.method,
        path=request.url.path,
        body_sha256=hashlib.sha256(await request.body()).hexdigest(),
    )
    stored = await run_in_threadpool(_stored_answer, database, keyed)
    if stored is not None:
        raise _Replay(stored)
    route = request.scope.get("route")
    services.write_receipt.set(_Receipt(keyed, _success_status(route), _response_model(route)))


#: The dependency, for ``dependencies=[Idempotent]`` of a write route.
Idempotent: Final = Depends(idempotent_write)


class IdempotentRoute(APIRoute):
    """A route that can answer with a stored answer (the router's ``route_class``)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answered(request: Request) -> Response:
            try:
                return await handler(request)
            except _Replay as replay:
                return replay.response
            except _KeyTaken as taken:
                database: Database = request.app.state.database
                stored = await run_in_threadpool(_stored_answer, database, taken.request)
                if stored is None:  # pragma: no cover - a stored key is never deleted
                    raise
                return stored

        return answered


def _stored_answer(database: Database, keyed: _Request) -> Response | None:
    """The stored answer to this request; RecordError (422) when its key was used for
    another request; None when the key is new."""
    with database.transaction(write=False) as session:
        row = session.scalar(
            select(IdempotencyKeyRow).where(
                IdempotencyKeyRow.username == keyed.username, IdempotencyKeyRow.key == keyed.key
            )
        )
    if row is None:
        return None
    if not keyed.same_as(row):
        reason = (
            "this key was used for another request (another body, method or path): "
            "use a new key for a new write"
        )
        raise RecordError([Problem(IDEMPOTENCY_KEY_POINTER, reason)])
    headers = {**json.loads(row.headers), _REPLAYED: "true"}
    return Response(row.body, status_code=row.status, headers=headers, media_type=_JSON)


def _success_status(route: object) -> int:
    """The status the route answers a write with (201 for a create, else 200)."""
    status = getattr(route, "status_code", None)
    return status if isinstance(status, int) else 200


def _response_model(route: object) -> type[BaseModel] | None:
    model = getattr(route, "response_model", None)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


@dataclass(frozen=True)
class _Receipt:
    """Stores the answer to a keyed write in the write's transaction (a services receipt)."""

    request: _Request
    status: int
    response_model: type[BaseModel] | None  # how the route words an answer that is no record

    def __call__(self, session: Session, outcome: WriteOutcome) -> None:
        body, headers = self._answer(outcome)
        values = {**asdict(self.request), "status": self.status, "created_at": _now()}
        try:
            session.execute(
                insert(IdempotencyKeyRow).values(**values, headers=json.dumps(headers), body=body)
            )
        except IntegrityError:
            raise _KeyTaken(self.request) from None

    def _answer(self, outcome: WriteOutcome) -> tuple[str, dict[str, str]]:
        """The body and headers the route answers ``outcome`` with: a record as the API
        words one (its JSON, ETag, and Location when created), anything else in the route's
        response model (the import's summary)."""
        if isinstance(outcome, StoredRecord):
            record = outcome.record
            headers = {"ETag": etag(outcome.revision)}
            if self.status == 201:
                headers["Location"] = f"/api/v1/patients/{record.id}"
            return outcome.json or record_json(record), headers
        if self.response_model is None:  # pragma: no cover - every write route has one
            raise TypeError("a keyed write route without a response model")
        return self.response_model.model_validate(asdict(outcome)).model_dump_json(), {}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
