"""API benchmark: requests per second and p50/p99 latency of the assessment endpoint,
``GET /api/v1/patients/{id}/assessment?as_of=...``, with 32 concurrent clients on loopback.

    .venv/bin/python bench/api.py                        # SQLite and PostgreSQL, 3,000 requests
    .venv/bin/python bench/api.py --backend sqlite --requests 1000 --clients 16

For each backend it makes a fresh database (a SQLite file in a temporary directory; a new
schema in the PostgreSQL ``test`` database at 127.0.0.1:5432, dropped afterwards), stores the
example records and a synthetic cohort (bench/cohort.py) through the services, and starts the
real server as a process (``alscare serve``, one worker, production mode). An asyncio client
(httpx) logs in once, warms up, then sends a bounded number of requests from ``--clients``
concurrent connections, spread over the patients, and stops by itself (after ``--requests`` or
``--max-seconds``). Every request is a real one: token check, audit row, record rebuilt from
the tables or its cached copy, engine, canonical JSON. Target: p99 under 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: make ``bench.cohort`` importable

from bench.cohort import AS_OF, cohort_records  # noqa: E402

from alscare import parse_record  # noqa: E402
from alscare.demo import demo_records  # noqa: E402
from alscare.services import add_user, import_records  # noqa: E402
from alscare.storage.database import Database  # noqa: E402
from alscare.storage.security import Actor, Channel, Role  # noqa: E402

TARGET_P99_MS = 50.0
POSTGRES = os.environ.get("ALSCARE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
SECRET = "bench-secret-key-long-enough-for-production-0123"
PASSWORD = "bench password 1234"
SEEDER = Actor("bench", Role.ADMIN, Channel.CLI)


@dataclass(frozen=True)
class Result:
    backend: str
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    def line(self) -> str:
        lat = sorted(self.latencies_ms)
        p50 = statistics.median(lat)
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        verdict = "meets" if p99 < TARGET_P99_MS else "MISSES"
        return (
            f"{self.backend:<16} {self.requests:>6} req {self.errors:>4} errors "
            f"{self.requests / self.seconds:>8.1f} req/s   p50 {p50:6.1f} ms   "
            f"p99 {p99:6.1f} ms   max {lat[-1]:6.1f} ms   ({verdict} p99 < {TARGET_P99_MS:.0f} ms)"
        )


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
def server(url: str, workers: int) -> Iterator[str]:
    """``alscare serve`` as a process on a free loopback port, until the block ends."""
    port = free_port()
    env = {**os.environ, "ALSCARE_DATABASE_URL": url, "ALSCARE_SECRET_KEY": SECRET}
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


async def _request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> int:
    """One HTTP/1.1 request on a kept-alive connection; the status code (body read, dropped)."""
    writer.write(head)
    await writer.drain()
    status_line = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return int(status_line.split()[1])


async def load(
    base: str,
    ids: list[str],
    *,
    requests: int,
    clients: int,
    warm_up: int,
    max_seconds: float,
    vary_date: bool,
) -> tuple[list[float], int, float]:
    """Latencies (ms), errors and seconds of ``requests`` requests from ``clients`` connections.

    A minimal HTTP/1.1 client on asyncio streams keeps the client's own CPU use small, since
    client and server share this machine's cores. ``vary_date`` gives every request its own
    ``as_of``, so none is answered from the assessment cache.
    """
    login = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": "bench", "password": PASSWORD}
    )
    token = login.json()["access_token"]
    host, port = base.removeprefix("http://").split(":")
    latencies: list[float] = []
    errors = 0
    counter = 0
    stop_at = 0.0

    def head(number: int) -> bytes:
        patient = ids[number % len(ids)]
        as_of = AS_OF - dt.timedelta(days=number % 3650 if vary_date else 0)
        return (
            f"GET /api/v1/patients/{patient}/assessment?as_of={as_of} HTTP/1.1\r\n"
            f"Host: {host}:{port}\r\nAuthorization: Bearer {token}\r\n\r\n"
        ).encode()

    async def worker(total: int, record: bool) -> None:
        nonlocal counter, errors
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while counter < total and time.perf_counter() < stop_at:
                number = counter
                counter += 1
                started = time.perf_counter()
                status = await _request(reader, writer, head(number))
                if record:
                    latencies.append((time.perf_counter() - started) * 1000)
                    errors += status != 200
        finally:
            writer.close()
            await writer.wait_closed()

    stop_at = time.perf_counter() + max_seconds
    await asyncio.gather(*(worker(warm_up, False) for _ in range(clients)))
    counter = 0 if not vary_date else warm_up
    started = time.perf_counter()
    stop_at = started + max_seconds
    await asyncio.gather(*(worker(counter + requests, True) for _ in range(clients)))
    return latencies, errors, time.perf_counter() - started


def run(backend: str, options: argparse.Namespace) -> list[Result]:
    make_url = sqlite_url if backend == "sqlite" else postgres_url
    results = []
    with make_url() as url:
        ids = seed(url, options.patients)
        with server(url, options.workers) as base:
            for label, vary_date in (("cached", False), ("engine", True)):
                latencies, errors, seconds = asyncio.run(
                    load(
                        base,
                        ids,
                        requests=options.requests,
                        clients=options.clients,
                        warm_up=options.warm_up,
                        max_seconds=options.max_seconds,
                        vary_date=vary_date,
                    )
                )
                results.append(
                    Result(f"{backend} {label}", len(latencies), errors, seconds, latencies)
                )
    return results


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--patients", type=int, default=200, help="synthetic patients stored")
    parser.add_argument("--warm-up", type=int, default=300)
    parser.add_argument("--max-seconds", type=float, default=120.0)
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    options = parser.parse_args(argv)
    backends = ["sqlite", "postgres"] if options.backend == "both" else [options.backend]
    print(
        f"GET /api/v1/patients/{{id}}/assessment?as_of={AS_OF}: {options.clients} concurrent "
        f"clients, {options.requests} requests, {options.patients + 4} patients, "
        f"{options.workers} server process(es), {os.cpu_count()} CPUs shared with the client"
    )
    for backend in backends:
        for result in run(backend, options):
            print(result.line(), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
