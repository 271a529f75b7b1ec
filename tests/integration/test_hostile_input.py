"""Hostile and odd input against a real server on SQLite and PostgreSQL: never a 5xx, never a
traceback; a clear 4xx naming the field or the limit; nothing stored (issue 11).

Each test reproduces one finding of the audit: a NUL character reaching a PostgreSQL query, an
``offset`` or ``page`` past 64 bits, an integer literal of more than 4,300 digits, bodies and
records past any clinic's size, dates given as numbers, ``false`` read as a number, and answers
with patient data or tokens that a browser or proxy may keep.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from typer.testing import CliRunner, Result

from alscare import limits
from alscare.cli.app import app as cli_app
from tests.conftest_server import PASSWORD, LiveServer
from tests.integration.strategies import FULL_RECORD, records
from tests.integration.test_pages import PageClient

HUGE_INTEGER: Final = "1" * 4301  # one digit past Python's limit for reading an integer
PAST_64_BITS: Final = str(2**63)


@pytest.fixture(scope="module")
def admin_pages(live_server: LiveServer) -> Iterator[PageClient]:
    client = PageClient(live_server)
    client.log_in("admin")
    yield client
    client.http.close()


def _pointers(response: httpx.Response, status: int = 422) -> list[str]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return [problem["pointer"] for problem in response.json()["problems"]]


def _record(patient_id: str, **fields: Any) -> dict[str, Any]:
    return {**FULL_RECORD, "id": patient_id, **fields}


def _living(patient_id: str, **series: Any) -> dict[str, Any]:
    """A record v2 of a living patient born long before any entry, with these series."""
    return {"schema": "alscare.patient/v2", "id": patient_id, "birth_date": "1960-01-01", **series}


# --- NUL characters: PostgreSQL refused them in a query, which was a 500 ----------------------


def test_nul_in_the_token_username_is_422_naming_it_without_a_token(
    live_server: LiveServer,
) -> None:
    response = httpx.post(
        f"{live_server.url}/api/v1/auth/token", data={"username": "a\x00", "password": PASSWORD}
    )
    assert _pointers(response) == ["/form/username"]


@pytest.mark.parametrize(
    ("path", "pointer"),
    [
        ("/api/v1/patients?search=a%00", "/query/search"),
        ("/api/v1/patients/HOSTILE%00-1", "/path"),
        ("/api/v1/patients/HOSTILE%00-1/assessment?as_of=2025-02-01", "/path"),
        ("/api/v1/patients/HOSTILE%00-1/history", "/path"),
        ("/api/v1/audit?patient_id=%00", "/query/patient_id"),
        ("/api/v1/audit?username=admin%00", "/query/username"),
    ],
)
def test_nul_in_a_query_or_path_is_422_naming_it(
    admin: httpx.Client, path: str, pointer: str
) -> None:
    assert _pointers(admin.get(path)) == [pointer]


@pytest.mark.parametrize(
    ("path", "pointer"),
    [
        ("/patients?q=a%00", "/query/q"),
        ("/patients/HOSTILE%00-1", "/path"),
        ("/audit?patient=%00", "/query/patient"),
        ("/audit?username=%00", "/query/username"),
    ],
)
def test_nul_in_a_page_address_is_422_naming_it(
    admin_pages: PageClient, path: str, pointer: str
) -> None:
    assert _pointers(admin_pages.get(path)) == [pointer]


def test_nul_in_the_login_form_is_422_naming_the_field(live_server: LiveServer) -> None:
    pages = PageClient(live_server)
    with pages.http:
        response = pages.post("/login", {"username": "admin\x00", "password": PASSWORD})
    assert _pointers(response) == ["/form/username"]


def test_nul_in_a_json_body_is_422_naming_the_field_and_stores_nothing(
    clinician: httpx.Client, admin: httpx.Client
) -> None:
    body = _record("HOSTILE-NUL", identity={"name": "Ada\x00"})
    assert _pointers(clinician.post("/api/v1/patients", json=body)) == ["/identity/name"]
    assert _pointers(admin.post("/api/v1/import", json=[body])) == ["/0/identity/name"]
    assert clinician.get("/api/v1/patients/HOSTILE-NUL").status_code == 404


# --- integers past 64 bits: SQLite and PostgreSQL overflowed, which was a 500 ----------------


@pytest.mark.parametrize("path", ["/api/v1/patients", "/api/v1/audit"])
def test_offset_past_the_limit_is_422_naming_it(admin: httpx.Client, path: str) -> None:
    for offset in (PAST_64_BITS, str(limits.MAX_OFFSET + 1)):
        assert _pointers(admin.get(path, params={"offset": offset})) == ["/query/offset"]
    assert admin.get(path, params={"offset": limits.MAX_OFFSET}).json() == []


@pytest.mark.parametrize("path", ["/patients", "/audit"])
def test_page_past_64_bits_is_the_last_page_the_list_has(
    admin_pages: PageClient, path: str
) -> None:
    response = admin_pages.get(path, params={"page": PAST_64_BITS})
    assert response.status_code == 200
    assert f"{path}?page={limits.MAX_PAGE_NUMBER - 1}" in response.text  # the link back


def test_revision_past_the_limit_is_422_naming_it(clinician: httpx.Client) -> None:
    clinician.post("/api/v1/patients", json=_record("HOSTILE-REV"))
    response = clinician.get("/api/v1/patients/HOSTILE-REV", params={"revision": PAST_64_BITS})
    assert _pointers(response) == ["/query/revision"]


# --- integer literals of more than 4,300 digits: Python refused to read them, a 500 ----------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/patients"),
        ("PATCH", "/api/v1/patients/HOSTILE-DIGITS"),
        ("POST", "/api/v1/patients/HOSTILE-DIGITS/weights"),
        ("POST", "/api/v1/import"),
    ],
)
def test_integer_of_too_many_digits_in_a_body_is_422_saying_so(
    admin: httpx.Client, method: str, path: str
) -> None:
    admin.post("/api/v1/patients", json=_record("HOSTILE-DIGITS"))
    body = '{"date": "2024-06-01", "kg": ' + HUGE_INTEGER + "}"
    response = admin.request(
        method, path, content=body, headers={"content-type": "application/json"}
    )
    assert _pointers(response) == [""]
    assert response.json()["problems"][0]["reason"] == (
        "malformed JSON: a number with too many digits"
    )


# --- limits: a body, a series and a record far past any clinic's -----------------------------


def test_body_past_the_limit_is_413_naming_the_limit(clinician: httpx.Client) -> None:
    body = b'{"id": "HOSTILE-BIG", "x": "' + b"a" * limits.MAX_BODY_BYTES + b'"}'
    response = clinician.post(
        "/api/v1/patients", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert f"{limits.MAX_BODY_BYTES:,} bytes" in response.json()["detail"]
    assert response.json()["max_body_bytes"] == limits.MAX_BODY_BYTES
    assert clinician.get("/api/v1/patients/HOSTILE-BIG").status_code == 404


@pytest.mark.parametrize("path", ["/api/v1/patients", "/login"])
def test_streamed_body_past_the_limit_is_413_as_soon_as_it_is(
    clinician: httpx.Client, path: str
) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: sent in chunks, counted as read
        yield b'{"id": "HOSTILE-STREAM", "x": "'
        for _ in range(limits.MAX_BODY_BYTES // 65_536 + 1):
            yield b"a" * 65_536
        yield b'"}'

    kind = "application/json" if path.startswith("/api/") else "application/x-www-form-urlencoded"
    response = clinician.post(path, content=chunks(), headers={"content-type": kind})
    assert response.status_code == 413
    assert response.json()["max_body_bytes"] == limits.MAX_BODY_BYTES


def test_import_takes_a_body_past_the_limit_of_one_record(admin: httpx.Client) -> None:
    padding = b" " * (limits.MAX_BODY_BYTES + 1)
    records = json.dumps([_record("HOSTILE-IMPORT")]).encode()
    response = admin.post(
        "/api/v1/import", content=records + padding, headers={"content-type": "application/json"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["created"] == ["HOSTILE-IMPORT"]


def test_series_past_the_limit_is_422_naming_the_series_and_the_limit(
    clinician: httpx.Client,
) -> None:
    weights = [{"date": "2024-06-01", "kg": 61.0}] * (limits.MAX_SERIES_ENTRIES + 1)
    response = clinician.post("/api/v1/patients", json=_living("HOSTILE-SERIES", weights=weights))
    assert _pointers(response) == ["/weights"]
    reason = response.json()["problems"][0]["reason"]
    assert f"the limit of {limits.MAX_SERIES_ENTRIES:,}" in reason
    assert clinician.get("/api/v1/patients/HOSTILE-SERIES").status_code == 404


def test_entry_added_past_the_series_limit_is_422(clinician: httpx.Client) -> None:
    weights = [{"date": "2024-06-01", "kg": 61.0}] * limits.MAX_SERIES_ENTRIES
    created = clinician.post("/api/v1/patients", json=_living("HOSTILE-FULL", weights=weights))
    assert created.status_code == 201, created.text
    response = clinician.post(
        "/api/v1/patients/HOSTILE-FULL/weights", json={"date": "2024-06-01", "kg": 61.0}
    )
    assert response.status_code == 422
    reasons = [problem["reason"] for problem in response.json()["problems"]]
    assert any(f"the limit of {limits.MAX_SERIES_ENTRIES:,}" in reason for reason in reasons)
    stored = clinician.get("/api/v1/patients/HOSTILE-FULL").json()
    assert len(stored["weights"]) == limits.MAX_SERIES_ENTRIES


def test_record_past_the_entry_limit_is_422_naming_the_limit(clinician: httpx.Client) -> None:
    day = {"date": "2024-06-01"}
    entries = {
        "weights": {**day, "kg": 61.0},
        "respiratory": {**day, "fvc_percent_predicted": 80},
        "cognition": {**day, "ftd": False},
        "care": {**day, "kind": "multidisciplinary_clinic"},
        "findings": {**day, "id": "fasciculations", "present": True},
        "alsfrs_r": {**day, "items": {"speech": 4}, "gastrostomy": False},
    }
    per_series = limits.MAX_RECORD_ENTRIES // len(entries) + 1  # each series within its limit
    assert per_series <= limits.MAX_SERIES_ENTRIES
    series = {name: [entry] * per_series for name, entry in entries.items()}
    record = _living("HOSTILE-RECORD", **series)
    response = clinician.post("/api/v1/patients", json=record)
    assert response.status_code == 422, response.text
    problems = response.json()["problems"]
    assert [problem["pointer"] for problem in problems] == [""]
    assert f"the limit of {limits.MAX_RECORD_ENTRIES:,}" in problems[0]["reason"]


# --- what cannot be meant: a date as a number, false as a number, a weight of no one ----------


@pytest.mark.parametrize(
    ("segment", "entry", "pointer"),
    [
        ("weights", {"date": 0, "kg": 61.0}, "/date"),
        ("weights", {"date": "2024-06-01T00:00:00", "kg": 61.0}, "/date"),
        ("weights", {"date": "2024-06-01", "kg": False}, "/kg"),
        (
            "respiratory",
            {"date": "2024-06-01", "fvc_percent_predicted": True},
            "/fvc_percent_predicted",
        ),
        ("cognition", {"date": "2024-06-01", "ecas_total": False}, "/ecas_total"),
    ],
)
def test_entry_with_a_date_or_number_of_the_wrong_type_is_422_naming_it(
    clinician: httpx.Client, segment: str, entry: dict[str, Any], pointer: str
) -> None:
    clinician.post("/api/v1/patients", json=_record("HOSTILE-TYPES"))
    before = clinician.get("/api/v1/patients/HOSTILE-TYPES").headers["etag"]
    response = clinician.post(f"/api/v1/patients/HOSTILE-TYPES/{segment}", json=entry)
    assert _pointers(response) == [pointer]
    assert clinician.get("/api/v1/patients/HOSTILE-TYPES").headers["etag"] == before


@pytest.mark.parametrize("route", ["assessment", "flowsheet", "letter"])
def test_as_of_given_as_a_number_is_422_naming_it(clinician: httpx.Client, route: str) -> None:
    clinician.post("/api/v1/patients", json=_record("HOSTILE-AS-OF"))
    response = clinician.get(f"/api/v1/patients/HOSTILE-AS-OF/{route}", params={"as_of": "0"})
    assert _pointers(response) == ["/query/as_of"]


def test_worklist_as_of_given_as_a_number_is_422_naming_it(clinician: httpx.Client) -> None:
    assert _pointers(clinician.get("/api/v1/worklist", params={"as_of": "0"})) == ["/query/as_of"]


def test_premorbid_weight_of_no_one_is_422_naming_it(clinician: httpx.Client) -> None:
    body = _record("HOSTILE-TINY", premorbid_weight_kg=5e-324)
    assert _pointers(clinician.post("/api/v1/patients", json=body)) == ["/premorbid_weight_kg"]


# --- no-store: answers with patient data or tokens are kept by no browser or proxy ------------


def test_answers_with_patient_data_or_tokens_say_no_store(
    live_server: LiveServer, clinician: httpx.Client
) -> None:
    token = httpx.post(
        f"{live_server.url}/api/v1/auth/token", data={"username": "viewer", "password": PASSWORD}
    )
    clinician.post("/api/v1/patients", json=_record("HOSTILE-CACHE"))
    answers = [
        token,
        clinician.get("/api/v1/patients"),
        clinician.get("/api/v1/patients/HOSTILE-CACHE"),
        clinician.get("/api/v1/patients/HOSTILE-CACHE/assessment", params={"as_of": "2025-02-01"}),
        clinician.get("/api/v1/patients/HOSTILE-CACHE/history"),
        clinician.get("/api/v1/patients/HOSTILE-NONE"),
        clinician.get("/api/v1/patients?search=%00"),
        httpx.get(f"{live_server.url}/patients"),
    ]
    assert [answer.headers.get("cache-control") for answer in answers] == ["no-store"] * len(
        answers
    )


# --- the command line: one line per problem, never a traceback --------------------------------


def _cli(*args: str) -> Result:
    result = CliRunner().invoke(cli_app, list(args))
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), f"a traceback: {result.exception!r}"
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def cli_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("ALSCARE_DATABASE_URL", url)
    return url


def _file(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _huge_integer_record() -> str:
    return '{"schema": "alscare.patient/v2", "id": "CLI-1", "height_cm": ' + HUGE_INTEGER + "}"


@pytest.mark.parametrize(
    "command",
    [("validate",), ("assess", "--as-of", "2025-02-01"), ("db", "import"), ("upgrade",)],
    ids=["validate", "assess", "import", "upgrade"],
)
def test_cli_integer_of_too_many_digits_is_one_line_and_exit_2(
    tmp_path: Path, cli_database: str, command: tuple[str, ...]
) -> None:
    path = _file(tmp_path, "huge.json", _huge_integer_record())
    result = _cli(*command, path)
    assert result.exit_code == 2
    assert f"{path}: /: malformed JSON: a number with too many digits" in result.stderr


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_cli_import_of_deep_nesting_is_one_line_and_exit_2(
    tmp_path: Path, cli_database: str, suffix: str
) -> None:
    path = _file(tmp_path, "deep" + suffix, "[" * 100_000 + "]" * 100_000 + "\n")
    result = _cli("db", "import", path)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "malformed JSON: nested too deeply" in result.stderr


@pytest.mark.parametrize(
    ("target", "reason"),
    [("missing/export.json", "the folder"), (".", "is a directory")],
    ids=["missing-folder", "a-directory"],
)
def test_cli_export_to_a_path_it_cannot_write_is_one_line_and_exit_1(
    tmp_path: Path, cli_database: str, target: str, reason: str
) -> None:
    result = _cli("db", "export", "-o", str(tmp_path / target))
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and reason in result.stderr


def _refuse_constant(name: str) -> float:
    raise AssertionError(f"{name} in JSON output: not strict JSON")


def test_cli_premorbid_weight_near_zero_gives_strict_json_and_says_what_is_missing(
    tmp_path: Path,
) -> None:
    # 5e-324 kg passes the schema (a weight above zero, as stored records have it) and made the
    # weight loss -Infinity; the engine now says it cannot compare the weights.
    record = {**FULL_RECORD, "id": "CLI-TINY", "premorbid_weight_kg": 5e-324}
    path = _file(tmp_path, "tiny.json", json.dumps(record))
    result = _cli("assess", "--as-of", "2025-02-01", path)
    assert result.exit_code == 0, result.stderr
    assessment = json.loads(result.stdout, parse_constant=_refuse_constant)
    assert assessment["scores"]["weight_loss_percent"] is None
    assert any("premorbid weight that can be compared" in m for m in assessment["missing"])


# --- one reader: the command line and the API refuse the same documents alike ----------------

_ODD_DOCUMENTS: Final = {
    "nan": '{"schema": "alscare.patient/v2", "id": "ODD-1", "height_cm": NaN}',
    "infinity": '{"schema": "alscare.patient/v2", "id": "ODD-1", "height_cm": -Infinity}',
    "overflow": '{"schema": "alscare.patient/v2", "id": "ODD-1", "premorbid_weight_kg": 1e400}',
    "digits": _huge_integer_record(),
    "nul": '{"schema": "alscare.patient/v2", "id": "ODD-1", "identity": {"name": "A\\u0000"}}',
    "surrogate": '{"schema": "alscare.patient/v2", "id": "ODD-1", "identity": {"name": "\\ud800"}}',
    "date-number": '{"schema": "alscare.patient/v2", "id": "ODD-1", "birth_date": 0}',
    "false-number": '{"schema": "alscare.patient/v2", "id": "ODD-1", "height_cm": false}',
    "deep": "[" * 5000 + "]" * 5000,
}


@pytest.mark.parametrize("name", list(_ODD_DOCUMENTS))
def test_cli_and_api_refuse_an_odd_document_with_the_same_problems(
    clinician: httpx.Client, tmp_path: Path, name: str
) -> None:
    text = _ODD_DOCUMENTS[name]
    path = _file(tmp_path, "odd.json", text)
    result = _cli("validate", path)
    assert result.exit_code == 2
    cli_problems = [line.removeprefix(f"{path}: ") for line in result.stderr.splitlines()]
    response = clinician.post(
        "/api/v1/patients", content=text.encode(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 422, response.text
    api_problems = [f"{p['pointer'] or '/'}: {p['reason']}" for p in response.json()["problems"]]
    assert api_problems == cli_problems


# --- strict JSON out: every answer and every output parses without NaN or Infinity -----------


def _strict(text: str) -> Any:
    """JSON as RFC 8259 has it: NaN, Infinity and -Infinity are not JSON."""

    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(record=records())
def test_every_api_and_cli_json_output_is_strict_json(
    admin: httpx.Client, tmp_path: Path, record: dict[str, Any]
) -> None:
    record = {**record, "id": "STRICT-JSON"}
    imported = admin.post("/api/v1/import", params={"replace": "true"}, json=[record])
    assert imported.status_code == 201, imported.text
    as_of = {"as_of": "2025-07-01"}
    base = "/api/v1/patients/STRICT-JSON"
    for path, params in [
        (base, {}),
        (f"{base}/assessment", as_of),
        (f"{base}/flowsheet", as_of),
        (f"{base}/history", {}),
        ("/api/v1/patients", {"search": "STRICT-JSON"}),
        ("/api/v1/worklist", as_of),
        ("/api/v1/export", {"deidentify": "true"}),
        (f"{base}/assessment", {"as_of": "0"}),  # a problem document
    ]:
        response = admin.get(path, params=params)
        assert response.status_code < 500
        _strict(response.text)
    path = _file(tmp_path, "strict.json", json.dumps(record))
    lines = _file(tmp_path, "strict.jsonl", json.dumps(record) + "\n")
    for command in (
        ("assess", "--as-of", "2025-07-01", path),
        ("assess", "--as-of", "2025-07-01", "--jsonl", lines),
        ("upgrade", path),
    ):
        result = _cli(*command)
        assert result.exit_code == 0, result.stderr
        _strict(result.stdout)


@pytest.mark.parametrize("revision", [PAST_64_BITS, str(limits.MAX_REVISION + 1), "²", "1" * 5000])
def test_page_of_a_revision_no_record_can_have_is_refused_as_a_page(
    admin_pages: PageClient, admin: httpx.Client, revision: str
) -> None:
    admin.post("/api/v1/patients", json=_record("HOSTILE-PAGE-REV"))
    response = admin_pages.get("/patients/HOSTILE-PAGE-REV", params={"revision": revision})
    assert response.status_code in (404, 422), response.text[:200]


@pytest.mark.parametrize("revision", ["9999999999", str(limits.MAX_REVISION + 1)])
def test_if_match_of_a_revision_no_record_can_have_is_412(
    clinician: httpx.Client, revision: str
) -> None:
    clinician.post("/api/v1/patients", json=_record("HOSTILE-IF-MATCH"))
    response = clinician.post(
        "/api/v1/patients/HOSTILE-IF-MATCH/weights",
        json={"date": "2024-06-01", "kg": 61.0},
        headers={"If-Match": f'"{revision}"'},
    )
    assert response.status_code == 412, response.text


def test_nul_in_a_multipart_token_form_is_422(live_server: LiveServer) -> None:
    response = httpx.post(
        f"{live_server.url}/api/v1/auth/token",
        files={"username": (None, "a\x00"), "password": (None, PASSWORD)},
    )
    assert _pointers(response) == ["/form"]


def test_nul_in_a_header_is_refused_by_the_http_parser(live_server: LiveServer) -> None:
    host, port = live_server.url.removeprefix("http://").split(":")
    request = (
        b"POST /api/v1/patients/HOSTILE-1/weights HTTP/1.1\r\nHost: x\r\n"
        b"X-Change-Reason: a\x00b\r\nContent-Length: 0\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(request)
        answer = connection.recv(1024)
    assert answer.startswith(b"HTTP/1.1 400 ")
