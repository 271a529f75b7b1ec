"""Assessment v1 helpers: the sources an assessment cites."""

from __future__ import annotations

import datetime as dt

from alscare import assess
from tests.conftest import example


def test_assessment_cited_sources_first_citation_order(kb):

    assessment = assess(example("P-0001-limb-onset"), as_of=dt.date(2025, 2, 1), kb=kb)
    cited = assessment.cited_sources()
    assert len(cited) == len(set(cited)) > 5
    assert cited[0] in assessment.scores.sources
    assert set(cited) <= {source.id for source in kb.sources}
