"""The same clinical truth in every view: for one stored patient on one date, the terminal, the
patient page, the letter and the API all show the same labels, the unverified marks, the stale
scores with why, what is due, the ENCALS event and the model's caveat, in the words of
:mod:`alscare.presentation`."""

from __future__ import annotations

import datetime as dt
import html
import io
import re
from collections.abc import Iterator
from typing import Final

import pytest
from rich.console import Console

from alscare import Assessment, KnowledgeBase, assess, services
from alscare.cli.render import render_assessment
from alscare.presentation import (
    ENCALS_CAVEAT,
    MARKS,
    UNVERIFIED,
    UNVERIFIED_MEANING,
    Kind,
    factor_groups,
    wording,
)
from alscare.schemas.patient import PatientRecord
from tests.conftest import example
from tests.conftest_server import ADMIN_ACTOR, LiveServer
from tests.integration.test_pages import PageClient

AS_OF: Final = dt.date(2025, 2, 1)


@pytest.fixture(scope="module")
def patient(live_server: LiveServer) -> PatientRecord:
    record = example("P-0004-sod1-late", version=2).model_copy(update={"id": "VC-0004"})
    services.import_records(live_server.database, ADMIN_ACTOR, [record])
    return record


@pytest.fixture(scope="module")
def assessment(patient: PatientRecord, kb: KnowledgeBase) -> Assessment:
    return assess(patient, as_of=AS_OF, kb=kb)


def _plain(markup: str) -> str:
    """The words of an HTML page, one space between them."""
    body = re.sub(r"<style>.*?</style>|<svg.*?</svg>", " ", markup, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


@pytest.fixture(scope="module")
def views(
    live_server: LiveServer, patient: PatientRecord, assessment: Assessment, kb: KnowledgeBase
) -> Iterator[dict[str, str]]:
    out = io.StringIO()
    Console(file=out, width=10_000, color_system=None).print(render_assessment(assessment, kb))
    pages = PageClient(live_server)
    pages.log_in("viewer")
    page = pages.get(f"/patients/{patient.id}", params={"as_of": str(AS_OF)}).text
    letter = pages.get(f"/patients/{patient.id}/letter", params={"as_of": str(AS_OF)}).text
    pages.http.close()
    yield {
        "terminal": " ".join(out.getvalue().split()),
        "page": _plain(page),
        "letter": _plain(letter),
    }


VIEWS = ("terminal", "page", "letter")


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_shows_the_encals_event_and_caveat(views, assessment, view):
    text = views[view]
    assert assessment.prognosis.encals.event and assessment.prognosis.encals.event in text
    assert ENCALS_CAVEAT in text


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_shows_why_each_score_is_flagged(views, assessment, kb, view):
    words = wording(kb)
    assert assessment.scores.notes
    for key, note in assessment.scores.notes.items():
        assert f"{words.label(Kind.SCORE, key)}: {note}" in views[view], key


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_labels_alerts_recommendations_and_criteria_alike(views, assessment, kb, view):
    words = wording(kb)
    text = views[view]
    labels = [words.label(Kind.ALERT, alert.id) for alert in assessment.alerts]
    labels += [words.label(Kind.RECOMMENDATION, rec.id) for rec in assessment.recommendations]
    labels += [words.category(Kind.EL_ESCORIAL, assessment.criteria.el_escorial.category)]
    labels += [words.label(Kind.GROUP, rec.group) for rec in assessment.recommendations]
    missing = [label for label in labels if label not in text]
    assert missing == []
    assert "probable_laboratory_supported" not in text and "all_patients" not in text


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_shows_what_is_due_since_when_and_why(views, assessment, view):
    assert assessment.due, "the case is past its repeat windows"
    text = views[view].replace(" ,", ",")  # the pages' markup leaves a space before a comma
    assert any(not item.verified for item in assessment.due)
    for item in assessment.due:
        heading = f"{item.label}, due since {item.since}"
        assert heading in text, item.id
        assert all(reason in text for reason in item.because), item.id
        after = text[text.index(heading) + len(heading) :][:20]
        assert (UNVERIFIED in after.lower()) is not item.verified, (item.id, after)


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_shows_the_diagnostic_and_risk_factors(views, assessment, kb, view):
    groups = factor_groups(assessment, wording(kb))
    assert any(group.recorded for group in groups) and any(g.not_recorded for g in groups)
    text = views[view]
    for group in groups:
        assert group.title in text
        for factor in group.recorded:
            word = "present" if factor.present else "absent"
            assert re.search(rf"{re.escape(factor.label)} ?: {word}", text), factor.label
        assert ", ".join(group.not_recorded) in text


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_marks_the_unverified_conclusions(views, assessment, kb, view):
    words = wording(kb)
    unverified = [alert for alert in assessment.alerts if not alert.verified]
    assert unverified, "the case has an unverified alert"
    text = views[view]
    for alert in unverified:
        label = words.label(Kind.ALERT, alert.id)
        shown = [text[found.end() : found.end() + 40] for found in re.finditer(label, text)]
        assert any(UNVERIFIED in after.lower() for after in shown), shown
    if view != "page":  # the page says it on each mark, as a tooltip
        assert UNVERIFIED_MEANING in text


def test_page_tooltip_and_api_give_the_meaning_of_the_marks(
    live_server: LiveServer, patient: PatientRecord, assessment: Assessment, kb: KnowledgeBase
):
    pages = PageClient(live_server)
    with pages.http:
        pages.log_in("viewer")
        page = pages.get(f"/patients/{patient.id}", params={"as_of": str(AS_OF)}).text
    assert f'title="{UNVERIFIED_MEANING}"' in page
    with live_server.client() as client:
        served = client.get("/api/v1/wording").json()
        assessed = client.get(
            f"/api/v1/patients/{patient.id}/assessment", params={"as_of": str(AS_OF)}
        )
    assert served["marks"] == MARKS and served["caveats"]["encals"] == ENCALS_CAVEAT
    assert served["labels"] == wording(kb).vocabulary()
    assert assessed.status_code == 401  # the wording needs no login, the patient does
    alert = assessment.alerts[0]
    assert served["labels"]["alert"][alert.id] == wording(kb).label(Kind.ALERT, alert.id)
