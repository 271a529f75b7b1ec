"""A small thread-safe least-recently-used map, for records and assessments by revision.

Every write to a patient adds a revision of its record (revisions are never changed), so an
entry keyed by (patient id, revision) can never go stale: a newer version has a new key.
"""

from __future__ import annotations

from collections import OrderedDict
from threading import Lock
from typing import Generic, TypeVar

__all__ = ["LruCache"]

_K = TypeVar("_K")
_V = TypeVar("_V")


class LruCache(Generic[_K, _V]):
    """At most ``max_size`` entries; the least recently used goes first."""

    def __init__(self, max_size: int) -> None:
        self._entries: OrderedDict[_K, _V] = OrderedDict()
        self._max_size = max_size
        self._lock = Lock()

    def get(self, key: _K) -> _V | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: _K, value: _V) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
