"""The clinic letter from the app: ``GET /api/v1/patients/{id}/letter`` (PDF and HTML) and the
patient page's "Letter" button, on a live server with SQLite and PostgreSQL. The first page of
the PDF holds the summary, the alerts and every recommendation; the details start on page 2;
the text is in clinical words only; every letter is audited like an assessment; a date the
app does not assess the patient on is refused naming ``as_of``."""

from __future__ import annotations

import datetime as dt
import html
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest

from alscare import KnowledgeBase, assess, services
from alscare.assessment_dates import clinic_latest
from alscare.presentation import Kind, wording
from alscare.schemas.patient import PatientRecord
from alscare.storage.audit import AuditAction
from tests.conftest import example
from tests.conftest_server import ADMIN_ACTOR, LiveServer
from tests.integration.test_pages import PageClient

AS_OF: Final = dt.date(2025, 2, 1)
SHOTS: Final = Path("/tmp/alscare-shots")
# A programmer's id in the text: snake_case, or the engine's name of the assessment date.
RAW_ID: Final = re.compile(r"\b[a-z0-9]+_[a-z0-9_]+\b|\bas_of\b")


@pytest.fixture(scope="module")
def patient(live_server: LiveServer) -> PatientRecord:
    """The SOD1 example (19 recommendations on AS_OF: the longest first page) under its own id."""
    record = example("P-0004-sod1-late", version=2).model_copy(update={"id": "LT-0004"})
    services.import_records(live_server.database, ADMIN_ACTOR, [record])
    return record


@pytest.fixture
def clinician_pages(live_server: LiveServer) -> Iterator[PageClient]:
    client = PageClient(live_server)
    client.log_in("clinician")
    yield client
    client.http.close()


def _letter(server: LiveServer, patient_id: str, **params: str) -> bytes:
    with server.client("viewer") as client:
        response = client.get(f"/api/v1/patients/{patient_id}/letter", params=params)
    assert response.status_code == 200, response.text
    return response.content


def _pdf_text(path: Path, *pages: int) -> str:
    first_last = ["-f", str(pages[0]), "-l", str(pages[-1])] if pages else []
    done = subprocess.run(
        ["pdftotext", "-layout", *first_last, str(path), "-"],
        check=True,
        capture_output=True,
        text=True,
    )
    return " ".join(done.stdout.split())


def _page_count(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True)
    found = re.search(r"^Pages:\s+(\d+)", info.stdout, re.M)
    assert found
    return int(found.group(1))


def _raw_ids(text: str) -> list[str]:
    """Raw ids in the text, leaving out web addresses (a source's URL may hold underscores)."""
    return RAW_ID.findall(re.sub(r"https?://\S+", "", text))


def _visible_text(page: str) -> str:
    """The text a reader sees in an HTML letter: no styles, tags or attributes."""
    body = re.sub(r"<style>.*?</style>|<svg.*?</svg>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def test_letter_pdf_first_page_holds_the_summary_and_every_action(
    live_server: LiveServer, patient: PatientRecord, kb: KnowledgeBase, tmp_path: Path
) -> None:
    pdf = _letter(live_server, patient.id, as_of=str(AS_OF), format="pdf")
    assert pdf.startswith(b"%PDF")
    path = tmp_path / "letter.pdf"
    path.write_bytes(pdf)
    expected = assess(patient, as_of=AS_OF, kb=kb)
    assert len(expected.recommendations) >= 15 and expected.alerts
    words = wording(kb)
    first = _pdf_text(path, 1)
    assert "Page 1 of" in first
    for text in ("Clinic summary", "Dora Example", "Summary", "Alerts", "Recommendations"):
        assert text in first, text
    for alert in expected.alerts:
        assert words.label(Kind.ALERT, alert.id) in first
    for item in expected.recommendations:
        label = " ".join(words.label(Kind.RECOMMENDATION, item.id).split())
        assert label in first, label
    assert "Scores" not in first and "Sources" not in first  # the details follow
    assert _page_count(path) >= 2
    details = _pdf_text(path, 2)
    assert details.startswith("Scores")
    SHOTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["pdftoppm", "-r", "70", "-png", "-f", "1", "-l", "2", str(path), str(SHOTS / "letter")],
        check=True,
    )
    assert (SHOTS / "letter-01.png").stat().st_size > 10_000


def test_letter_pdf_text_is_clinical_words_only(
    live_server: LiveServer, patient: PatientRecord, tmp_path: Path
) -> None:
    path = tmp_path / "letter.pdf"
    path.write_bytes(_letter(live_server, patient.id, as_of="2023-09-01", format="pdf"))
    text = _pdf_text(path)
    assert _raw_ids(text) == []
    assert "after the assessment date" in text  # the engine's "after as_of", in words
    assert "Clinically probable" in text


def test_letter_html_is_the_cli_letter_with_clinical_words_only(
    live_server: LiveServer, patient: PatientRecord, kb: KnowledgeBase
) -> None:
    with live_server.client("viewer") as client:
        response = client.get(
            f"/api/v1/patients/{patient.id}/letter", params={"as_of": str(AS_OF), "format": "html"}
        )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    assert "script-src" not in response.headers["content-security-policy"]
    assert "default-src 'none'" in response.headers["content-security-policy"]
    page = response.text
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    visible = _visible_text(page)
    assert _raw_ids(visible) == []
    assert "Dora Example" in visible
    assert page.index('id="actions"') < page.index('id="details"') < page.index('id="scores"')
    assert "probable_laboratory_supported" not in page


def test_letter_is_audited_as_an_assessment(
    live_server: LiveServer, patient: PatientRecord
) -> None:
    _letter(live_server, patient.id, as_of="2024-12-01", format="html")
    events = services.audit_trail(
        live_server.database, ADMIN_ACTOR, patient_id=patient.id, action=AuditAction.ASSESS
    )
    assert any(
        event.detail == "letter as of 2024-12-01" and event.username == "viewer" for event in events
    )


@pytest.mark.parametrize(
    ("as_of", "reason"),
    [
        ("1979-04-29", "is before the birth date"),
        (str(clinic_latest(services.today()) + dt.timedelta(days=1)), "is after the latest"),
    ],
)
def test_letter_outside_the_patients_dates_is_422_naming_as_of(
    live_server: LiveServer, patient: PatientRecord, as_of: str, reason: str
) -> None:
    with live_server.client("viewer") as client:
        response = client.get(f"/api/v1/patients/{patient.id}/letter", params={"as_of": as_of})
    assert response.status_code == 422
    [problem] = response.json()["problems"]
    assert problem["pointer"] == "/as_of" and reason in problem["reason"]


def test_letter_refusals_are_problems_not_errors(
    live_server: LiveServer, patient: PatientRecord
) -> None:
    path = f"/api/v1/patients/{patient.id}/letter"
    with live_server.client() as anonymous:
        assert anonymous.get(path, params={"as_of": str(AS_OF)}).status_code == 401
    with live_server.client("viewer") as client:
        missing = client.get("/api/v1/patients/NO-SUCH/letter", params={"as_of": str(AS_OF)})
        assert missing.status_code == 404
        wrong = client.get(path, params={"as_of": str(AS_OF), "format": "docx"})
        assert wrong.status_code == 422
        assert wrong.json()["problems"][0]["pointer"] == "/query/format"
        undated = client.get(path)
        assert undated.status_code == 422
        assert undated.json()["problems"][0]["pointer"] == "/query/as_of"


def test_letter_button_on_the_patient_page_opens_the_letter(
    live_server: LiveServer, patient: PatientRecord, clinician_pages: PageClient
) -> None:
    page = clinician_pages.get(f"/patients/{patient.id}", params={"as_of": str(AS_OF)}).text
    links = re.search(r'<p class="letter-links" id="letter-links">(.*?)</p>', page, re.S)
    assert links is not None
    hrefs = [html.unescape(href) for href in re.findall(r'href="([^"]+)"', links.group(1))]
    assert hrefs == [
        f"/patients/{patient.id}/letter?as_of={AS_OF}",
        f"/patients/{patient.id}/letter?as_of={AS_OF}&format=pdf",
    ]
    letter = clinician_pages.get(hrefs[0])
    assert letter.status_code == 200 and "Clinic summary" in letter.text
    assert f"as of {AS_OF}" in letter.text
    pdf = clinician_pages.get(hrefs[1])
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_letter_page_refuses_a_date_before_birth_with_an_error_page(
    live_server: LiveServer, patient: PatientRecord, clinician_pages: PageClient
) -> None:
    response = clinician_pages.get(f"/patients/{patient.id}/letter", params={"as_of": "1950-01-01"})
    assert response.status_code == 422
    assert "Not an assessment date" in response.text
    assert "is before the birth date" in response.text
    assert "1979-04-30" not in response.text  # the stored birth date is not quoted
    assert 'aria-label="Main"' in response.text  # the navigation stays


def test_letter_page_needs_a_login(live_server: LiveServer, patient: PatientRecord) -> None:
    client = PageClient(live_server)
    with client.http:
        response = client.get(f"/patients/{patient.id}/letter")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")
