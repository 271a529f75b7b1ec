"""The patient page's "Trials this patient may fit" (alscare.cohort.trials.fitting_trials) over
HTTP against a live server (SQLite and PostgreSQL): a patient who fits sees the trials with
what is still to find out and their sources in the page's references; a patient who fits none
sees that said, and no trial."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from alscare import KnowledgeBase, assess, parse_record, services
from alscare.cohort.trials import fitting_trials
from alscare.storage.security import Actor, Channel, Role
from tests.builders import losing, signs
from tests.builders_v2 import ALS_BASE, examination, rated, respiratory
from tests.conftest_server import PASSWORD, LiveServer

SETUP = Actor(username="test-setup", role=Role.ADMIN, channel=Channel.CLI)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
AS_OF = dt.date(2024, 2, 1)
BOTH = signs(umn=True, lmn=True)
UNVERIFIED = 'class="tag unverified"'


@pytest.fixture
def viewer(live_server: LiveServer) -> Iterator[httpx.Client]:
    """A client logged in to the clinic pages as the viewer."""
    with httpx.Client(base_url=live_server.url, follow_redirects=False, timeout=30) as client:
        token = CSRF.search(client.get("/login").text)
        assert token is not None
        form = {"csrf_token": token.group(1), "username": "viewer", "password": PASSWORD}
        assert client.post("/login", data=form).status_code == 303
        yield client


def _store(server: LiveServer, patient_id: str, **fields: Any) -> None:
    record = parse_record({"schema": "alscare.patient/v2", "id": patient_id, **ALS_BASE, **fields})
    services.import_records(server.database, SETUP, [record], replace=True)


def _trials_section(client: httpx.Client, patient_id: str, as_of: dt.date) -> str:
    response = client.get(f"/patients/{patient_id}", params={"as_of": str(as_of)})
    assert response.status_code == 200, response.text
    found = re.search(r'<section[^>]*id="trials".*?</section>', response.text, re.S)
    assert found is not None, "the page has no trials section"
    return found.group(0)


def _text(markup: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def test_patient_trials_fitting_patient_sees_trials(
    live_server: LiveServer, viewer: httpx.Client, kb: KnowledgeBase
) -> None:
    # A SOD1 variant and FVC 85 % a fortnight ago: the SOD1 and early-disease trials; no
    # ENCALS prediction, so the risk window is still to find out.
    _store(
        live_server,
        "TRIALS-FIT",
        respiratory=[respiratory("2024-01-20", fvc_percent_predicted=85)],
        genetics=[{"gene": "SOD1", "result": "pathogenic", "date": "2024-01-05"}],
    )
    section = _trials_section(viewer, "TRIALS-FIT", AS_OF)
    ids = re.findall(r'<li id="trial-([a-z0-9_]+)">', section)
    assert ids == ["early_disease_fvc", "sod1_variant", "tricals_risk_window"]
    text = _text(section)
    assert "SOD1-ALS trial (tofersen/VALOR-style, example)" in text
    assert "meets every criterion on the recorded data" in text
    assert "example criteria" in text
    # What the file leaves out is said beside the trial.
    assert "VALOR's other entry criteria are not in alscare's sources" in text
    window = _text(re.search(r'<li id="trial-tricals_risk_window">.*?</details>', section, re.S)[0])
    assert "may fit: some criteria cannot be decided yet" in window
    assert "Still to find out: ENCALS linear predictor" in window
    assert "the trial asks for -6 to -2" in window
    # The early-disease and risk-window trials are unverified; the SOD1 trial is not.
    marks = re.findall(
        r'<li id="trial-([a-z0-9_]+)">\s*<div class="rec-head">(.*?)</div>', section, re.S
    )
    unverified = {trial_id for trial_id, head in marks if UNVERIFIED in head}
    assert unverified == {"early_disease_fvc", "tricals_risk_window"}
    # Every unverified trial and criterion, and nothing else, carries the mark.
    record = services.get_patient(live_server.database, SETUP, "TRIALS-FIT")
    fitting = fitting_trials(record, assess(record, as_of=AS_OF, kb=kb), kb=kb)
    marked = [t.verified for t in fitting] + [c.verified for t in fitting for c in t.criteria]
    assert section.count(UNVERIFIED) == marked.count(False) > 0
    page = viewer.get("/patients/TRIALS-FIT", params={"as_of": str(AS_OF)}).text
    for source_id in ("fda2023_tofersen", "fda2017_edaravone", "vaneijk_encals_code"):
        assert f'id="src-{source_id}"' in page  # every trial citation resolves on the page


def test_patient_trials_patient_who_fits_none_sees_no_trial(
    live_server: LiveServer, viewer: httpx.Client
) -> None:
    # No SOD1 variant, FVC 70 %, and a predicted risk outside the example window (diagnosed 6
    # months after a bulbar onset at 70, losing 1.5 points a month, FTD, C9orf72).
    onset = dt.date(2023, 1, 1)
    diagnosed = onset + dt.timedelta(days=round(6 * 30.4375))
    lost = 9  # 9 points in 6 months: 1.5 points/month
    _store(
        live_server,
        "TRIALS-NONE",
        birth_date="1953-01-01",
        symptom_onset={"date": str(onset), "site": "bulbar"},
        diagnosis_date=str(diagnosed),
        examinations=[examination(str(diagnosed), bulbar=BOTH, cervical=BOTH, lumbosacral=BOTH)],
        alsfrs_r=[rated(str(diagnosed), **losing(lost))],
        respiratory=[respiratory(str(diagnosed), fvc_percent_predicted=70)],
        cognition=[{"date": str(diagnosed), "ftd": True}],
        genetics=[
            {"gene": "C9orf72", "result": "pathogenic", "date": str(diagnosed)},
            {"gene": "SOD1", "result": "negative", "date": str(diagnosed)},
        ],
    )
    as_of = diagnosed + dt.timedelta(days=14)
    section = _trials_section(viewer, "TRIALS-NONE", as_of)
    assert '<li id="trial-' not in section
    assert _text(section) == (
        f"Trials this patient may fit No trial alscare knows of fits on {as_of} on the "
        "recorded data."
    )
