"""docs/rules.md is generated from the grammar and the fact catalogue, and kept up to date."""

from __future__ import annotations

from pathlib import Path

from alscare.knowledge.facts import CATALOGUE
from alscare.knowledge.reference import rules_reference

DOC = Path(__file__).resolve().parents[2] / "docs" / "rules.md"


def test_rules_doc_is_up_to_date(kb):
    assert DOC.read_text(encoding="utf-8") == rules_reference(kb), (
        "docs/rules.md is out of date: run .venv/bin/python scripts/rules-doc"
    )


def test_rules_doc_names_every_fact_threshold_and_named_condition(kb):
    text = rules_reference(kb)
    assert all(f"`{spec.pattern}`" in text for spec in CATALOGUE)
    assert all(f"`{threshold.id}`" in text for threshold in kb.rules.thresholds)
    assert all(f"`{named.id}`" in text for named in kb.rules.conditions)


def test_rules_doc_truth_tables_come_from_the_language(kb):
    # Kleene: unknown and false is false; unknown or true is true
    text = rules_reference(kb)
    assert "| unknown | false | false | unknown | unknown | false | true |" in text
    assert "| false | unknown | false | unknown | true | false | false |" in text
