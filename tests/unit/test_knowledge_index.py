"""Indexed values of the knowledge models: computed once, recomputed for a changed copy."""

from __future__ import annotations

from alscare.knowledge import KnowledgeBase


def test_an_index_is_computed_once_and_kept(kb: KnowledgeBase) -> None:
    diagnosis = kb.diagnosis.model_copy()
    first = diagnosis.investigation_by_id
    assert diagnosis.investigation_by_id is first
    assert diagnosis.investigation("emg_ncs") is first["emg_ncs"]


def test_a_copy_with_replaced_items_indexes_the_new_items(kb: KnowledgeBase) -> None:
    diagnosis = kb.diagnosis
    assert diagnosis.investigation("emg_ncs").label  # the original's index exists now
    emg = diagnosis.investigation("emg_ncs")
    renamed = emg.model_copy(update={"label": "Electromyography, renamed"})
    items = tuple(renamed if item.id == "emg_ncs" else item for item in diagnosis.investigations)
    changed = diagnosis.model_copy(update={"investigations": items})
    assert changed.investigation("emg_ncs").label == "Electromyography, renamed"
    assert diagnosis.investigation("emg_ncs").label == emg.label


def test_an_indexed_value_is_not_a_field_and_not_compared(kb: KnowledgeBase) -> None:
    fresh = kb.topic.model_copy(update={"findings": kb.topic.findings})
    assert kb.topic.finding_labels  # cached on one side only
    assert fresh == kb.topic
    assert "finding_labels" not in kb.topic.model_dump()
