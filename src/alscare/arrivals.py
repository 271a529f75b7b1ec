"""Records that arrive from an EHR (a FHIR import, a SMART launch), stored as the patient they
belong to.

An arriving record belongs to the stored patient of the same id or, failing that, to the one
stored patient whose identity holds one of its identifiers (an EHR does not know alscare's ids,
but it knows the hospital number). It is stored as a new revision of that patient, under that
patient's id, or as a new patient when none matches. The parts of the record the EHR sent (its
weights, its medications, its identity, ...) replace the stored ones, with the reason given;
the parts it did not send (an examination typed in clinic) are kept, so an import never erases
what the clinic recorded. Every step goes through :mod:`alscare.services`, so roles, plausibility
checks, the audit trail and "nothing half-stored" hold as for any write.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from alscare import services
from alscare.schemas.patient import PatientRecord
from alscare.services import ConflictError, StoredRecord
from alscare.storage import repository
from alscare.storage.database import Database
from alscare.storage.security import Actor

__all__ = ["Arrival", "matching_patient", "store_arrival"]


@dataclass(frozen=True, slots=True)
class Arrival:
    """What storing an arriving record did: the stored record and whether it is a new patient."""

    stored: StoredRecord
    created: bool


def store_arrival(
    database: Database,
    actor: Actor,
    record: PatientRecord,
    *,
    reason: str,
    confirmed: Collection[str] = (),
) -> Arrival:
    """Store ``record`` as the patient it belongs to (see the module docstring); ConflictError
    when its identifiers belong to more than one stored patient. Clinicians and admins."""
    patient_id = matching_patient(database, record)
    if patient_id is None:
        created = services.create_patient(
            database, actor, record, confirmed=confirmed, reason=reason
        )
        return Arrival(StoredRecord(created, 1), created=True)
    sent = record.to_json_dict()
    changes = {name: value for name, value in sent.items() if name not in ("schema", "id")}
    updated = services.write_revision(
        database,
        actor,
        patient_id,
        lambda current: services.updated_record(current, changes, confirmed=confirmed),
        detail="imported " + ", ".join(sorted(changes)),
        reason=reason,
    )
    return Arrival(updated, created=False)


def matching_patient(database: Database, record: PatientRecord) -> str | None:
    """The id of the stored patient ``record`` belongs to (see the module docstring), None when
    there is none; ConflictError when its identifiers belong to several."""
    numbers = record.identity.identifiers if record.identity else ()
    with database.transaction(write=False) as session:
        if repository.patient_exists(session, record.id):
            return record.id
        matches = repository.patients_holding(session, [(n.system, n.value) for n in numbers])
    if len(matches) > 1:
        listed = ", ".join(sorted(matches))
        raise ConflictError(f"the record's identifiers belong to several patients: {listed}")
    return next(iter(matches), None)
