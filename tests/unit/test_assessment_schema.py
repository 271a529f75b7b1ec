"""Assessment v1 helpers: the sources an assessment cites, its canonical JSON, and what it never
holds (the identity of a v2 record)."""

from __future__ import annotations

import datetime as dt

from alscare import Assessment, assess
from tests.builders import make_record_v2
from tests.conftest import example

AS_OF = dt.date(2025, 2, 1)


def test_assessment_cited_sources_first_citation_order(kb):
    assessment = assess(example("P-0001-limb-onset"), as_of=AS_OF, kb=kb)
    cited = assessment.cited_sources()
    assert len(cited) == len(set(cited)) > 5
    assert cited[0] in assessment.scores.sources
    assert set(cited) <= {source.id for source in kb.sources}


def test_assessment_json_reads_back_to_the_same_assessment(kb):
    assessment = assess(example("P-0004-sod1-late"), as_of=AS_OF, kb=kb)
    text = assessment.to_json()
    assert text.endswith("}\n")
    assert Assessment.model_validate_json(text) == assessment
    assert Assessment.model_validate_json(assessment.to_json_line()) == assessment


def test_assessment_never_holds_the_record_identity(kb):
    # Record v2: `identity` is for the clinic only, never copied into an assessment.
    record = make_record_v2(
        identity={"name": "Ada Quorum", "identifiers": [{"system": "MRN", "value": "77-31-905"}]},
        symptom_onset={"date": "2024-01-01"},
        diagnosis_date="2024-06-01",
    )
    text = assess(record, as_of=AS_OF, kb=kb).to_json()
    assert "Ada Quorum" not in text and "77-31-905" not in text
