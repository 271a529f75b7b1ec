"""The CDS Hooks service over real HTTP: a uvicorn server of the clinic app (production mode, on
SQLite and PostgreSQL) called by a small CDS client of our own (httpx, signing its JWTs), and a
real HTTP server in a thread playing the EHR's FHIR server and serving one client's JWKS.

Covered: discovery; both hooks from a prefetch made of the example records as FHIR (the FHIR
export, ``record_resources``); the FHIR-server path with its bearer token; refusals of bad
requests naming the field; feedback stored and shown to admins only; the JWT checks (good with
ES384 from a JWKS file and RS384 from a JWKS URL, expired, unknown issuer, bad signature, wrong
aud, replayed, none); the development off-switch; CORS on ``/cds-services`` only.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from alscare import KnowledgeBase, PatientRecord, services
from alscare.interop.cds_hooks import PREFETCH
from alscare.interop.fhir.record_out import record_resources
from alscare.schemas.common import LabValue
from alscare.schemas.vocabulary import Jurisdiction
from alscare.storage.audit import audit_events
from alscare.storage.database import Database
from alscare.web.app import create_app
from tests.conftest import example
from tests.conftest_server import (
    ACCOUNTS,
    ADMIN_ACTOR,
    PASSWORD,
    Backend,
    serve_in_thread,
    server_settings,
)

FILE_ISSUER: Final = "https://ehr-one.example.org"  # ES384, its JWKS in a file
URL_ISSUER: Final = "https://ehr-two.example.org"  # RS384, its JWKS at a URL
ORIGIN: Final = "https://ehr.example.org"
PATIENT_VIEW: Final = "/cds-services/alscare-patient-view"
ORDER_SELECT: Final = "/cds-services/alscare-order-select"
FHIR_TOKEN: Final = "fhir-access-token-0123456789"
# The prefetch key of each resource type the FHIR export writes besides the Patient.
KEYS: Final = {PREFETCH[key].split("?")[0]: key for key in PREFETCH if key != "patient"}
EXAMPLES: Final = (
    "P-0001-limb-onset",
    "P-0002-bulbar-onset",
    "P-0003-conduction-block",
    "P-0004-sod1-late",
)


# --- the EHR: its signing keys, its FHIR server, its CDS client ------------------------------


@dataclass(frozen=True)
class Signer:
    issuer: str
    key: Any
    algorithm: str
    kid: str

    def jwks(self) -> dict[str, Any]:
        algorithm = jwt.get_algorithm_by_name(self.algorithm)
        public = json.loads(algorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "alg": self.algorithm, "use": "sig"}]}

    def token(self, audience: str, **claims: Any) -> str:
        now = int(dt.datetime.now(dt.UTC).timestamp())
        body = {"iss": self.issuer, "sub": "ehr-client", "aud": audience, "iat": now}
        body |= {"exp": now + 240, "jti": str(uuid.uuid4()), **claims}
        return jwt.encode(body, self.key, self.algorithm, headers={"kid": self.kid, "typ": "JWT"})


@dataclass
class FhirServer:
    """Answers GETs from ``routes`` (path and query -> JSON) and keeps each Authorization."""

    url: str = ""
    routes: dict[str, Any] = field(default_factory=dict)
    authorizations: list[str | None] = field(default_factory=list)


def _handler(fhir: FhirServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fhir.authorizations.append(self.headers.get("Authorization"))
            found = fhir.routes.get(self.path.lstrip("/"))
            body = json.dumps(found).encode()
            self.send_response(200 if found is not None else 404)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture(scope="module")
def fhir_server() -> Iterator[FhirServer]:
    fhir = FhirServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fhir))
    fhir.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield fhir
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def signers() -> dict[str, Signer]:
    return {
        FILE_ISSUER: Signer(FILE_ISSUER, ec.generate_private_key(ec.SECP384R1()), "ES384", "k1"),
        URL_ISSUER: Signer(URL_ISSUER, rsa.generate_private_key(65537, 2048), "RS384", "k2"),
    }


@dataclass
class CdsServer:
    url: str
    database: Database

    def post(
        self,
        path: str,
        body: Any,
        signer: Signer | None,
        audience: str | None = None,
        **claims: Any,
    ) -> httpx.Response:
        headers = {}
        if signer is not None:
            token = signer.token(audience or self.url + path, **claims)
            headers["Authorization"] = f"Bearer {token}"
        return httpx.post(self.url + path, json=body, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def cds_server(
    backend: Backend,
    database: Database,
    kb: KnowledgeBase,
    signers: dict[str, Signer],
    fhir_server: FhirServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[CdsServer]:
    jwks_file = tmp_path_factory.mktemp("jwks") / "ehr-one.json"
    jwks_file.write_text(json.dumps(signers[FILE_ISSUER].jwks()))
    fhir_server.routes["jwks.json"] = signers[URL_ISSUER].jwks()
    clients = {FILE_ISSUER: str(jwks_file), URL_ISSUER: f"{fhir_server.url}/jwks.json"}
    settings = server_settings(backend.url, cds_clients=clients, ehr_origins=[ORIGIN])
    for username, role in ACCOUNTS.items():
        services.add_user(database, ADMIN_ACTOR, username, PASSWORD, role)
    for url in serve_in_thread(create_app(settings, database=database, kb=kb)):
        yield CdsServer(url, database)


@pytest.fixture(scope="module")
def signer(signers: dict[str, Signer]) -> Signer:
    return signers[FILE_ISSUER]


# --- requests made of the example records --------------------------------------------------


def prefetch(record: PatientRecord) -> tuple[str, dict[str, Any]]:
    """The record as the prefetch of our services: the Patient and a searchset of each kind."""
    patient, *others = record_resources(record)
    found: dict[str, Any] = {"patient": patient}
    for key in KEYS.values():
        found[key] = {"resourceType": "Bundle", "type": "searchset", "entry": []}
    for resource in others:
        found[KEYS[resource["resourceType"]]]["entry"].append({"resource": resource})
    return str(patient["id"]), found


def hook_call(hook: str, record: PatientRecord, **context: Any) -> dict[str, Any]:
    patient_id, values = prefetch(record)
    return {
        "hook": hook,
        "hookInstance": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{hook}/{record.id}")),
        "context": {"userId": "Practitioner/example", "patientId": patient_id, **context},
        "prefetch": values,
    }


def draft_orders(*medications: str) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "MedicationRequest",
                    "id": f"draft-{index}",
                    "status": "draft",
                    "intent": "order",
                    "medicationCodeableConcept": {"text": medication},
                }
            }
            for index, medication in enumerate(medications)
        ],
    }


def topics(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [card["source"]["topic"]["code"] for card in answer.json()["cards"]]


def _nulls(node: object, pointer: str = "") -> Iterator[str]:
    if node is None:
        yield pointer
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in items:
        yield from _nulls(child, f"{pointer}/{key}")


# --- discovery ---------------------------------------------------------------------------------


def test_cds_hooks_discovery_lists_both_services_with_their_prefetch(cds_server: CdsServer) -> None:
    answer = httpx.get(f"{cds_server.url}/cds-services", timeout=30)
    assert answer.status_code == 200
    listed = {service["id"]: service for service in answer.json()["services"]}
    assert {key: service["hook"] for key, service in listed.items()} == {
        "alscare-patient-view": "patient-view",
        "alscare-order-select": "order-select",
    }
    for service in listed.values():
        assert service["prefetch"]["patient"] == "Patient/{{context.patientId}}"
        assert service["prefetch"]["observations"] == "Observation?patient={{context.patientId}}"
        assert service["title"] and service["description"]


def test_cds_hooks_prefetch_asks_for_every_resource_type_of_the_export() -> None:
    for name in EXAMPLES:
        patient, *others = record_resources(example(name, version=2))
        assert patient["resourceType"] == "Patient"
        assert {resource["resourceType"] for resource in others} <= KEYS.keys()


# --- patient-view ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", EXAMPLES)
def test_cds_hooks_patient_view_answers_alerts_then_recommendations(
    cds_server: CdsServer, signer: Signer, name: str
) -> None:
    body = hook_call("patient-view", example(name, version=2))
    first = cds_server.post(PATIENT_VIEW, body, signer)
    codes = topics(first)
    assert codes and all(code.startswith(("alert/", "recommendation/")) for code in codes)
    assert codes == sorted(codes, key=lambda code: not code.startswith("alert/"))
    cards = first.json()["cards"]
    assert list(_nulls(first.json())) == []
    assert all(len(card["summary"]) < 140 for card in cards)
    assert all(card["links"][0]["url"] == f"{cds_server.url}/smart/launch" for card in cards)
    again = cds_server.post(PATIENT_VIEW, body, signer).json()["cards"]
    assert [card["uuid"] for card in again] == [card["uuid"] for card in cards]


def test_cds_hooks_patient_view_from_the_fhir_server_sends_its_bearer_token(
    cds_server: CdsServer, signer: Signer, fhir_server: FhirServer
) -> None:
    body = hook_call("patient-view", example("P-0004-sod1-late", version=2))
    patient = body["context"]["patientId"]
    for key, template in PREFETCH.items():
        fhir_server.routes[template.replace("{{context.patientId}}", patient)] = body["prefetch"][
            key
        ]
    from_prefetch = cds_server.post(PATIENT_VIEW, body, signer)
    fhir_server.authorizations.clear()
    fetched = {**body, "fhirServer": fhir_server.url}
    fetched |= {"fhirAuthorization": {"access_token": FHIR_TOKEN, "token_type": "Bearer"}}
    fetched["prefetch"] = {"patient": body["prefetch"]["patient"]}  # the rest is fetched
    from_server = cds_server.post(PATIENT_VIEW, fetched, signer)
    assert from_server.json() == from_prefetch.json()
    assert fhir_server.authorizations == [f"Bearer {FHIR_TOKEN}"] * (len(PREFETCH) - 1)


def test_cds_hooks_fhir_server_that_fails_is_answered_502_naming_the_query(
    cds_server: CdsServer, signer: Signer, fhir_server: FhirServer
) -> None:
    body = hook_call("patient-view", example("P-0001-limb-onset", version=2))
    body |= {"fhirServer": f"{fhir_server.url}/nowhere", "prefetch": None}
    answer = cds_server.post(PATIENT_VIEW, body, signer)
    assert answer.status_code == 502
    assert "answered 404 to Patient/" in answer.json()["detail"]


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        (lambda body: body["context"].pop("patientId"), "/context/patientId"),
        (lambda body: body["context"].update(patientId="no spaces"), "/context/patientId"),
        (lambda body: body["prefetch"].update(patient={"id": "x"}), "/prefetch/patient"),
        (lambda body: body["prefetch"]["patient"].update(id="other"), "/prefetch/patient"),
        (lambda body: body["prefetch"].pop("observations"), "/prefetch/observations"),
        (lambda body: body["prefetch"]["conditions"].update(entry=[7]), "/prefetch/conditions"),
        (lambda body: body.update(hook="order-select"), "/hook"),
        (lambda body: body.pop("hookInstance"), "/body/hookInstance"),
    ],
    ids=[
        "no patientId",
        "bad patientId",
        "not a resource",
        "other patient",
        "missing key",
        "bad entry",
        "wrong hook",
        "no hookInstance",
    ],
)
def test_cds_hooks_invalid_request_is_422_naming_the_field(
    cds_server: CdsServer, signer: Signer, change: Any, pointer: str
) -> None:
    body = hook_call("patient-view", example("P-0002-bulbar-onset", version=2))
    change(body)
    answer = cds_server.post(PATIENT_VIEW, body, signer)
    assert answer.status_code == 422, answer.text
    assert any(p["pointer"].startswith(pointer) for p in answer.json()["problems"])


def test_cds_hooks_unknown_service_is_404(cds_server: CdsServer, signer: Signer) -> None:
    body = hook_call("patient-view", example("P-0002-bulbar-onset", version=2))
    assert cds_server.post("/cds-services/nothing", body, signer).status_code == 404


# --- order-select ------------------------------------------------------------------------------


def _with_labs(record: PatientRecord, *labs: LabValue) -> PatientRecord:
    return record.model_copy(update={"labs": (*record.labs, *labs)})


def test_cds_hooks_order_select_of_riluzole_answers_its_liver_monitoring(
    cds_server: CdsServer, signer: Signer
) -> None:
    record = example("P-0002-bulbar-onset", version=2)
    body = hook_call("order-select", record, draftOrders=draft_orders("riluzole 50 mg tablets"))
    codes = topics(cds_server.post(ORDER_SELECT, body, signer))
    assert "recommendation/riluzole_liver_monitoring" in codes
    assert not any(code.startswith("recommendation/tofersen") for code in codes)


def test_cds_hooks_order_select_of_riluzole_with_bad_liver_and_neutrophils_alerts(
    cds_server: CdsServer, signer: Signer
) -> None:
    on = dt.date(2026, 11, 2)
    record = _with_labs(
        example("P-0002-bulbar-onset", version=2),
        LabValue(id="alt", date=on, value=240, unit="U/L", upper_limit=40),
        LabValue(id="neutrophils", date=on, value=0.9, unit="10^9/L", lower_limit=1.8),
    )
    body = hook_call("order-select", record, draftOrders=draft_orders("Rilutek"))
    answer = cds_server.post(ORDER_SELECT, body, signer)
    codes = topics(answer)
    assert codes[:2] == ["alert/riluzole_hepatotoxicity", "alert/riluzole_neutropenia"]
    assert all(answer.json()["cards"][i]["indicator"] == "critical" for i in (0, 1))
    stop = next(
        c
        for c in answer.json()["cards"]
        if c["source"]["topic"]["code"] == "recommendation/riluzole"
    )
    [withdraw] = stop["suggestions"]
    assert withdraw["actions"] == [
        {
            "type": "delete",
            "description": "Remove the draft order of Riluzole",
            "resourceId": ["MedicationRequest/draft-0"],
        }
    ]


def test_cds_hooks_order_select_repeat_order_answers_like_a_first_one(
    cds_server: CdsServer, signer: Signer
) -> None:
    taking = example("P-0001-limb-onset", version=2)  # on riluzole already
    assert any("riluzole" in m.name.lower() for m in taking.medications)
    body = hook_call("order-select", taking, draftOrders=draft_orders("riluzole"))
    assert "recommendation/riluzole_liver_monitoring" in topics(
        cds_server.post(ORDER_SELECT, body, signer)
    )


@pytest.mark.parametrize(
    ("jurisdiction", "carded"), [(Jurisdiction.EU, True), (Jurisdiction.US, False)]
)
def test_cds_hooks_order_select_of_edaravone_checks_its_status_in_the_jurisdiction(
    cds_server: CdsServer, signer: Signer, jurisdiction: Jurisdiction, carded: bool
) -> None:
    record = example("P-0002-bulbar-onset", version=2).model_copy(
        update={"jurisdiction": jurisdiction}
    )
    body = hook_call("order-select", record, draftOrders=draft_orders("Radicava"))
    answer = cds_server.post(ORDER_SELECT, body, signer)
    cards = {c["source"]["topic"]["code"]: c for c in answer.json()["cards"]}
    assert ("alert/drug_not_authorised" in cards) is carded
    if carded:
        card = cards["alert/drug_not_authorised"]
        assert card["indicator"] == "info"
        assert "Edaravone in EU: not authorised" in card["detail"]


def test_cds_hooks_order_select_of_a_drug_the_knowledge_base_does_not_know_has_no_card(
    cds_server: CdsServer, signer: Signer
) -> None:
    record = example("P-0002-bulbar-onset", version=2)
    body = hook_call("order-select", record, draftOrders=draft_orders("paracetamol 500 mg"))
    assert topics(cds_server.post(ORDER_SELECT, body, signer)) == []


def test_cds_hooks_order_select_without_draft_orders_is_422(
    cds_server: CdsServer, signer: Signer
) -> None:
    body = hook_call("order-select", example("P-0002-bulbar-onset", version=2))
    answer = cds_server.post(ORDER_SELECT, body, signer)
    assert answer.status_code == 422
    assert [p["pointer"] for p in answer.json()["problems"]] == ["/context/draftOrders"]


# --- feedback ----------------------------------------------------------------------------------


@contextmanager
def _logged_in(server: CdsServer, username: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as page:
        html = page.get("/login").text
        marker = 'name="csrf_token" value="'
        start = html.index(marker) + len(marker)
        csrf = html[start : html.index('"', start)]
        form = {"username": username, "password": PASSWORD, "csrf_token": csrf}
        assert page.post("/login", data=form).status_code == 303
        yield page


def test_cds_hooks_feedback_is_stored_and_shown_to_admins_only(
    cds_server: CdsServer, signer: Signer
) -> None:
    card = str(uuid.uuid4())
    feedback = {
        "feedback": [
            {
                "card": card,
                "outcome": "overridden",
                "overrideReason": {
                    "reason": {"code": "patient-declined", "display": "The patient declined"},
                    "userComment": "discussed at the visit",
                },
                "outcomeTimestamp": "2026-11-30T10:15:00Z",
            }
        ]
    }
    answer = cds_server.post(f"{PATIENT_VIEW}/feedback", feedback, signer)
    assert answer.status_code == 200
    with _logged_in(cds_server, "admin") as admin:
        page = admin.get("/cds-feedback")
    assert page.status_code == 200
    assert card in page.text and "discussed at the visit" in page.text
    assert "The patient declined" in page.text and FILE_ISSUER in page.text
    for username, status in (("viewer", 403), ("clinician", 403)):
        with _logged_in(cds_server, username) as other:
            assert other.get("/cds-feedback").status_code == status
    anonymous = httpx.get(f"{cds_server.url}/cds-feedback", timeout=30)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")


def test_cds_hooks_feedback_with_an_unknown_outcome_is_422(
    cds_server: CdsServer, signer: Signer
) -> None:
    item = {"card": "c", "outcome": "ignored", "outcomeTimestamp": "2026-11-30T10:15:00Z"}
    answer = cds_server.post(f"{PATIENT_VIEW}/feedback", {"feedback": [item]}, signer)
    assert answer.status_code == 422
    assert answer.json()["problems"][0]["pointer"] == "/body/feedback/0/outcome"


# --- the client's JWT -------------------------------------------------------------------------


@pytest.mark.parametrize("issuer", [FILE_ISSUER, URL_ISSUER])
def test_cds_hooks_jwt_of_each_trusted_client_is_accepted(
    cds_server: CdsServer, signers: dict[str, Signer], issuer: str
) -> None:
    body = hook_call("patient-view", example("P-0003-conduction-block", version=2))
    assert cds_server.post(PATIENT_VIEW, body, signers[issuer]).status_code == 200


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": 1_000_000_000, "iat": 999_999_900}, "expired"),
        ({"iss": "https://stranger.example.org"}, "not a trusted CDS client"),
        ({"aud": "https://elsewhere.example.org/cds-services/x"}, "aud is not this endpoint"),
        ({"exp": 4_000_000_000}, "lives longer"),
    ],
    ids=["expired", "unknown issuer", "wrong aud", "too long"],
)
def test_cds_hooks_jwt_refused_is_401_with_the_reason(
    cds_server: CdsServer, signer: Signer, claims: Mapping[str, Any], reason: str
) -> None:
    body = hook_call("patient-view", example("P-0003-conduction-block", version=2))
    answer = cds_server.post(PATIENT_VIEW, body, signer, **claims)
    assert answer.status_code == 401
    assert reason in answer.json()["detail"]


def test_cds_hooks_jwt_signed_by_another_key_is_401(cds_server: CdsServer, signer: Signer) -> None:
    impostor = Signer(FILE_ISSUER, ec.generate_private_key(ec.SECP384R1()), "ES384", signer.kid)
    body = hook_call("patient-view", example("P-0003-conduction-block", version=2))
    answer = cds_server.post(PATIENT_VIEW, body, impostor)
    assert answer.status_code == 401
    assert "signature does not verify" in answer.json()["detail"]


def test_cds_hooks_jwt_used_twice_and_none_are_401(cds_server: CdsServer, signer: Signer) -> None:
    body = hook_call("patient-view", example("P-0003-conduction-block", version=2))
    token = signer.token(cds_server.url + PATIENT_VIEW)
    headers = {"Authorization": f"Bearer {token}"}
    url = cds_server.url + PATIENT_VIEW
    assert httpx.post(url, json=body, headers=headers, timeout=30).status_code == 200
    replayed = httpx.post(url, json=body, headers=headers, timeout=30)
    assert replayed.status_code == 401 and "jti was used before" in replayed.json()["detail"]
    missing = httpx.post(url, json=body, timeout=30)
    assert missing.status_code == 401 and "Authorization: Bearer" in missing.json()["detail"]


def test_cds_hooks_calls_are_audited_without_the_patient(
    cds_server: CdsServer, signer: Signer
) -> None:
    body = hook_call("patient-view", example("P-0004-sod1-late", version=2))
    assert cds_server.post(PATIENT_VIEW, body, signer).status_code == 200
    with cds_server.database.transaction(write=False) as session:
        events = audit_events(session, username="cds@ehr-one.example.org", limit=1)
    [event] = events
    assert event.channel == "cds-hooks" and event.patient_id is None
    assert body["hookInstance"] in event.detail
    assert body["context"]["patientId"] not in event.detail


# --- development mode and CORS -----------------------------------------------------------------


def test_cds_hooks_development_mode_takes_calls_without_a_jwt(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    settings = server_settings(f"sqlite:///{tmp_path}/dev.db", env="development")
    body = hook_call("patient-view", example("P-0001-limb-onset", version=2))
    for url in serve_in_thread(create_app(settings, kb=kb)):
        answer = httpx.post(url + PATIENT_VIEW, json=body, timeout=30)
        assert answer.status_code == 200 and answer.json()["cards"]


@pytest.mark.parametrize(
    ("origin", "allowed"), [(ORIGIN, True), ("https://attacker.example.org", False)]
)
def test_cds_hooks_cors_preflight_answers_the_ehr_origins_only(
    cds_server: CdsServer, origin: str, allowed: bool
) -> None:
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    answer = httpx.options(cds_server.url + PATIENT_VIEW, headers=headers, timeout=30)
    assert answer.status_code == (200 if allowed else 400)
    assert (answer.headers.get("access-control-allow-origin") == origin) is allowed
    elsewhere = httpx.get(f"{cds_server.url}/api/v1/health", headers={"Origin": origin})
    assert "access-control-allow-origin" not in elsewhere.headers
