"""Editorial metadata: the topic reports itself "review overdue" once its last review is older
than the review period (12 months unless configured) on the given date."""

from __future__ import annotations

import datetime as dt

import pytest

from alscare.knowledge.models import Editorial


def _editorial(last_reviewed: str, period: int = 12) -> Editorial:
    return Editorial.model_validate(
        {
            "title": "Test topic",
            "knowledge_version": "2026.1",
            "last_reviewed": last_reviewed,
            "last_updated": last_reviewed,
            "review_period_months": period,
            "contributors": [{"name": "editors", "role": "authors", "disclosure": "None."}],
            "disclaimer": "Decision support only.",
        }
    )


@pytest.mark.parametrize(
    ("last_reviewed", "on", "overdue"),
    [
        ("2025-03-10", "2026-03-10", False),  # exactly 12 months: due, not yet overdue
        ("2025-03-10", "2026-03-11", True),
        ("2025-03-10", "2025-09-01", False),
        ("2024-01-31", "2025-01-31", False),
    ],
)
def test_editorial_review_overdue_default_period(last_reviewed, on, overdue):
    editorial = _editorial(last_reviewed)
    assert editorial.review_overdue(dt.date.fromisoformat(on)) is overdue


def test_editorial_review_overdue_configured_period():
    editorial = _editorial("2025-01-15", period=6)
    assert editorial.review_due() == dt.date(2025, 7, 15)
    assert editorial.review_overdue(dt.date(2025, 7, 16)) is True
    assert editorial.review_overdue(dt.date(2025, 7, 16), period_months=12) is False


def test_editorial_review_due_clamps_to_month_end():
    assert _editorial("2025-01-31", period=1).review_due() == dt.date(2025, 2, 28)
    assert _editorial("2023-02-28", period=12).review_due() == dt.date(2024, 2, 28)


def test_editorial_packaged_topic_has_metadata(kb):
    about = kb.about
    assert about.review_period_months == 12
    assert about.last_updated >= about.last_reviewed
    assert about.contributors and all(person.disclosure for person in about.contributors)
    assert all(person.disclosure for person in about.peer_reviewers)
    assert about.review_overdue(about.last_reviewed) is False
