"""topic_document and topic_markdown: every item with id, label and sources, the editorial
metadata, references numbered in order of first citation, review status only on a given date."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from alscare.errors import NotFoundError
from alscare.knowledge.document import (
    TOPIC_SCHEMA,
    TOPIC_SECTIONS,
    citation_marks,
    review_status,
    topic_document,
    topic_markdown,
)
from alscare.schemas.vocabulary import FindingId, RiskFactorId


def test_topic_document_whole_topic_has_every_section_in_order(kb):
    document = topic_document(kb, as_of=None, section=None)
    assert document["schema"] == TOPIC_SCHEMA
    assert tuple(document["sections"]) == TOPIC_SECTIONS
    assert document["knowledge_version"] == kb.version


def test_topic_document_is_json_ready(kb):
    document = topic_document(kb, as_of=dt.date(2027, 1, 1), section=None)
    assert json.loads(json.dumps(document)) == document


def test_topic_document_lists_every_finding_and_risk_factor_by_vocabulary_id(kb):
    sections = topic_document(kb, as_of=None, section=None)["sections"]
    assert [item["id"] for item in sections["factors"]["items"]] == [f.value for f in FindingId]
    risk_ids = [item["id"] for item in sections["risk-factors"]["items"]]
    assert risk_ids == [r.value for r in RiskFactorId]


@pytest.mark.parametrize(
    "section", ["factors", "risk-factors", "investigations", "differentials", "guidelines"]
)
def test_topic_document_items_carry_id_label_sources(kb, section):
    items = topic_document(kb, as_of=None, section=section)["sections"][section]["items"]
    assert items
    for item in items:
        assert item["id"]
        assert item.get("label") or item.get("title")
        assert item["sources"]
        assert all(set(ref) == {"id", "where"} for ref in item["sources"])


def test_topic_document_investigations_hide_rule_internals(kb):
    items = topic_document(kb, as_of=None, section="investigations")["sections"]
    item = items["investigations"]["items"][0]
    assert set(item) == {
        "id",
        "label",
        "tier",
        "when",
        "als_result",
        "addresses",
        "sources",
        "evidence",
        "verified",
    }


def test_topic_document_differentials_hide_rule_internals(kb):
    body = topic_document(kb, as_of=None, section="differentials")["sections"]["differentials"]
    assert "rules" not in body["items"][0]
    assert {"features", "tests", "seed", "spectrum"} <= set(body["items"][0])


def test_topic_document_treatment_has_groups_steps_and_drugs(kb):
    body = topic_document(kb, as_of=None, section="treatment")["sections"]["treatment"]
    assert body["items"] and all(group["steps"] for group in body["items"])
    assert all(step["sources"] for group in body["items"] for step in group["steps"])
    assert {drug["id"] for drug in body["drugs"]} >= {"riluzole", "tofersen"}


def test_topic_document_one_section_only(kb):
    document = topic_document(kb, as_of=None, section="guidelines")
    assert list(document["sections"]) == ["guidelines"]


def test_topic_document_unknown_section_names_the_sections(kb):
    with pytest.raises(NotFoundError, match="no topic section 'nope'.*risk-factors"):
        topic_document(kb, as_of=None, section="nope")


def test_topic_document_editorial_metadata_at_top_level(kb):
    document = topic_document(kb, as_of=None, section="factors")
    assert document["last_reviewed"] == kb.about.last_reviewed.isoformat()
    assert document["last_updated"] == kb.about.last_updated.isoformat()
    assert document["review_due"] == kb.about.review_due().isoformat()


def test_topic_document_review_overdue_null_without_date(kb):
    document = topic_document(kb, as_of=None, section=None)
    assert document["as_of"] is None
    assert document["review_overdue"] is None


def test_topic_document_review_overdue_on_given_date(kb):
    due = kb.about.review_due()
    on_due = topic_document(kb, as_of=due, section="about")
    after = topic_document(kb, as_of=due + dt.timedelta(days=1), section="about")
    assert on_due["review_overdue"] is False
    assert after["review_overdue"] is True
    assert after["as_of"] == (due + dt.timedelta(days=1)).isoformat()


def test_topic_document_references_numbered_in_order_of_first_citation(kb):
    document = topic_document(kb, as_of=None, section="risk-factors")
    first_citations: list[str] = []
    for item in document["sections"]["risk-factors"]["items"]:
        for ref in item["sources"]:
            if ref["id"] not in first_citations:
                first_citations.append(ref["id"])
    assert [ref["id"] for ref in document["references"]] == first_citations
    assert [ref["number"] for ref in document["references"]] == list(
        range(1, len(first_citations) + 1)
    )
    assert all(ref["citation"] for ref in document["references"])


def test_topic_document_sources_section_is_the_registry(kb):
    body = topic_document(kb, as_of=None, section="sources")["sections"]["sources"]
    assert [item["id"] for item in body["items"]] == [source.id for source in kb.sources]


def test_topic_document_about_credits_seed_topic_not_its_authors(kb):
    body = topic_document(kb, as_of=None, section="about")["sections"]["about"]
    assert "bmj_best_practice_als" in {ref["id"] for ref in body["overview"]["sources"]}
    names = " ".join(person["name"] for person in body["contributors"] + body["peer_reviewers"])
    assert "Shoesmith" not in names and "Turner" not in names


def test_citation_marks_sorted_unique_numbers():
    refs = [{"id": "b", "where": "x"}, {"id": "a", "where": "y"}, {"id": "b", "where": "z"}]
    assert citation_marks(refs, {"a": 3, "b": 1}) == "[1, 3]"
    assert citation_marks([], {}) == ""


def test_review_status_three_states(kb):
    document = topic_document(kb, as_of=None, section="about")
    assert "give a date" in review_status(document)
    late = topic_document(kb, as_of=kb.about.review_due() + dt.timedelta(days=1), section="about")
    assert review_status(late).startswith("REVIEW OVERDUE")
    early = topic_document(kb, as_of=kb.about.last_reviewed, section="about")
    assert review_status(early).startswith("review up to date")


def test_topic_markdown_whole_topic_has_headings_and_references(kb):
    text = topic_markdown(kb, as_of=None, section=None)
    assert text.startswith(f"# {kb.about.title}\n")
    for heading in (
        "## Diagnostic factors",
        "### Key diagnostic factors",
        "### Red flags: features that point away from ALS",
        "## Risk factors",
        "## Investigations",
        "## Differentials",
        "## Treatment algorithm",
        "## Guidelines",
        "## Sources",
        "## About this topic",
        "## References",
    ):
        assert f"\n{heading}\n" in text
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_topic_markdown_item_shows_codes_flags_and_citation_numbers(kb):
    text = topic_markdown(kb, as_of=None, section="factors")
    head_drop = next(line for line in text.splitlines() if "**Head drop**" in line)
    assert "HP:0000467 Neck muscle weakness" in head_drop
    cramps = text.split("**Painful muscle spasms (cramps)**")[1].splitlines()[1]
    assert "(unverified)" in cramps
    assert cramps.rstrip().endswith("]")


def test_topic_markdown_risk_factor_effect_size_and_evidence(kb):
    text = topic_markdown(kb, as_of=None, section="risk-factors")
    assert "Effect size: OR 1.34 (2023 meta-analysis)." in text
    assert "evidence: Level B" in text


def test_topic_markdown_review_status_line(kb):
    late = kb.about.review_due() + dt.timedelta(days=1)
    assert "*REVIEW OVERDUE on" in topic_markdown(kb, as_of=late, section="guidelines")


def test_topic_markdown_about_without_peer_reviewers_says_so(kb):
    text = topic_markdown(kb, as_of=None, section="about")
    assert "None yet: the topic awaits external clinical peer review." in text
    assert "### Contributors" in text


def test_topic_markdown_references_give_identifiers(kb):
    text = topic_markdown(kb, as_of=None, section="sources")
    assert "doi:10.1136/practneurol-2013-000557" in text
    assert "PMID 19822872" in text
    assert "<https://www.nice.org.uk/guidance/ng42>" in text
