"""API benchmark: mixed read and write traffic from 32 concurrent clients on loopback, the
p50/p99 latency of each kind of request and the errors.

    .venv/bin/python bench/api.py                        # SQLite and PostgreSQL, 3,000 requests
    .venv/bin/python bench/api.py --backend sqlite --requests 1000 --clients 16
    .venv/bin/python bench/api.py --writes 0 --vary-date # reads only, none from the cache

The traffic is what a clinic sends: reads of a patient page (``GET /patients/{id}``, the HTML
page with its assessment, through a logged-in session) and of an assessment
(``GET /api/v1/patients/{id}/assessment?as_of=...``, bearer token), and writes of a visit's
weight (``POST /api/v1/patients/{id}/weights``, a new revision of the record), mixed at random
from one seeded generator (``--writes``: the share of writes, 20 % by default; the reads are
half pages, half assessments), on patients drawn at random. A write makes a new revision, so
the next read of that patient runs the engine again rather than answering from the cache.
By default every client sends its next request as soon as the last is answered, so 32 requests
are always waiting and the latency is mostly the queue (Little's law: 32 clients divided by the
requests per second); ``--think-ms`` gives each client pauses between requests (at random, with that
mean), as a clinician reading the page makes, and so a load the server can keep up with.

For each backend it makes a fresh database (a SQLite file in a temporary directory; a new
schema in the PostgreSQL ``test`` database at 127.0.0.1:5432, dropped afterwards), stores the
example records and a synthetic cohort (alscare.cohort.synth) through the services, and starts the
real server as a process (``alscare serve``, ``--workers`` processes, production mode). A
minimal asyncio client logs in once (a bearer token and a page session), warms up, then sends
a bounded number of requests from ``--clients`` concurrent connections and stops by itself
(after ``--requests`` or ``--max-seconds``). Every request is a real one: session or token
check, audit row, record rebuilt from the tables or its cached copy, engine, canonical JSON or
the rendered page; every write is a transaction with its revision and audit row. Targets: p99
under 50 ms for reads, under 150 ms for writes, no errors (any answer but 200 to a read and
201 to a write).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final
from urllib.parse import quote

import httpx

from alscare import parse_record
from alscare.cohort.synth import AS_OF, cohort_records
from alscare.demo import demo_records
from alscare.services import add_user, import_records
from alscare.storage.database import Database
from alscare.storage.security import Actor, Channel, Role

POSTGRES = os.environ.get("ALSCARE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
SECRET = "bench-secret-key-long-enough-for-production-0123"
PASSWORD = "bench password 1234"
SEEDER = Actor("bench", Role.ADMIN, Channel.CLI)


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{folder}/bench.db"


@contextmanager
def postgres_url() -> Iterator[str]:
    import psycopg
    from sqlalchemy import make_url

    server = make_url(POSTGRES)
    conninfo = (
        f"host={server.host} port={server.port or 5432} "
        f"user={server.username or 'postgres'} dbname={server.database or 'test'}"
    )
    schema = f"alscare_bench_{os.getpid()}"
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            base = server.set(drivername="postgresql+psycopg").render_as_string(False)
            yield f"{base}?options={quote(f'-csearch_path={schema}')}"
        finally:
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def seed(url: str, patients: int) -> list[str]:
    """Store the examples and a synthetic cohort, and the bench account; return patient ids."""
    database = Database(url)
    database.upgrade()
    records = demo_records() + [parse_record(data) for data in cohort_records(patients)]
    import_records(database, SEEDER, records)
    add_user(database, SEEDER, "bench", PASSWORD, Role.CLINICIAN)
    database.dispose()
    return [record.id for record in records]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(url: str, workers: int = 1, settings: Mapping[str, str] | None = None) -> Iterator[str]:
    """``alscare serve`` as a process on a free loopback port, with these ``ALSCARE_*``
    settings besides the database, until the block ends."""
    port = free_port()
    env = {**os.environ, "ALSCARE_DATABASE_URL": url, "ALSCARE_SECRET_KEY": SECRET}
    env.update(settings or {})
    env["ALSCARE_ENV"] = "production"
    command = [sys.executable, "-m", "alscare", "serve", "--port", str(port)]
    command += ["--workers", str(workers)]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the server did not start") from None
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(30)


class Kind(StrEnum):
    PAGE = "read: patient page"
    ASSESSMENT = "read: assessment"
    WRITE = "write: weight"


#: The p99 target of each kind of request, in milliseconds.
TARGET_P99_MS: Final = {Kind.PAGE: 50.0, Kind.ASSESSMENT: 50.0, Kind.WRITE: 150.0}
_EXPECTED_STATUS: Final = {Kind.PAGE: 200, Kind.ASSESSMENT: 200, Kind.WRITE: 201}


@dataclass
class Measured:
    """The latencies (ms) and errors of one kind of request."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0


@dataclass(frozen=True)
class Result:
    backend: str
    seconds: float
    by_kind: dict[Kind, Measured]

    def lines(self) -> list[str]:
        total = sum(len(measured.latencies_ms) for measured in self.by_kind.values())
        lines = [f"{self.backend}: {total} requests, {total / self.seconds:.1f} req/s"]
        for kind, measured in self.by_kind.items():
            lat = sorted(measured.latencies_ms)
            if not lat:
                continue
            p50 = statistics.median(lat)
            p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
            target = TARGET_P99_MS[kind]
            verdict = "meets" if p99 < target and not measured.errors else "MISSES"
            lines.append(
                f"  {kind.value:<22} {len(lat):>6} req {measured.errors:>4} errors   "
                f"p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   max {lat[-1]:6.1f} ms   "
                f"({verdict} p99 < {target:.0f} ms, 0 errors)"
            )
        return lines


@dataclass(frozen=True)
class Login:
    """What the clients send to be who they are: the API's bearer token, the page's cookie."""

    token: str
    cookie: str

    @classmethod
    def of(cls, base: str) -> Login:
        token = httpx.post(
            f"{base}/api/v1/auth/token", data={"username": "bench", "password": PASSWORD}
        ).json()["access_token"]
        with httpx.Client(base_url=base) as page:
            html = page.get("/login").text
            csrf = html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            form = {"username": "bench", "password": PASSWORD, "csrf_token": csrf}
            if page.post("/login", data=form).status_code != 303:
                raise SystemExit("the bench account could not log in to the pages")
            cookie = "; ".join(f"{name}={value}" for name, value in page.cookies.items())
        return cls(token, cookie)


async def _request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> int:
    """One HTTP/1.1 request on a kept-alive connection; the status code (body read, dropped)."""
    writer.write(head)
    await writer.drain()
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionResetError("the server closed the connection")
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return int(status_line.split()[1])


@dataclass(frozen=True)
class Traffic:
    """The requests of one run: which kind each is, on which patient, with which bytes."""

    host: str
    ids: list[str]
    login: Login
    writes: float
    vary_date: bool
    seed: int = 20251203

    def plan(self, count: int) -> list[tuple[Kind, bytes]]:
        draw = random.Random(self.seed)
        plan = []
        for number in range(count):
            patient = draw.choice(self.ids)
            if draw.random() < self.writes:
                plan.append((Kind.WRITE, self._write(patient, draw)))
            else:
                kind = Kind.PAGE if draw.random() < 0.5 else Kind.ASSESSMENT
                as_of = AS_OF - dt.timedelta(days=number % 3650 if self.vary_date else 0)
                plan.append((kind, self._read(kind, patient, as_of)))
        return plan

    def _read(self, kind: Kind, patient: str, as_of: dt.date) -> bytes:
        if kind is Kind.PAGE:
            path, auth = f"/patients/{patient}", f"Cookie: {self.login.cookie}"
        else:
            path = f"/api/v1/patients/{patient}/assessment"
            auth = f"Authorization: Bearer {self.login.token}"
        return f"GET {path}?as_of={as_of} HTTP/1.1\r\nHost: {self.host}\r\n{auth}\r\n\r\n".encode()

    def _write(self, patient: str, draw: random.Random) -> bytes:
        # Today's weight; confirmed, since a cohort patient's last weight may be far from it.
        entry = {"date": dt.date.today().isoformat(), "kg": round(draw.uniform(55, 85), 1)}
        body = json.dumps(entry).encode()
        head = (
            f"POST /api/v1/patients/{patient}/weights?confirm=/kg HTTP/1.1\r\n"
            f"Host: {self.host}\r\nAuthorization: Bearer {self.login.token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body


async def load(
    base: str,
    traffic: Traffic,
    *,
    requests: int,
    clients: int,
    warm_up: int,
    max_seconds: float,
    think_seconds: float,
) -> tuple[dict[Kind, Measured], float]:
    """The latencies and errors by kind of ``requests`` requests from ``clients`` connections,
    after ``warm_up`` requests whose figures are dropped, and the seconds they took. Each
    client pauses after each answer for a time drawn at random with mean ``think_seconds``
    (exponentially, from a seeded generator), so the clients do not arrive in step.

    A minimal HTTP/1.1 client on asyncio streams keeps the client's own CPU use small, since
    client and server share this machine's cores.
    """
    host, port = base.removeprefix("http://").split(":")
    plan = traffic.plan(warm_up + requests)
    measured = {kind: Measured() for kind in Kind}
    position = 0

    pauses = random.Random(traffic.seed)

    def pause() -> float:
        return pauses.expovariate(1 / think_seconds) if think_seconds else 0.0

    async def worker(until: int, stop_at: float, record: bool) -> None:
        nonlocal position
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            await asyncio.sleep(pause())
            while position < until and time.perf_counter() < stop_at:
                kind, head = plan[position]
                position += 1
                started = time.perf_counter()
                try:
                    status = await _request(reader, writer, head)
                except ConnectionResetError:  # idle past the server's keep-alive: reconnect
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, int(port))
                    started = time.perf_counter()
                    status = await _request(reader, writer, head)
                if record:
                    measured[kind].latencies_ms.append((time.perf_counter() - started) * 1000)
                    measured[kind].errors += status != _EXPECTED_STATUS[kind]
                await asyncio.sleep(pause())
        finally:
            writer.close()
            await writer.wait_closed()

    warm_until = time.perf_counter() + max_seconds
    await asyncio.gather(*(worker(warm_up, warm_until, False) for _ in range(clients)))
    started = time.perf_counter()
    stop_at = started + max_seconds
    await asyncio.gather(*(worker(len(plan), stop_at, True) for _ in range(clients)))
    return measured, time.perf_counter() - started


def run(backend: str, options: argparse.Namespace) -> Result:
    make_url = sqlite_url if backend == "sqlite" else postgres_url
    with make_url() as url:
        ids = seed(url, options.patients)
        with server(url, options.workers) as base:
            host = base.removeprefix("http://")
            traffic = Traffic(host, ids, Login.of(base), options.writes, options.vary_date)
            measured, seconds = asyncio.run(
                load(
                    base,
                    traffic,
                    requests=options.requests,
                    clients=options.clients,
                    warm_up=options.warm_up,
                    max_seconds=options.max_seconds,
                    think_seconds=options.think_ms / 1000,
                )
            )
    return Result(f"{backend}, {options.workers} worker(s)", seconds, measured)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--patients", type=int, default=200, help="synthetic patients stored")
    parser.add_argument("--writes", type=float, default=0.2, help="the share of writes, 0 to 1")
    parser.add_argument("--vary-date", action="store_true", help="a new as_of on every read")
    parser.add_argument(
        "--think-ms", type=float, default=0.0, help="mean pause of a client between requests"
    )
    parser.add_argument("--warm-up", type=int, default=300)
    parser.add_argument("--max-seconds", type=float, default=120.0)
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    options = parser.parse_args(argv)
    backends = ["sqlite", "postgres"] if options.backend == "both" else [options.backend]
    print(
        f"{options.clients} concurrent clients, {options.requests} requests "
        f"({options.writes:.0%} writes), a mean pause of {options.think_ms:.0f} ms between a "
        "client's requests, "
        f"{options.patients + 4} patients, as_of {AS_OF}, "
        f"{options.workers} server process(es), {os.cpu_count()} CPUs shared with the client"
    )
    for backend in backends:
        for line in run(backend, options).lines():
            print(line, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
