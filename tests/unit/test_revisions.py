"""What changed between two revisions of a record (alscare.revisions): exact pointers with the
values before and after, entries matched as entries, null the same as absent, and which changes
are corrections that need a reason (tests/property/test_revision_properties.py: over generated
records, every change is found where it says)."""

from __future__ import annotations

from typing import Any

import pytest

from alscare.revisions import (
    MAX_REASON_LENGTH,
    ReasonRequiredError,
    checked_reason,
    corrections,
    record_changes,
)

BEFORE: dict[str, Any] = {
    "schema": "alscare.patient/v2",
    "id": "P-1",
    "sex": "female",
    "weights": [
        {"date": "2025-01-10", "kg": 64.0},
        {"date": "2025-02-10", "kg": 7.5},
        {"date": "2025-03-10", "kg": 63.0},
    ],
}


def _json(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    return [change.to_json_dict() for change in record_changes(before, after)]


def test_record_changes_of_a_record_and_itself_is_empty() -> None:
    assert record_changes(BEFORE, dict(BEFORE)) == []


def test_record_changes_names_a_corrected_value_by_its_pointer() -> None:
    weights = [BEFORE["weights"][0], {"date": "2025-02-10", "kg": 75.0}, BEFORE["weights"][2]]
    assert _json(BEFORE, {**BEFORE, "weights": weights}) == [
        {"op": "replace", "pointer": "/weights/1/kg", "before": 7.5, "after": 75.0}
    ]


def test_record_changes_matches_entries_whatever_their_place() -> None:
    """The first weight removed and the second corrected: one remove where it was, one replace
    where it is, with where it was."""
    weights = [{"date": "2025-02-10", "kg": 75.0}, BEFORE["weights"][2]]
    assert _json(BEFORE, {**BEFORE, "weights": weights}) == [
        {"op": "remove", "pointer": "/weights/0", "before": {"date": "2025-01-10", "kg": 64.0}},
        {
            "op": "replace",
            "pointer": "/weights/0/kg",
            "before": 7.5,
            "after": 75.0,
            "from": "/weights/1/kg",
        },
    ]


def test_record_changes_an_entry_added_between_others_is_one_add() -> None:
    weights = [*BEFORE["weights"][:1], {"date": "2025-01-20", "kg": 64.5}, *BEFORE["weights"][1:]]
    assert _json(BEFORE, {**BEFORE, "weights": weights}) == [
        {"op": "add", "pointer": "/weights/1", "after": {"date": "2025-01-20", "kg": 64.5}}
    ]


def test_record_changes_an_entry_with_nothing_alike_is_removed_and_added() -> None:
    weights = [*BEFORE["weights"][:2], {"date": "2025-04-01", "kg": 60.0}]
    assert [change["op"] for change in _json(BEFORE, {**BEFORE, "weights": weights})] == [
        "remove",
        "add",
    ]


def test_record_changes_null_is_the_same_as_absent() -> None:
    before = {"id": "P-1", "examinations": [{"date": "2025-01-10", "regions": {"bulbar": {}}}]}
    after = {
        "id": "P-1",
        "examinations": [{"date": "2025-01-10", "regions": {"bulbar": {}, "thoracic": None}}],
        "sex": None,
    }
    assert record_changes(before, after) == []


def test_record_changes_fields_added_removed_and_changed_in_record_order() -> None:
    after = {"schema": "alscare.patient/v2", "id": "P-1", "height_cm": 165, "sex": "male"}
    assert _json(BEFORE, after) == [
        {"op": "add", "pointer": "/height_cm", "after": 165},
        {"op": "replace", "pointer": "/sex", "before": "female", "after": "male"},
        {"op": "remove", "pointer": "/weights", "before": BEFORE["weights"]},
    ]


@pytest.mark.parametrize(
    ("after", "correction"),
    [
        ({"height_cm": 165}, False),  # a new field
        ({"weights": [*BEFORE["weights"], {"date": "2025-04-01", "kg": 62}]}, False),  # new entry
        ({"sex": "male"}, True),  # changed
        ({"sex": None}, True),  # removed
        ({"weights": BEFORE["weights"][1:]}, True),  # an entry removed
        (
            {"weights": [{**BEFORE["weights"][0], "date_inferred": True}, *BEFORE["weights"][1:]]},
            True,
        ),
    ],
)
def test_corrections_are_changes_to_what_was_recorded(
    after: dict[str, Any], correction: bool
) -> None:
    changes = record_changes(BEFORE, {**BEFORE, **after})
    assert changes
    assert bool(corrections(changes)) is correction


def test_checked_reason_needs_one_for_a_correction_only() -> None:
    added = record_changes(BEFORE, {**BEFORE, "height_cm": 165})
    corrected = record_changes(BEFORE, {**BEFORE, "sex": "male"})
    assert checked_reason(None, added, required=False) is None
    assert checked_reason("  measured  ", added, required=False) == "measured"
    assert checked_reason("typo", corrected, required=False) == "typo"
    for blank in (None, "", "   "):
        with pytest.raises(ReasonRequiredError) as raised:
            checked_reason(blank, corrected, required=False)
        assert raised.value.missing
    with pytest.raises(ReasonRequiredError):
        checked_reason(None, added, required=True)


def test_checked_reason_refuses_what_cannot_be_stored() -> None:
    changes = record_changes(BEFORE, {**BEFORE, "sex": "male"})
    assert checked_reason("x" * MAX_REASON_LENGTH, changes, required=True)
    for reason in ("x" * (MAX_REASON_LENGTH + 1), "a\x00b"):
        with pytest.raises(ReasonRequiredError) as raised:
            checked_reason(reason, changes, required=True)
        assert not raised.value.missing
