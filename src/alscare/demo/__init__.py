"""Demo data for ``alscare serve --demo``: the example patients and a demo clinician account.

The records in ``demo/records/`` are copies of the repository's ``examples/`` (a test keeps them
identical). Seeding stores each example patient once (patients already there are left alone)
and gives the ``demo`` clinician account a fresh random password on every start, which the
server prints. Development use only: ``--demo`` also switches the server to development mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Final

from alscare.errors import NotFoundError
from alscare.schemas.patient import PatientRecord
from alscare.schemas.records import parse_record_json
from alscare.services import add_user, import_records, set_password
from alscare.storage import repository
from alscare.storage.database import Database
from alscare.storage.security import Actor, Channel, Role

__all__ = ["DEMO_USERNAME", "DemoAccount", "demo_records", "seed_demo"]

DEMO_USERNAME: Final = "demo"
_SEEDER: Final = Actor(username="demo-seed", role=Role.ADMIN, channel=Channel.CLI)


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str


def demo_records() -> list[PatientRecord]:
    """The example records shipped with the package, by file name."""
    folder = resources.files("alscare.demo") / "records"
    files = sorted(
        (item for item in folder.iterdir() if item.name.endswith(".json")),
        key=lambda item: item.name,
    )
    return [parse_record_json(item.read_text(encoding="utf-8")) for item in files]


def seed_demo(database: Database, password: str) -> DemoAccount:
    """Store the example patients that are not stored yet and set the demo account up."""
    with database.transaction(write=False) as session:
        stored = set(repository.stored_ids(session))
    missing = [record for record in demo_records() if record.id not in stored]
    if missing:
        import_records(database, _SEEDER, missing)
    try:
        set_password(database, _SEEDER, DEMO_USERNAME, password)
    except NotFoundError:
        add_user(database, _SEEDER, DEMO_USERNAME, password, Role.CLINICIAN)
    return DemoAccount(username=DEMO_USERNAME, password=password)
