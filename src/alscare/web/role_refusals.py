"""A role refused on a patient's route is audited as a refused attempt on that patient.

The services audit every refusal they meet; a role is refused before any service is called (a
viewer posting a visit, say), so the adapters audit that refusal here, in a transaction of its
own, before the 403 is answered.
"""

from __future__ import annotations

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from alscare import services
from alscare.errors import AlscareError
from alscare.storage.database import Database
from alscare.storage.security import Actor

__all__ = ["audit_role_refusal"]


async def audit_role_refusal(
    request: Request, database: Database, actor: Actor, error: AlscareError
) -> None:
    """Audit ``error`` for the patient of the request's path, when it names one."""
    patient_id = request.path_params.get("patient_id")
    if not isinstance(patient_id, str):
        return
    attempt = f"{request.method} {_route(request)} refused"
    await run_in_threadpool(services.audit_refusal, database, actor, patient_id, attempt, error)


def _route(request: Request) -> str:
    """The route template, never the path with its ids (an id may be anything)."""
    route = request.scope.get("route")
    return str(getattr(route, "path", "a patient route"))
