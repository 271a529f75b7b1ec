"""CDS Hooks benchmark: ``patient-view`` calls with a full prefetch against a real server, the
p50/p95/p99 latency and the errors.

    .venv/bin/python bench/cds_hooks.py                          # 2,000 calls, one client
    .venv/bin/python bench/cds_hooks.py --requests 500 --clients 4

What an EHR does when a clinician opens a chart: ``POST /cds-services/alscare-patient-view``
with the patient's record as FHIR in the prefetch (the example records, exported with
``record_resources``) and a signed JWT (ES384, a fresh ``jti`` each call). The server is
``alscare serve`` as a process in production mode on a fresh SQLite file, trusting one client
whose JWKS is a file, so every call is the whole work: the JWT verified, the prefetch read by
the FHIR import, the engine, the cards and the audit row. The JWTs and bodies are made before
the clock starts; answers are checked for status 200 and then dropped, never kept. After a
warm-up, ``--clients`` connections send ``--requests`` calls, each the next as soon as the last
is answered. One client by default: an EHR sends one call when a chart opens and waits for it,
so the target is the latency of a call, not of a queue (with more clients than cores, the
latency is mostly the queue). Target: p99 under 100 ms on loopback, no errors.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Final

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: make ``bench.api`` importable

from bench.api import server  # noqa: E402

from alscare import parse_record_json  # noqa: E402
from alscare.interop.cds_hooks import PREFETCH  # noqa: E402
from alscare.interop.fhir.record_out import record_resources  # noqa: E402

ISSUER: Final = "https://ehr.bench.example.org"
KID: Final = "bench-key"
PATH: Final = "/cds-services/alscare-patient-view"
TARGET_P99_MS: Final = 100.0
WARM_UP: Final = 50
_KEYS: Final = {PREFETCH[key].split("?")[0]: key for key in PREFETCH if key != "patient"}


def hook_bodies() -> list[str]:
    """One patient-view call per example record, as JSON text."""
    bodies = []
    for path in sorted((ROOT / "examples").glob("*.json")):
        patient, *others = record_resources(parse_record_json(path.read_text()))
        prefetch: dict[str, Any] = {"patient": patient}
        for key in _KEYS.values():
            prefetch[key] = {"resourceType": "Bundle", "type": "searchset", "entry": []}
        for resource in others:
            prefetch[_KEYS[resource["resourceType"]]]["entry"].append({"resource": resource})
        call = {
            "hook": "patient-view",
            "hookInstance": str(uuid.uuid5(uuid.NAMESPACE_URL, path.name)),
            "context": {"userId": "Practitioner/bench", "patientId": patient["id"]},
            "prefetch": prefetch,
        }
        bodies.append(json.dumps(call))
    return bodies


class Signer:
    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP384R1())

    def jwks(self) -> str:
        public = json.loads(jwt.get_algorithm_by_name("ES384").to_jwk(self.key.public_key()))
        return json.dumps({"keys": [{**public, "kid": KID, "alg": "ES384", "use": "sig"}]})

    def tokens(self, audience: str, count: int) -> list[str]:
        now = int(dt.datetime.now(dt.UTC).timestamp())
        claims = {"iss": ISSUER, "sub": "bench", "aud": audience, "iat": now, "exp": now + 290}
        headers = {"kid": KID, "typ": "JWT"}
        return [
            jwt.encode({**claims, "jti": str(uuid.uuid4())}, self.key, "ES384", headers=headers)
            for _ in range(count)
        ]


def _server(folder: Path, jwks: str) -> contextlib.AbstractContextManager[str]:
    """The app in production mode, trusting the benchmark's one CDS client."""
    (folder / "jwks.json").write_text(jwks)
    trusted = {"ALSCARE_CDS_CLIENTS": json.dumps({ISSUER: str(folder / "jwks.json")})}
    return server(f"sqlite:///{folder}/bench.db", settings=trusted)


async def send(
    base: str, bodies: list[str], tokens: list[str], clients: int
) -> tuple[list[float], int]:
    """Send every call from ``clients`` connections; the latencies (ms) and the errors."""
    queue = list(zip(tokens, (bodies[i % len(bodies)] for i in range(len(tokens))), strict=True))
    latencies: list[float] = []
    errors = 0

    async def client() -> None:
        nonlocal errors
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            while queue:
                token, body = queue.pop()
                headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
                started = time.perf_counter()
                answer = await http.post(PATH, content=body, headers=headers)
                latencies.append((time.perf_counter() - started) * 1000)
                errors += answer.status_code != 200  # the answer is dropped here

    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, errors


def report(latencies: list[float], errors: int, seconds: float) -> list[str]:
    ordered = sorted(latencies)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    p50, p95, p99 = statistics.median(ordered), cuts[94], cuts[98]
    verdict = "meets" if p99 < TARGET_P99_MS and not errors else "MISSES"
    return [
        f"patient-view with prefetch: {len(ordered)} calls, {errors} errors, "
        f"{len(ordered) / seconds:.1f} calls/s",
        f"  p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   p99 {p99:6.1f} ms   max {ordered[-1]:6.1f} ms"
        f"   ({verdict} p99 < {TARGET_P99_MS:.0f} ms, 0 errors)",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=1)
    args = parser.parse_args()
    bodies = hook_bodies()
    sizes = ", ".join(f"{len(body) / 1024:.0f} kB" for body in bodies)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; prefetch bodies: {sizes}")
    signer = Signer()
    with tempfile.TemporaryDirectory() as folder, _server(Path(folder), signer.jwks()) as base:
        tokens = signer.tokens(base + PATH, WARM_UP + args.requests)
        asyncio.run(send(base, bodies, tokens[:WARM_UP], args.clients))
        started = time.perf_counter()
        latencies, errors = asyncio.run(send(base, bodies, tokens[WARM_UP:], args.clients))
        seconds = time.perf_counter() - started
    for line in report(latencies, errors, seconds):
        print(line)


if __name__ == "__main__":
    main()
