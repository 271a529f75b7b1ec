"""What changed between two revisions of a patient's record, and what a change needs.

A record's history is a list of revisions, each the whole record v2 as one write left it. This
module compares two of them as JSON (``PatientRecord.to_json_dict()``) and names each
difference as a :class:`Change`, in the vocabulary of JSON Patch (RFC 6902):

* ``add``: a value recorded in this revision that the previous one did not hold; ``pointer``
  (a JSON pointer, RFC 6901) is where it is in this revision, ``after`` the value;
* ``remove``: a value of the previous revision that this one no longer holds; ``pointer`` is
  where it was in the previous revision, ``before`` the value;
* ``replace``: a value changed in place; ``pointer`` is where it is in this revision, ``before``
  and ``after`` the two values, and ``from`` where it was in the previous revision when that
  differs (an entry moved because an earlier one was removed or added).

Entries of a series are compared as entries, not by position: entries left alike are matched
first, and an entry changed in place is matched with the most similar one (half its fields or
more alike), so correcting one weight names that weight's ``kg``, and removing one names that
entry, whatever their positions. ``null`` and an absent key mean the same in a record (not
recorded), so they are never a change.

A **correction** is any change to what was recorded: a ``replace``, a ``remove``, or an ``add``
inside an entry or field that was already recorded. Only adding a new entry to a list or a new
top-level field is a pure addition; every other change needs a reason (:func:`checked_reason`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping, Sequence
from difflib import SequenceMatcher
from enum import StrEnum
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

from alscare.errors import AlscareError
from alscare.schemas.common import json_pointer
from alscare.storage.history import RevisionEntry

__all__ = [
    "MAX_REASON_LENGTH",
    "Change",
    "ChangeOp",
    "HistoryEntry",
    "ReasonRequiredError",
    "StaleRevisionError",
    "checked_reason",
    "corrections",
    "record_changes",
    "revision_history",
]

MAX_REASON_LENGTH: Final = 500  # the width of patient_revisions.reason
# Two entries are one entry changed in place when at least this share of their fields is alike.
_SAME_ENTRY: Final = 0.5


class ReasonRequiredError(AlscareError):
    """Raised when a change corrects or removes recorded data and gives no reason for it
    (``missing``), or gives a reason that cannot be stored."""

    def __init__(self, message: str, *, missing: bool = True) -> None:
        self.missing = missing
        super().__init__(message)


class StaleRevisionError(AlscareError):
    """Raised when a write was made against a revision that is no longer the current one:
    someone else changed the record meanwhile. ``current`` is the current revision."""

    def __init__(self, patient_id: str, expected: int, current: int) -> None:
        self.patient_id = patient_id
        self.expected = expected
        self.current = current
        super().__init__(
            f"the record of patient {patient_id!r} has changed since revision {expected}: "
            f"the current revision is {current}; read it again and redo the change on it"
        )


class ChangeOp(StrEnum):
    ADD = "add"
    REMOVE = "remove"
    REPLACE = "replace"


class Change(BaseModel):
    """One difference between a revision and the one before it (see the module docstring)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    op: ChangeOp
    pointer: str = Field(description="where the value is (for remove: where it was)")
    before: Any = Field(None, description="the value in the previous revision (not for add)")
    after: Any = Field(None, description="the value in this revision (not for remove)")
    from_: str | None = Field(
        None, alias="from", description="where a replaced value was, when it moved"
    )

    @property
    def is_correction(self) -> bool:
        """True unless the change adds a new entry to a list or a new top-level field."""
        if self.op is not ChangeOp.ADD:
            return True
        tokens = self.pointer.split("/")[1:]
        return len(tokens) > 1 and not tokens[-1].isdigit()

    def to_json_dict(self) -> dict[str, Any]:
        """The change as JSON: only the keys its ``op`` uses."""
        data: dict[str, Any] = {"op": self.op.value, "pointer": self.pointer}
        if self.op is not ChangeOp.ADD:
            data["before"] = self.before
        if self.op is not ChangeOp.REMOVE:
            data["after"] = self.after
        if self.from_ is not None:
            data["from"] = self.from_
        return data


class HistoryEntry(BaseModel):
    """One revision in a record's history: who wrote it, when, why, and what it changed from
    the revision before it (revision 1: everything it recorded, as additions)."""

    model_config = ConfigDict(frozen=True)

    revision: int
    at: dt.datetime
    actor: str
    reason: str | None
    changes: tuple[Change, ...]

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "reason": self.reason,
            "changes": [change.to_json_dict() for change in self.changes],
        }


def revision_history(entries: Sequence[RevisionEntry]) -> list[HistoryEntry]:
    """The history of a record from its stored revisions, in the order given (oldest first)."""
    history: list[HistoryEntry] = []
    previous: Any = {}
    for entry in entries:
        record = _recorded(entry.record)
        history.append(
            HistoryEntry(
                revision=entry.revision,
                at=entry.at,
                actor=entry.username,
                reason=entry.reason,
                changes=tuple(_changes(previous, record, (), ())),
            )
        )
        previous = record
    return history


def record_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Change]:
    """The changes that turn the record JSON ``before`` into ``after``, in record order."""
    return list(_changes(_recorded(before), _recorded(after), (), ()))


def corrections(changes: Sequence[Change]) -> list[Change]:
    """The changes that correct or remove recorded data (each needs a reason)."""
    return [change for change in changes if change.is_correction]


def checked_reason(reason: str | None, changes: Sequence[Change], *, required: bool) -> str | None:
    """The reason to store for these changes: stripped, None when blank.

    ReasonRequiredError when it is blank but ``required`` or the changes correct recorded data,
    or when it cannot be stored (longer than :data:`MAX_REASON_LENGTH`, or a NUL character).
    """
    text = (reason or "").strip() or None
    if text is None and (required or corrections(changes)):
        what = "this change" if required else "a correction or removal of recorded data"
        raise ReasonRequiredError(f"{what} needs a reason")
    if text is not None and len(text) > MAX_REASON_LENGTH:
        reason = f"the reason is longer than {MAX_REASON_LENGTH} characters"
        raise ReasonRequiredError(reason, missing=False)
    if text is not None and "\x00" in text:
        raise ReasonRequiredError("the reason contains a NUL character", missing=False)
    return text


def _recorded(value: Any) -> Any:
    """The value without null members of objects: ``null`` and absent mean "not recorded"."""
    if isinstance(value, Mapping):
        return {key: _recorded(item) for key, item in value.items() if item is not None}
    if isinstance(value, list | tuple):
        return [_recorded(item) for item in value]
    return value


Path = tuple[int | str, ...]


def _changes(before: Any, after: Any, was: Path, now: Path) -> Iterator[Change]:
    if before == after:
        return
    if isinstance(before, dict) and isinstance(after, dict):
        yield from _object_changes(before, after, was, now)
    elif isinstance(before, list) and isinstance(after, list):
        yield from _list_changes(before, after, was, now)
    else:
        moved = json_pointer(was) if was != now else None
        yield Change(
            op=ChangeOp.REPLACE, pointer=json_pointer(now), before=before, after=after, from_=moved
        )


def _object_changes(
    before: dict[str, Any], after: dict[str, Any], was: Path, now: Path
) -> Iterator[Change]:
    for key in _merged_keys(before, after):
        if key not in after:
            yield _removed(before[key], (*was, key))
        elif key not in before:
            yield _added(after[key], (*now, key))
        else:
            yield from _changes(before[key], after[key], (*was, key), (*now, key))


def _merged_keys(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The keys of both, in ``after``'s order, each removed key after the key it followed."""
    keys = list(after)
    previous: str | None = None
    for key in before:
        if key not in after:
            keys.insert(keys.index(previous) + 1 if previous is not None else 0, key)
        previous = key
    return keys


def _list_changes(before: list[Any], after: list[Any], was: Path, now: Path) -> Iterator[Change]:
    """Alike items matched by a longest common subsequence; each block of unmatched items is
    paired by similarity, the rest removed or added. The items alike at both ends are matched
    first, cheaply: a revision mostly adds at the end or corrects one entry."""
    head = 0
    while head < min(len(before), len(after)) and before[head] == after[head]:
        head += 1
    tail = 0
    while tail < min(len(before), len(after)) - head and before[-1 - tail] == after[-1 - tail]:
        tail += 1
    old_middle, new_middle = before[head : len(before) - tail], after[head : len(after) - tail]
    matcher = SequenceMatcher(None, _keys(old_middle), _keys(new_middle), autojunk=False)
    for tag, start, end, new_start, new_end in matcher.get_opcodes():
        if tag == "equal":
            continue
        old = list(range(head + start, head + end))
        new = list(range(head + new_start, head + new_end))
        yield from _block_changes(before, after, was, now, _paired(before, after, old, new))


Pairs = list[tuple[int | None, int | None]]


def _block_changes(
    before: list[Any], after: list[Any], was: Path, now: Path, pairs: Pairs
) -> Iterator[Change]:
    for old, new in pairs:
        if new is None:
            assert old is not None
            yield _removed(before[old], (*was, old))
        elif old is None:
            yield _added(after[new], (*now, new))
        else:
            yield from _changes(before[old], after[new], (*was, old), (*now, new))


def _paired(before: list[Any], after: list[Any], old: list[int], new: list[int]) -> Pairs:
    """Old and new indexes of one unmatched block, in order: (old, new) for an item changed in
    place, (old, None) removed, (None, new) added. Each old item takes the most similar new
    item after the last one taken, if it is similar enough."""
    pairs: Pairs = []
    taken = 0  # the new items before this position are paired or passed over
    for i in old:
        scores = [(_similarity(before[i], after[new[k]]), k) for k in range(taken, len(new))]
        best = max(scores, key=lambda score: score[0], default=(0.0, -1))
        if best[0] < _SAME_ENTRY:
            pairs.append((i, None))
            continue
        pairs.extend((None, new[k]) for k in range(taken, best[1]))
        pairs.append((i, new[best[1]]))
        taken = best[1] + 1
    pairs.extend((None, new[k]) for k in range(taken, len(new)))
    return pairs


def _similarity(before: Any, after: Any) -> float:
    """The share of fields two entries have alike (0 for anything but two objects)."""
    if not (isinstance(before, dict) and isinstance(after, dict)):
        return 0.0
    keys = before.keys() | after.keys()
    alike = sum(1 for key in keys if before.get(key) == after.get(key))
    return alike / len(keys) if keys else 1.0


def _keys(items: list[Any]) -> list[str]:
    return [json.dumps(item, sort_keys=True, ensure_ascii=False) for item in items]


def _added(value: Any, path: Path) -> Change:
    return Change(op=ChangeOp.ADD, pointer=json_pointer(path), after=value)


def _removed(value: Any, path: Path) -> Change:
    return Change(op=ChangeOp.REMOVE, pointer=json_pointer(path), before=value)
