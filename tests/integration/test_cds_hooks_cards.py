"""CDS Hooks cards of the example records at many dates: the contract every card keeps (no null
anywhere, a summary under 140 characters, an indicator CDS Hooks knows, alerts first, the cap on
recommendations, the unverified mark, uuids stable for a hook call) and the FHIR resources the
suggestions propose. The cards are built from the engine's assessment directly
(``assessment_cards``): the HTTP path is ``test_cds_hooks.py``'s."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any, Final

import pytest
from fhir.resources.R4B.servicerequest import ServiceRequest
from hypothesis import given
from hypothesis import strategies as st

from alscare import KnowledgeBase, PatientRecord, assess
from alscare.assessment_dates import first_date
from alscare.interop.cds_hooks import (
    MAX_RECOMMENDATION_CARDS,
    Call,
    assessment_cards,
)
from alscare.presentation import UNVERIFIED
from tests.conftest import example

EXAMPLES: Final = (
    "P-0001-limb-onset",
    "P-0002-bulbar-onset",
    "P-0003-conduction-block",
    "P-0004-sod1-late",
)
INDICATORS: Final = {"info", "warning", "critical"}
BASE: Final = "https://alscare.example.org"
AS_OF: Final = dt.date(2025, 2, 1)


def _cards(record: PatientRecord, on: dt.date, kb: KnowledgeBase) -> list[dict[str, Any]]:
    call = Call("hook-instance-1", "patient-1", BASE, kb)
    return assessment_cards(assess(record, as_of=on, kb=kb), call)


def _values(node: object) -> Iterator[object]:
    """Every value of a JSON document, containers included."""
    yield node
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    for child in children:
        yield from _values(child)


def _dates(record: PatientRecord) -> st.SearchStrategy[dt.date]:
    first = first_date(record)
    return st.dates(first[1] if first else dt.date(2020, 1, 1), dt.date(2027, 12, 31))


@pytest.mark.parametrize("name", EXAMPLES)
@given(data=st.data())
def test_cds_hooks_cards_of_examples_keep_the_card_contract(
    kb: KnowledgeBase, name: str, data: st.DataObject
) -> None:
    record = example(name, version=2)
    cards = _cards(record, data.draw(_dates(record)), kb)
    assert all(value is not None for value in _values(cards))
    for card in cards:
        assert len(card["summary"]) < 140
        assert card["indicator"] in INDICATORS
        assert card["source"]["label"] and card["source"]["url"].startswith("http")
        assert [link["type"] for link in card["links"]] == ["smart"]
        assert card["links"][0]["url"] == f"{BASE}/smart/launch"
        assert card["overrideReasons"] and all(r["code"] for r in card["overrideReasons"])
    kinds = [card["source"]["topic"]["code"].split("/")[0] for card in cards]
    assert kinds == sorted(kinds)  # "alert" before "recommendation"
    assert kinds.count("recommendation") <= MAX_RECOMMENDATION_CARDS


@pytest.mark.parametrize("name", EXAMPLES)
def test_cds_hooks_cards_mark_what_rests_on_unverified_rules(kb: KnowledgeBase, name: str) -> None:
    record = example(name, version=2)
    assessment = assess(record, as_of=AS_OF, kb=kb)
    cards = assessment_cards(assessment, Call("h", "p", BASE, kb))
    unverified = {f"alert/{a.id}" for a in assessment.alerts if not a.verified} | {
        f"recommendation/{r.id}" for r in assessment.recommendations if not r.verified
    }
    for card in cards:
        marked = card["source"]["topic"]["code"] in unverified
        assert card["summary"].endswith(f"({UNVERIFIED})") is marked
        assert (f"*{UNVERIFIED}*" in card["detail"]) is marked


def test_cds_hooks_card_uuids_are_the_same_for_the_same_hook_call(kb: KnowledgeBase) -> None:
    record = example("P-0004-sod1-late", version=2)
    assessment = assess(record, as_of=AS_OF, kb=kb)
    first = assessment_cards(assessment, Call("call-a", "p", BASE, kb))
    again = assessment_cards(assessment, Call("call-a", "p", BASE, kb))
    other = assessment_cards(assessment, Call("call-b", "p", BASE, kb))
    uuids = [card["uuid"] for card in first]
    assert uuids == [card["uuid"] for card in again]
    assert len(set(uuids)) == len(uuids)
    assert not set(uuids) & {card["uuid"] for card in other}


def test_cds_hooks_suggested_service_requests_are_valid_fhir(kb: KnowledgeBase) -> None:
    cards = [card for name in EXAMPLES for card in _cards(example(name, version=2), AS_OF, kb)]
    resources = [
        action["resource"]
        for card in cards
        for suggestion in card.get("suggestions", ())
        for action in suggestion["actions"]
        if action["type"] == "create"
    ]
    assert resources
    for resource in resources:
        request = ServiceRequest.model_validate(resource)
        assert request.subject.reference == "Patient/patient-1"
    for card in cards:
        suggestions = card.get("suggestions", [])
        assert ("selectionBehavior" in card) is bool(suggestions)
        assert all(s["uuid"] and s["label"] for s in suggestions)
