"""kill -9 of a real ``alscare serve`` in the middle of a burst of writes, and of a real
``alscare db import`` midway through its records, on SQLite and PostgreSQL: after a restart
every acknowledged write is there, every stored revision reads as a whole record, each
patient's revisions run 1, 2, 3, ... without a gap, and every stored write has its audit row.

Each test is bounded: the kill comes after a number of acknowledged writes (or the first
committed part of an import), not after a time, and every wait has a deadline.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import httpx
import pytest
from sqlalchemy import func, make_url, select, text

from alscare import parse_record, parse_record_json, services
from alscare.storage.audit import AuditAction, audit_events
from alscare.storage.database import Database
from alscare.storage.security import Role
from alscare.storage.tables import AuditEventRow, PatientRevisionRow, PatientRow
from tests.conftest_server import ADMIN_ACTOR, PASSWORD, SECRET_KEY, Backend
from tests.integration.strategies import rating

CLIENTS: Final = 6
PATIENTS: Final = 3
ACKNOWLEDGED_BEFORE_KILL: Final = 40  # writes answered 201 in a round before the kill
ROUNDS: Final = 2  # kill, restart, write again, kill again
IMPORT_RECORDS: Final = 2_000
DEADLINE_SECONDS: Final = 60
_IMPORT_APPLICATION: Final = "alscare-crash-import"


def _environment(url: str) -> dict[str, str]:
    """The test's environment without any ALSCARE_ setting of the developer's shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALSCARE_")}
    env.update(
        {"ALSCARE_DATABASE_URL": url, "ALSCARE_SECRET_KEY": SECRET_KEY, "ALSCARE_ENV": "production"}
    )
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """``alscare serve`` as a process of its own, on the test's database."""

    url: str
    process: subprocess.Popen[bytes]
    tokens: dict[str, str] = field(default_factory=dict)

    @classmethod
    def start(cls, database_url: str, log: Path) -> Server:
        port = _free_port()
        command = [sys.executable, "-m", "alscare", "serve", "--port", str(port)]
        with log.open("ab") as stderr:  # the child keeps its own copy of the descriptor
            process = subprocess.Popen(
                command, env=_environment(database_url), stdout=subprocess.DEVNULL, stderr=stderr
            )
        server = cls(f"http://127.0.0.1:{port}", process)
        server._wait_until_answering(log)
        return server

    def _wait_until_answering(self, log: Path) -> None:
        deadline = time.monotonic() + DEADLINE_SECONDS
        while True:
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    output = log.read_text(encoding="utf-8", errors="replace")[-2000:]
                    raise RuntimeError(f"alscare serve did not start:\n{output}") from None
            time.sleep(0.1)

    def client(self, username: str) -> httpx.Client:
        """An HTTP client with the account's bearer token (one login per server and account:
        logins hash slowly on purpose)."""
        if username not in self.tokens:
            response = httpx.post(
                f"{self.url}/api/v1/auth/token",
                data={"username": username, "password": PASSWORD},
                timeout=30,
            )
            response.raise_for_status()
            self.tokens[username] = response.json()["access_token"]
        headers = {"Authorization": f"Bearer {self.tokens[username]}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def kill(self) -> None:
        """kill -9: no shutdown, no flush, no rollback by the server."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(DEADLINE_SECONDS)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(DEADLINE_SECONDS)


@pytest.fixture(scope="module")
def accounts(database: Database) -> Database:
    services.add_user(database, ADMIN_ACTOR, "clinician", PASSWORD, Role.CLINICIAN)
    return database


@pytest.fixture
def server(backend: Backend, accounts: Database) -> Iterator[list[Server]]:
    """The servers a test starts (the last one may still run): stopped at the end."""
    servers: list[Server] = []
    yield servers
    for started in servers:
        started.stop()


# A burst of writes ---------------------------------------------------------------------------


@dataclass
class Burst:
    """Clients writing weights as fast as the server answers, each write distinct, counting
    what the server acknowledged (201) and keeping any other answer."""

    patients: list[str]
    acknowledged: dict[str, set[tuple[str, float]]] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)
    count: int = 0
    _lock: threading.Condition = field(default_factory=threading.Condition)

    def run(self, server: Server, round_number: int) -> list[threading.Thread]:
        server.client("clinician").close()  # log in once, before the clients start
        threads = [
            threading.Thread(target=self._write, args=(server, round_number, n), daemon=True)
            for n in range(CLIENTS)
        ]
        for thread in threads:
            thread.start()
        return threads

    def _write(self, server: Server, round_number: int, client_number: int) -> None:
        patient_id = self.patients[client_number % len(self.patients)]
        first = dt.date(2000, 1, 1) + dt.timedelta(
            days=(round_number * CLIENTS + client_number) * 500
        )
        try:
            with server.client("clinician") as client:
                for n in range(400):
                    entry = {"date": (first + dt.timedelta(days=n)).isoformat(), "kg": 60 + n / 10}
                    response = client.post(
                        f"/api/v1/patients/{patient_id}/weights",
                        json=entry,
                        params={"confirm": "/kg"},
                    )
                    self._answered(patient_id, entry, response)
        except httpx.TransportError:
            return  # the server was killed: this write's outcome is unknown, and may be either

    def _answered(self, patient_id: str, entry: dict[str, Any], response: httpx.Response) -> None:
        with self._lock:
            if response.status_code == 201:
                self.acknowledged.setdefault(patient_id, set()).add((entry["date"], entry["kg"]))
                self.count += 1
                self._lock.notify_all()
            else:
                self.unexpected.append(f"{response.status_code} {response.text[:200]}")

    def wait_for(self, count: int) -> None:
        with self._lock:
            if not self._lock.wait_for(lambda: self.count >= count, DEADLINE_SECONDS):
                raise AssertionError(f"only {self.count} writes acknowledged, {count} awaited")


def test_server_killed_during_a_write_burst_loses_no_acknowledged_write(
    backend: Backend, accounts: Database, server: list[Server], tmp_path: Path
) -> None:
    patients = [f"CRASH-{n}" for n in range(PATIENTS)]
    log = tmp_path / "serve.log"
    server.append(Server.start(backend.url, log))
    with server[-1].client("clinician") as client:
        for patient_id in patients:
            assert client.post("/api/v1/patients", json={"id": patient_id}).status_code == 201
    burst = Burst(patients)
    for round_number in range(ROUNDS):
        threads = burst.run(server[-1], round_number)
        burst.wait_for(ACKNOWLEDGED_BEFORE_KILL * (round_number + 1))
        server[-1].kill()
        for thread in threads:
            thread.join(DEADLINE_SECONDS)
        server.append(Server.start(backend.url, log))
    assert burst.unexpected == []
    with server[-1].client("clinician") as client:
        for patient_id in patients:
            record = client.get(f"/api/v1/patients/{patient_id}").json()
            stored = {(weight["date"], weight["kg"]) for weight in record["weights"]}
            missing = burst.acknowledged.get(patient_id, set()) - stored
            assert missing == set(), f"{patient_id}: acknowledged but lost: {sorted(missing)}"
        # the database takes writes again: no lock was left held by the killed server
        response = client.post(
            f"/api/v1/patients/{patients[0]}/weights", json={"date": "2024-06-01", "kg": 61}
        )
        assert response.status_code == 201, response.text
    for patient_id in patients:
        _check_whole(accounts, patient_id)


def _check_whole(database: Database, patient_id: str) -> None:
    """Every revision reads as a record, they run 1..current, and each write after the first
    (which creates the patient) has its audit row: as many rows as writes, none more."""
    with database.transaction(write=False) as session:
        current = session.scalar(select(PatientRow.revision).where(PatientRow.id == patient_id))
        revisions = session.execute(
            select(PatientRevisionRow.revision, PatientRevisionRow.record)
            .where(PatientRevisionRow.patient_id == patient_id)
            .order_by(PatientRevisionRow.revision)
        ).all()
        updates = audit_events(
            session, patient_id=patient_id, action=AuditAction.UPDATE, limit=100_000
        )
    assert current is not None
    assert [number for number, _ in revisions] == list(range(1, current + 1)), patient_id
    for _, record in revisions:
        assert parse_record_json(record).id == patient_id
    assert len(updates) == current - 1, patient_id


# An import killed midway -----------------------------------------------------------------------


def _import_file(tmp_path: Path, prefix: str, count: int) -> tuple[Path, dict[str, Any]]:
    """A JSON Lines file of ``count`` small records, and the records by id as v2 JSON."""
    records = {
        f"{prefix}-{n:05d}": parse_record(
            {
                "id": f"{prefix}-{n:05d}",
                "sex": "female" if n % 2 else "male",
                "birth_date": "1960-05-01",
                "alsfrs_r": [rating("2024-01-10", walking=n % 5), rating("2024-04-10")],
                "weights": [{"date": "2024-01-10", "kg": 70 + n % 20}],
            }
        ).to_json_dict()
        for n in range(count)
    }
    path = tmp_path / f"{prefix}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records.values()), encoding="utf-8")
    return path, records


def _import(url: str, path: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "alscare", "db", "import", str(path)],
        env=_environment(url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _tagged(backend: Backend) -> str:
    """The URL with a name on PostgreSQL connections, to find the import's transactions."""
    if backend.name != "postgres":
        return backend.url
    url = make_url(backend.url)
    return url.update_query_dict({"application_name": _IMPORT_APPLICATION}).render_as_string(
        hide_password=False
    )


def _stored_ids(database: Database, prefix: str) -> list[str]:
    with database.transaction(write=False) as session:
        query = select(PatientRow.id).where(PatientRow.id.like(f"{prefix}-%"))
        return list(session.scalars(query.order_by(PatientRow.id)))


def _writing(backend: Backend, database: Database) -> bool:
    """Whether the import holds a transaction that has written and not yet committed."""
    if backend.name == "postgres":
        with database.engine.connect() as connection:
            open_writes = connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE application_name = :name AND backend_xid IS NOT NULL"
                ),
                {"name": _IMPORT_APPLICATION},
            ).scalar_one()
        return bool(open_writes)
    path = database.url.database
    assert path is not None
    probe = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")  # refused at once while another writer is at work
        probe.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        probe.close()


def _kill_midway(backend: Backend, database: Database, process: subprocess.Popen[bytes]) -> None:
    """Kill the import once part of it is committed and while it writes the next part."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    committed = False
    while process.poll() is None and time.monotonic() < deadline:
        committed = committed or bool(_stored_ids(database, "IMP"))
        if committed and _writing(backend, database):
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    process.wait(DEADLINE_SECONDS)
    stderr = process.stderr.read().decode() if process.stderr else ""
    assert process.returncode == -signal.SIGKILL, (
        f"the import was not killed midway (exit {process.returncode}): {stderr[:500]}"
    )


def test_import_killed_midway_leaves_only_whole_records(
    backend: Backend, accounts: Database, tmp_path: Path
) -> None:
    path, records = _import_file(tmp_path, "IMP", IMPORT_RECORDS)
    process = _import(_tagged(backend), path)
    try:
        _kill_midway(backend, accounts, process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()
    stored = _stored_ids(accounts, "IMP")
    assert 0 < len(stored) < IMPORT_RECORDS
    with accounts.transaction(write=False) as session:
        for patient_id in stored:
            rows = session.execute(
                select(PatientRevisionRow.revision, PatientRevisionRow.record).where(
                    PatientRevisionRow.patient_id == patient_id
                )
            ).all()
            assert [number for number, _ in rows] == [1], patient_id
            assert parse_record_json(rows[0].record).to_json_dict() == records[patient_id]
        created = session.execute(
            select(AuditEventRow.patient_id, func.count())
            .where(AuditEventRow.action == AuditAction.CREATE.value)
            .where(AuditEventRow.patient_id.like("IMP-%"))
            .group_by(AuditEventRow.patient_id)
        ).all()
    # one create row for each stored record, and none for a record that is not stored
    assert dict(created) == dict.fromkeys(stored, 1)
    _check_next_import_runs_to_the_end(backend, accounts, tmp_path)


def _check_next_import_runs_to_the_end(
    backend: Backend, database: Database, tmp_path: Path
) -> None:
    """Nothing the killed import held (the database's write lock, an import lock) is left
    held: the next import stores all of its records."""
    path, records = _import_file(tmp_path, "AFTER", 20)
    process = _import(backend.url, path)
    _, stderr = process.communicate(timeout=DEADLINE_SECONDS)
    assert process.returncode == 0, stderr.decode()
    assert _stored_ids(database, "AFTER") == sorted(records)
