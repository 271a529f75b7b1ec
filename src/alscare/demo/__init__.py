"""Demo data for ``alscare serve --demo``: the example patients, dated as if seen lately, and two
demo accounts.

The records in ``demo/records/`` are copies of the repository's ``examples/`` (a test keeps them
identical). Seeding stores each example patient once (patients already there are left alone:
delete the demo database to start afresh), with every date of its record, the birth date
included, moved by the same number of days so that its latest entry is
:data:`LATEST_ENTRY_DAYS_AGO` days before the day the demo starts: the patients open as a clinic
sees them between visits, not years overdue, and their ages, intervals and courses are those of
the examples. It gives the ``demo`` clinician account and the ``demo-admin`` admin account
(which sees the audit trail) a fresh random password on every start, which the server prints.
Development use only: ``--demo`` also switches the server to development mode.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final

from alscare.errors import NotFoundError
from alscare.schemas.patient import PatientRecord
from alscare.schemas.records import parse_record, parse_record_json
from alscare.services import add_user, import_records, set_password
from alscare.storage import repository
from alscare.storage.database import Database
from alscare.storage.security import Actor, Channel, Role

__all__ = [
    "DEMO_ADMIN_USERNAME",
    "DEMO_USERNAME",
    "LATEST_ENTRY_DAYS_AGO",
    "DemoAccount",
    "dated_for",
    "demo_records",
    "seed_demo",
]

DEMO_USERNAME: Final = "demo"
DEMO_ADMIN_USERNAME: Final = "demo-admin"
LATEST_ENTRY_DAYS_AGO: Final = 21
_SEEDER: Final = Actor(username="alscare-demo-seed", role=Role.ADMIN, channel=Channel.CLI)
_ISO_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: Role


def demo_records() -> list[PatientRecord]:
    """The example records shipped with the package, by file name, with their own dates."""
    folder = resources.files("alscare.demo") / "records"
    files = sorted(
        (item for item in folder.iterdir() if item.name.endswith(".json")),
        key=lambda item: item.name,
    )
    return [parse_record_json(item.read_text(encoding="utf-8")) for item in files]


def dated_for(record: PatientRecord, today: dt.date) -> PatientRecord:
    """The record with every date moved by one offset, so that its latest entry falls
    :data:`LATEST_ENTRY_DAYS_AGO` days before ``today`` (a record without entries as it is)."""
    entries = [when for _, when in record.dated_entries()]
    if not entries:
        return record
    offset = today - dt.timedelta(days=LATEST_ENTRY_DAYS_AGO) - max(entries)
    return parse_record(_shifted(record.to_json_dict(), offset))


def _shifted(node: Any, offset: dt.timedelta) -> Any:
    """JSON data with every ISO date moved by ``offset`` (a record's only full-date strings are
    its dates)."""
    if isinstance(node, dict):
        return {key: _shifted(value, offset) for key, value in node.items()}
    if isinstance(node, list):
        return [_shifted(item, offset) for item in node]
    if isinstance(node, str) and _ISO_DATE.fullmatch(node):
        return (dt.date.fromisoformat(node) + offset).isoformat()
    return node


def seed_demo(
    database: Database, *, today: dt.date, clinician_password: str, admin_password: str
) -> tuple[DemoAccount, DemoAccount]:
    """Store the example patients that are not stored yet, dated for ``today``, and set the
    demo accounts up; returns the clinician's account and the admin's."""
    with database.transaction(write=False) as session:
        stored = set(repository.stored_ids(session))
    missing = [dated_for(record, today) for record in demo_records() if record.id not in stored]
    if missing:
        import_records(database, _SEEDER, missing)
    return (
        _account(database, DEMO_USERNAME, clinician_password, Role.CLINICIAN),
        _account(database, DEMO_ADMIN_USERNAME, admin_password, Role.ADMIN),
    )


def _account(database: Database, username: str, password: str, role: Role) -> DemoAccount:
    try:
        set_password(database, _SEEDER, username, password)
    except NotFoundError:
        add_user(database, _SEEDER, username, password, role)
    return DemoAccount(username=username, password=password, role=role)
