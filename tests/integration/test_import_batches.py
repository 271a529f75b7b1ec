"""A long import leaves the app answering, an interrupted one leaves whole batches and is safe to
run again, and two concurrent replacing imports give one result on both backends (issue 11:
``alscare db import`` of 20,000 records on SQLite made the app answer 503 for 150 s)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from alscare import services
from alscare.storage.database import Database
from alscare.storage.tables import AuditEventRow, PatientRow
from tests.conftest_server import Backend, LiveServer

# Enough records for many batches (services.IMPORT_BATCH_RECORDS each).
RECORDS = 12 * services.IMPORT_BATCH_RECORDS
# The long import: enough batches that reads land between them on a loaded machine too (one
# read and two counts per turn of the loop, a few milliseconds).
LONG_IMPORT_RECORDS = 40 * services.IMPORT_BATCH_RECORDS


def _records(prefix: str, count: int = RECORDS) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{prefix}-{number:05d}",
            "sex": "female" if number % 2 else "male",
            "weights": [{"date": f"2024-0{month}-01", "kg": 60 + month} for month in (1, 2, 3)],
        }
        for number in range(count)
    ]


def _jsonl(tmp_path: Path, records: list[dict[str, Any]]) -> Path:
    path = tmp_path / "records.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


def _import_process(backend: Backend, path: Path, *options: str) -> subprocess.Popen[bytes]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ALSCARE_")}
    env["ALSCARE_DATABASE_URL"] = backend.url
    return subprocess.Popen(
        [sys.executable, "-m", "alscare", "db", "import", *options, str(path)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _stored(database: Database, prefix: str) -> int:
    with database.transaction(write=False) as session:
        query = select(func.count()).select_from(PatientRow).where(PatientRow.id.like(f"{prefix}%"))
        return int(session.scalar(query) or 0)


def test_the_app_answers_audited_reads_while_a_long_import_runs(
    live_server: LiveServer, backend: Backend, clinician: httpx.Client, tmp_path: Path
) -> None:
    records = _records("IMPB", LONG_IMPORT_RECORDS)
    assert clinician.post("/api/v1/patients", json={"id": "IMPB-SEEN"}).status_code == 201
    process = _import_process(backend, _jsonl(tmp_path, records))
    statuses: list[int] = []
    midway = 0  # reads answered while the import had stored some batches but not all
    while process.poll() is None:
        before = _stored(live_server.database, "IMPB-0")
        statuses.append(clinician.get("/api/v1/patients/IMPB-SEEN").status_code)  # audited
        midway += before > 0 and _stored(live_server.database, "IMPB-0") < LONG_IMPORT_RECORDS
    _, errors = process.communicate()
    assert process.returncode == 0, errors.decode()
    assert set(statuses) == {200}
    assert midway > 0
    assert _stored(live_server.database, "IMPB-0") == LONG_IMPORT_RECORDS


def test_an_import_killed_midway_leaves_whole_batches_and_runs_again_to_the_end(
    live_server: LiveServer, backend: Backend, tmp_path: Path
) -> None:
    database = live_server.database
    path = _jsonl(tmp_path, _records("IMPK"))
    process = _import_process(backend, path)
    while _stored(database, "IMPK") == 0:
        assert process.poll() is None, "the import ended before it could be interrupted"
    process.kill()  # SIGKILL: no cleanup runs
    process.communicate()
    left = _stored(database, "IMPK")
    assert 0 < left < RECORDS
    assert left % services.IMPORT_BATCH_RECORDS == 0  # whole batches, nothing half stored
    assert _audited_creates(database, "IMPK") == left
    rerun = _import_process(backend, path, "--replace")
    _, errors = rerun.communicate()
    assert rerun.returncode == 0, errors.decode()
    assert _stored(database, "IMPK") == RECORDS
    with database.transaction(write=False) as session:
        revisions = set(session.scalars(select(PatientRow.revision).where(_like("IMPK"))))
    assert revisions == {1}  # the records stored before the kill were not stored twice
    assert _audited_creates(database, "IMPK") == RECORDS


def _like(prefix: str) -> Any:
    return PatientRow.id.like(f"{prefix}%")


def _audited_creates(database: Database, prefix: str) -> int:
    with database.transaction(write=False) as session:
        query = (
            select(func.count())
            .select_from(AuditEventRow)
            .where(AuditEventRow.patient_id.like(f"{prefix}%"), AuditEventRow.action == "create")
        )
        return int(session.scalar(query) or 0)


def test_concurrent_replacing_imports_of_new_ids_give_one_creator_and_one_replacer(
    live_server: LiveServer,
) -> None:
    """The first import creates the patients, the second (serialised after it) replaces them;
    on PostgreSQL the second used to fail with 409 while SQLite replaced."""
    batches = [
        [{**record, "sex": sex} for record in _records("IMPR", 2 * services.IMPORT_BATCH_RECORDS)]
        for sex in ("female", "male")
    ]
    token = live_server.token("admin")

    def run(body: list[dict[str, Any]]) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=live_server.url, headers=headers, timeout=120) as client:
            return client.post("/api/v1/import", params={"replace": "true"}, json=body)

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(run, batches))
    assert [answer.status_code for answer in answers] == [201, 201]
    ids = [record["id"] for record in batches[0]]
    summaries = sorted((a.json()["created"], a.json()["replaced"]) for a in answers)
    assert summaries == [([], ids), (ids, [])]
    with live_server.database.transaction(write=False) as session:
        revisions = set(session.scalars(select(PatientRow.revision).where(_like("IMPR"))))
    assert revisions == {2}
