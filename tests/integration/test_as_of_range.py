"""An assessment date is accepted only from the patient's first date (birth, else onset, else
the earliest entry) to a limit: a year after today in the app, 2199-12-31 on the command line
(which reads no clock). Outside it: exit 2 with one line naming ``--as-of``, 422 naming
``/as_of`` in the API, a 422 error page in the pages; nothing is assessed and nothing audited."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alscare import services
from alscare.assessment_dates import FAR_LIMIT, as_of_problem, clinic_latest, first_date
from alscare.cli.app import app
from alscare.storage.audit import AuditAction
from tests.builders import make_record_v2
from tests.conftest import RECORDS_V2, example
from tests.conftest_server import ADMIN_ACTOR, LiveServer
from tests.integration.test_pages import PageClient

RECORD = str(RECORDS_V2 / "P-0001-limb-onset.json")  # born 1961-09-14
runner = CliRunner()


@pytest.mark.parametrize(
    ("fields", "first"),
    [
        ({"birth_date": "1961-09-14", "symptom_onset": {"date": "2023-11-01"}}, "1961-09-14"),
        ({"symptom_onset": {"date": "2023-11-01"}, "diagnosis_date": "2024-06-12"}, "2023-11-01"),
        (
            {"diagnosis_date": "2024-06-12", "weights": [{"date": "2024-05-01", "kg": 70}]},
            "2024-05-01",
        ),
    ],
    ids=["birth", "onset", "earliest-entry"],
)
def test_first_date_is_birth_else_onset_else_earliest_entry(fields, first):
    found = first_date(make_record_v2(**fields))
    assert found is not None and found[1] == dt.date.fromisoformat(first)


def test_a_record_without_dates_has_no_lower_limit():
    assert first_date(make_record_v2()) is None
    assert as_of_problem(make_record_v2(), dt.date(1900, 1, 1), latest=FAR_LIMIT) is None


@pytest.mark.parametrize(
    ("today", "latest"),
    [(dt.date(2026, 12, 3), dt.date(2027, 12, 3)), (dt.date(2028, 2, 29), dt.date(2029, 2, 28))],
)
def test_clinic_latest_is_a_year_after_today(today, latest):
    assert clinic_latest(today) == latest


@pytest.mark.parametrize(
    ("as_of", "message"),
    [
        (
            "1961-09-13",
            "--as-of: the assessment date 1961-09-13 is before the birth date (1961-09-14)",
        ),
        (
            "2200-01-01",
            "--as-of: the assessment date 2200-01-01 is after the latest allowed, 2199-12-31",
        ),
    ],
)
@pytest.mark.parametrize("command", ["assess", "report"])
def test_cli_as_of_outside_the_patients_dates_exits_2_with_one_line(
    command, as_of, message, tmp_path
):
    output = ["-o", str(tmp_path / "letter.html")] if command == "report" else []
    result = runner.invoke(app, [command, RECORD, "--as-of", as_of, *output])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"{RECORD}: {message}"]
    assert result.stdout == ""
    assert not (tmp_path / "letter.html").exists()


def test_cli_as_of_on_the_birth_date_and_the_far_limit_is_assessed():
    for as_of in ("1961-09-14", str(FAR_LIMIT)):
        result = runner.invoke(app, ["assess", RECORD, "--as-of", as_of])
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout)["as_of"] == as_of


def test_cli_batch_refuses_the_line_of_a_patient_born_after_as_of(tmp_path: Path):
    young = example("P-0001-limb-onset", version=2).model_copy(
        update={"id": "YOUNG", "birth_date": dt.date(2001, 1, 1)}
    )
    old = example("P-0004-sod1-late", version=2)
    lines = tmp_path / "cohort.jsonl"
    lines.write_text(
        "\n".join(json.dumps(r.to_json_dict()) for r in (young, old)) + "\n", encoding="utf-8"
    )
    result = runner.invoke(app, ["assess", "--jsonl", str(lines), "--as-of", "2000-06-01"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{lines}:1: --as-of: the assessment date 2000-06-01 is before the birth date (2001-01-01)"
    ]
    assert [json.loads(line)["patient_id"] for line in result.stdout.splitlines()] == ["P-0004"]


@pytest.fixture(scope="module")
def patient(live_server: LiveServer) -> str:
    record = example("P-0001-limb-onset", version=2).model_copy(update={"id": "ASOF-1"})
    services.import_records(live_server.database, ADMIN_ACTOR, [record])
    return record.id


def _assessed_dates(server: LiveServer, patient_id: str) -> set[str]:
    events = services.audit_trail(
        server.database, ADMIN_ACTOR, patient_id=patient_id, action=AuditAction.ASSESS
    )
    return {event.detail for event in events}


@pytest.mark.parametrize(
    ("as_of", "reason"),
    [
        ("1961-09-13", "the assessment date 1961-09-13 is before the birth date"),
        (
            str(clinic_latest(services.today()) + dt.timedelta(days=1)),
            f"is after the latest allowed, {clinic_latest(services.today())}",
        ),
    ],
)
def test_api_as_of_outside_the_patients_dates_is_422_naming_as_of(
    live_server: LiveServer, patient: str, as_of: str, reason: str
):
    with live_server.client("viewer") as client:
        response = client.get(f"/api/v1/patients/{patient}/assessment", params={"as_of": as_of})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    [problem] = response.json()["problems"]
    assert problem["pointer"] == "/as_of" and reason in problem["reason"]
    assert f"assessment as of {as_of}" not in _assessed_dates(live_server, patient)


def test_api_as_of_within_the_range_is_assessed(live_server: LiveServer, patient: str):
    latest = clinic_latest(services.today())
    with live_server.client("viewer") as client:
        for as_of in ("1961-09-14", str(latest)):
            response = client.get(f"/api/v1/patients/{patient}/assessment", params={"as_of": as_of})
            assert response.status_code == 200, response.text
    assert f"assessment as of {latest}" in _assessed_dates(live_server, patient)


def test_api_as_of_of_year_9999_is_422_not_500(live_server: LiveServer, patient: str):
    with live_server.client("viewer") as client:
        response = client.get(
            f"/api/v1/patients/{patient}/assessment", params={"as_of": "9999-12-31"}
        )
    assert response.status_code == 422
    assert response.json()["problems"][0]["pointer"] == "/query/as_of"


@pytest.mark.parametrize("as_of", ["1950-01-01", "2100-01-01"])
def test_page_as_of_outside_the_patients_dates_is_an_error_page(
    live_server: LiveServer, patient: str, as_of: str
):
    client = PageClient(live_server)
    with client.http:
        client.log_in("viewer")
        response = client.get(f"/patients/{patient}", params={"as_of": as_of})
    assert response.status_code == 422
    assert "Not an assessment date" in response.text
    assert f"the assessment date {as_of} is" in response.text
    assert "Traceback" not in response.text
