"""The source registry: every source is cited by some statement, identifiers are well formed,
and the seed topic is credited."""

from __future__ import annotations

from alscare.knowledge.models import cited_statements


def test_sources_every_source_cited(kb):
    unused = sorted({source.id for source in kb.sources} - kb.cited_source_ids())
    assert unused == [], f"sources no statement cites: {unused}"


def test_sources_every_cited_source_registered(kb):
    registered = {source.id for source in kb.sources}
    assert kb.cited_source_ids() <= registered


def test_sources_ids_unique_and_each_locatable(kb):
    ids = [source.id for source in kb.sources]
    assert len(ids) == len(set(ids))
    for source in kb.sources:
        assert source.doi or source.pmid or source.url or source.citation, source.id


def test_sources_every_statement_says_where(kb):
    for section in (kb.topic, kb.scoring, kb.diagnosis, kb.treatment):
        for path, statement in cited_statements(section):
            assert statement.sources, path
            assert all(ref.where.strip() for ref in statement.sources), path


def test_sources_seed_topic_credited(kb):
    seed = kb.source("bmj_best_practice_als")
    assert seed.kind == "reference"
    assert "bmj_best_practice_als" in kb.topic.overview.source_ids


def test_sources_verified_identifiers(kb):
    # Identifiers checked against the reference or a public record (CHANGELOG, Knowledge 2026.1).
    assert kb.source("turner2013_mimics").pmid == "23616620"
    assert kb.source("turner2022_bmj_practice_pointer").doi == "10.1136/bmj-2022-073857"
    assert kb.source("decarvalho2008_awaji").doi == "10.1016/j.clinph.2007.09.143"
    assert kb.source("brooks2000_el_escorial").pmid is None  # not verified: no identifier
