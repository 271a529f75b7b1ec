"""The flowsheet page, the patient list and the worklist page over HTTP against a live server
(SQLite and PostgreSQL): what each shows is the engine's (the flowsheet, and the assessment of
each patient on the page's date), stale values are marked, every read is audited, and bad
input is an error page naming the problem, never a server error."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import pytest

from alscare import KnowledgeBase, assess, parse_record, services
from alscare.engine.flowsheet import flowsheet
from alscare.storage.security import Actor, Channel, Role
from tests.conftest import example
from tests.conftest_server import LiveServer
from tests.integration.test_pages import PageClient

SETUP = Actor(username="test-setup", role=Role.ADMIN, channel=Channel.CLI)
AS_OF = "2025-02-01"


def _example(name: str, new_id: str, **fields: Any) -> dict[str, Any]:
    return {**example(name, version=2).to_json_dict(), "id": new_id, **fields}


IDENTITY = {"name": "Dora Flowsheet", "identifiers": [{"system": "MRN", "value": "CP-4711"}]}
COHORT = (
    _example("P-0004-sod1-late", "CP-1", identity=IDENTITY),
    _example("P-0001-limb-onset", "CP-2"),
    _example("P-0003-conduction-block", "CP-3"),
    # A hundred more with no clinical data, so that the list needs a second page.
    *({"schema": "alscare.patient/v2", "id": f"CP-Z{n:03d}"} for n in range(100)),
)


@dataclass
class Cell:
    text: str = ""
    classes: set[str] = field(default_factory=set)
    title: str | None = None
    links: list[str] = field(default_factory=list)


class _Table(HTMLParser):
    """The body rows of the table with one id: each row's cells (th and td) in order."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id, self.depth = table_id, 0
        self.in_body = False
        self.rows: list[list[Cell]] = []
        self.cell: Cell | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table" and (self.depth or found.get("id") == self.table_id):
            self.depth += 1
        elif self.depth and tag == "tbody":
            self.in_body = True
        elif self.in_body and tag == "tr":
            self.rows.append([])
        elif self.in_body and tag in ("td", "th"):
            self.cell = Cell(
                classes=set((found.get("class") or "").split()), title=found.get("title")
            )
            self.rows[-1].append(self.cell)
        elif self.cell is not None and tag == "a":
            self.cell.links.append(found.get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self.depth:
            self.depth -= 1
        elif tag == "tbody":
            self.in_body = False
        elif tag in ("td", "th"):
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.text = " ".join((self.cell.text + " " + data).split())


def table(page: str, table_id: str) -> list[list[Cell]]:
    parser = _Table(table_id)
    parser.feed(page)
    assert parser.rows, f"no rows in table #{table_id}"
    return parser.rows


@pytest.fixture(scope="module")
def clinician(live_server: LiveServer) -> Iterator[PageClient]:
    services.import_records(live_server.database, SETUP, [parse_record(d) for d in COHORT])
    client = PageClient(live_server)
    assert client.log_in("clinician").status_code == 303
    yield client
    client.http.close()


def _audited(server: LiveServer, patient_id: str, detail: str) -> list[Any]:
    events = services.audit_trail(server.database, SETUP, patient_id=patient_id)
    return [event for event in events if event.detail == detail]


# --- the flowsheet ------------------------------------------------------------------------------


def test_flowsheet_page_has_a_row_per_visit_with_the_engine_s_values_and_stale_ones_marked(
    clinician: PageClient, kb: KnowledgeBase
) -> None:
    response = clinician.get("/patients/CP-1/flowsheet", params={"as_of": AS_OF})
    assert response.status_code == 200
    sheet = flowsheet(parse_record(COHORT[0]), as_of=dt.date.fromisoformat(AS_OF), kb=kb)
    rows = table(response.text, "flowsheet-visits")
    assert [row[0].text for row in rows] == [str(row.date) for row in sheet.rows]
    last = rows[-1]
    assert last[1].text.startswith(
        str(sheet.rows[-1].alsfrs_r.total if sheet.rows[-1].alsfrs_r else "")
    )
    stale = [cell for cell in last if "stale" in cell.classes]
    # the engine calls every measure of 2024-08-01 stale on 2025-02-01 (SNIP, last measured
    # earlier, is marked at its own visit)
    assert {"alsfrs_r", "progression_rate", "fvc_percent_predicted", "weight_kg", "bmi"} <= set(
        sheet.stale
    )
    assert len(stale) == 5 and all(cell.text.endswith("stale") for cell in stale)
    assert stale[0].title == sheet.notes["alsfrs_r"]
    earlier = [cell.title for row in rows[:-1] for cell in row if "stale" in cell.classes]
    assert earlier == [sheet.notes[key] for key in sheet.stale if key == "snip_cmh2o"]
    assert "Dora Flowsheet" in response.text


def test_flowsheet_page_charts_alsfrs_r_fvc_snip_and_weight_with_their_thresholds(
    clinician: PageClient,
) -> None:
    page = clinician.get("/patients/CP-1/flowsheet", params={"as_of": AS_OF}).text
    for title in ("ALSFRS-R total", "FVC", "SNIP", "Weight", "BMI", "Progression rate (ΔFS)"):
        assert f">{title} over time, patient CP-1</title>" in page
    assert page.count('role="img"') == 6  # no MIP or SpO2 was measured
    gastrostomy = "gastrostomy before breathing weakens further: below 50 % predicted"
    assert f"{gastrostomy} (placement risk rises) (unverified)" in page
    thresholds = table(page, "flowsheet-thresholds")
    unverified = {row[1].text for row in thresholds if row[1].text.endswith("unverified")}
    assert f"{gastrostomy} (placement risk rises) unverified" in unverified
    assert "NIV, on FVC alone: below 50 % predicted" in {row[1].text for row in thresholds}
    items = table(page, "flowsheet-items")
    assert items[-1][-12:][4].text == "2 (5b)"  # item 5 rated as 5b with a gastrostomy


def test_flowsheet_page_before_the_repeat_window_runs_out_marks_the_latest_visit_fresh(
    clinician: PageClient,
) -> None:
    # Each column is judged on its own latest value: what the 2024-08-01 visit measured is a
    # month old on 2024-09-01 and not stale; a measure last taken at an earlier visit may be.
    page = clinician.get("/patients/CP-1/flowsheet", params={"as_of": "2024-09-01"}).text
    rows = table(page, "flowsheet-visits")
    assert rows[-1][0].text == "2024-08-01"
    assert not any("stale" in cell.classes for cell in rows[-1])


def test_flowsheet_page_is_linked_from_the_patient_page_and_audited(
    clinician: PageClient, live_server: LiveServer
) -> None:
    page = clinician.get("/patients/CP-2", params={"as_of": AS_OF}).text
    assert f'href="/patients/CP-2/flowsheet?as_of={AS_OF}"' in page
    assert clinician.get(f"/patients/CP-2/flowsheet?as_of={AS_OF}").status_code == 200
    (event,) = _audited(live_server, "CP-2", f"flowsheet as of {AS_OF}")
    assert (event.username, event.channel) == ("clinician", "pages")


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/patients/CP-NOBODY/flowsheet", 404, "no patient with id"),
        ("/patients/CP-1/flowsheet?as_of=2025-02-31", 422, "must be YYYY-MM-DD"),
        ("/patients/CP-1/flowsheet?as_of=1970-01-01", 422, "before the birth date"),
        ("/patients/CP-1/flowsheet?as_of=9999-12-31", 422, "from 1900-01-01 to 2199-12-31"),
        ("/worklist?kind=blood_pressure", 422, "not a kind of due item"),
        ("/worklist?as_of=2199-06-01", 422, "after the latest allowed"),
    ],
)
def test_clinic_pages_bad_input_is_an_error_page_that_says_why(
    clinician: PageClient, path: str, status: int, message: str
) -> None:
    response = clinician.get(path)
    assert response.status_code == status
    assert message in response.text


@pytest.mark.parametrize("path", ["/worklist", "/patients/CP-1/flowsheet"])
def test_clinic_pages_need_a_login(live_server: LiveServer, path: str) -> None:
    anonymous = PageClient(live_server)
    response = anonymous.get(path)
    anonymous.http.close()
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


# --- the patient list ---------------------------------------------------------------------------


def test_patient_list_shows_identity_stage_latest_scores_and_what_is_due_today(
    clinician: PageClient, kb: KnowledgeBase
) -> None:
    page = clinician.get("/patients", params={"q": "cp-4711"}).text
    (row,) = table(page, "patient-list")
    expected = assess(parse_record(COHORT[0]), as_of=services.today(), kb=kb)
    assert expected.staging.kings.stage is not None and expected.due
    patient, due, kings, alsfrs_r, fvc, onset = row
    assert patient.links == ["/patients/CP-1"]
    assert patient.text == "CP-1 Dora Flowsheet MRN CP-4711"
    assert onset.text == "2022-09-01, Lumbosacral diagnosed 2023-03-15"
    assert kings.text.startswith(expected.staging.kings.stage.value)
    assert alsfrs_r.text == "20/48 on 2024-08-01 stale"
    assert fvc.text == "41 % predicted on 2024-08-01 stale"
    oldest = min(expected.due, key=lambda item: item.since or dt.date.max)
    assert due.text.startswith(f"{len(expected.due)} due {oldest.label}, since {oldest.since}")


def test_patient_list_searches_names_and_pages_through_a_hundred_at_a_time(
    clinician: PageClient,
) -> None:
    assert [
        row[0].text for row in table(clinician.get("/patients?q=dora flow").text, "patient-list")
    ] == ["CP-1 Dora Flowsheet MRN CP-4711"]
    first = clinician.get("/patients").text
    ids = [row[0].links[0].removeprefix("/patients/") for row in table(first, "patient-list")]
    assert len(ids) == 100 and 'href="/patients?page=2"' in first
    second = clinician.get("/patients", params={"page": 2}).text
    rest = [row[0].links[0].removeprefix("/patients/") for row in table(second, "patient-list")]
    assert rest and not set(rest) & set(ids)
    assert sorted(ids + rest) == sorted(d["id"] for d in COHORT)
    assert "Previous page" in second


def test_patient_list_audits_each_listed_patient_and_no_other(
    clinician: PageClient, live_server: LiveServer
) -> None:
    detail = f"patient list as of {services.today()}"
    before = {pid: len(_audited(live_server, pid, detail)) for pid in ("CP-1", "CP-3")}
    clinician.get("/patients", params={"q": "CP-3"})
    after = {pid: len(_audited(live_server, pid, detail)) for pid in ("CP-1", "CP-3")}
    assert after == {"CP-1": before["CP-1"], "CP-3": before["CP-3"] + 1}


# --- the worklist -------------------------------------------------------------------------------


def _due_today(kb: KnowledgeBase, kind: str | None = None) -> list[tuple[str, str, str]]:
    """(since, patient, item) for every item the engine finds due today, oldest first."""
    today = services.today()
    found = [
        (str(item.since) if item.since else "not dated", data["id"], item.label)
        for data in sorted(COHORT, key=lambda data: data["id"])
        for item in assess(parse_record(data), as_of=today, kb=kb).due
        if kind is None or item.id == kind
    ]
    return sorted(found, key=lambda one: (one[0] == "not dated", one[0]))


def test_worklist_page_lists_what_is_due_today_oldest_first_and_links_each_patient(
    clinician: PageClient, kb: KnowledgeBase
) -> None:
    page = clinician.get("/worklist").text
    rows = table(page, "worklist")
    shown = [(row[0].text, row[1].links[0].removeprefix("/patients/"), row[2].text) for row in rows]
    expected = _due_today(kb)
    assert [(since, patient) for since, patient, _ in shown] == [(s, p) for s, p, _ in expected]
    assert all(
        text.startswith(label) for (_, _, text), (_, _, label) in zip(shown, expected, strict=True)
    )
    assert f"{len(expected)} items due for 2 patients on {services.today()} (today)" in page


def test_worklist_page_filters_by_kind_and_keeps_the_date(
    clinician: PageClient, kb: KnowledgeBase
) -> None:
    page = clinician.get("/worklist", params={"as_of": AS_OF, "kind": "niv_decision"}).text
    rows = table(page, "worklist")
    assert [row[1].links[0] for row in rows] == [f"/patients/CP-2?as_of={AS_OF}"]
    assert '<option value="niv_decision" selected>' in page
    assert rows[0][3].text.startswith("FVC 77 % predicted on 2024-12-20")
    empty = clinician.get("/worklist", params={"as_of": AS_OF, "kind": "riluzole_liver_tests"})
    assert "Nothing is due of this kind on 2025-02-01." in empty.text
