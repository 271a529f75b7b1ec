"""Over generated records v2: every change alscare.revisions names between two revisions is
found where it says, with the value it says, and two records have no change between them exactly
when they hold the same (null being the same as absent)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from alscare.revisions import ChangeOp, record_changes
from tests.integration.strategies import records


def _recorded(value: Any) -> Any:
    """The value as changes name it: without null members (null is the same as absent)."""
    if isinstance(value, dict):
        return {key: _recorded(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_recorded(item) for item in value]
    return value


def _at(document: Any, pointer: str) -> Any:
    for token in pointer.split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        document = document[int(token)] if isinstance(document, list) else document[token]
    return document


@st.composite
def _revised(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A record, and the same record with some parts taken from another, some entries left
    out, and some fields left out: as corrections leave a record."""
    first, other = draw(records()), draw(records())
    second = dict(first)
    for key in draw(st.lists(st.sampled_from(sorted(other)), max_size=6)):
        second[key] = other[key]
    for key, value in list(second.items()):
        if isinstance(value, list) and value and draw(st.booleans()):
            second[key] = [item for index, item in enumerate(value) if index % 2]
    for key in draw(st.lists(st.sampled_from(sorted(second)), max_size=3)):
        if key not in ("schema", "id"):
            second.pop(key, None)
    return first, second


@given(_revised())
def test_record_changes_every_change_is_found_where_it_says(
    pair: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    before, after = (_recorded(record) for record in pair)
    changes = record_changes(*pair)
    for change in changes:
        if change.op is ChangeOp.REMOVE:
            assert _at(before, change.pointer) == change.before
        else:
            assert _at(after, change.pointer) == change.after
        if change.op is ChangeOp.REPLACE:
            assert _at(before, change.from_ or change.pointer) == change.before
    assert (changes == []) == (record_changes(after, before) == [])
