"""A small thread-safe least-recently-used map, for records and assessments by revision,
bounded by count and by the memory its entries are estimated to hold.

Every write to a patient adds a revision of its record (revisions are never changed), so an
entry keyed by (patient id, revision) can never go stale: a newer version has a new key.

A count alone does not bound memory: one 11 MB record in the cache cost 160-360 MB, so a few
of them filled the server. Each entry therefore has a cost in bytes given by the caller
(:func:`model_bytes` estimates it from the JSON text), and the least recently used entries go
until the total is within ``max_bytes``. An entry that would take more than a quarter of the
budget is not cached at all: it would empty the cache for one patient.
"""

from __future__ import annotations

from collections import OrderedDict
from threading import Lock
from typing import Final, Generic, TypeVar

__all__ = ["MODEL_BYTES_PER_JSON_BYTE", "LruCache", "model_bytes"]

_K = TypeVar("_K")
_V = TypeVar("_V")

# A validated record holds 9-12 bytes of memory per byte of its JSON, and an assessment about
# 10 per byte of its (tracemalloc of parse_record_json and assess, records of 7-94 kB): the
# upper end.
MODEL_BYTES_PER_JSON_BYTE: Final = 12


def model_bytes(json_length: int) -> int:
    """The memory a validated model of a JSON text of ``json_length`` characters holds."""
    return json_length * MODEL_BYTES_PER_JSON_BYTE


class LruCache(Generic[_K, _V]):
    """At most ``max_size`` entries costing at most ``max_bytes`` together (no bound on cost
    when None); the least recently used goes first."""

    def __init__(self, max_size: int, max_bytes: int | None = None) -> None:
        self._entries: OrderedDict[_K, tuple[_V, int]] = OrderedDict()
        self._max_size = max_size
        self._max_bytes = max_bytes
        self._bytes = 0
        self._lock = Lock()

    def get(self, key: _K) -> _V | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: _K, value: _V, cost: int = 0) -> None:
        """Keep ``value`` under ``key``; ``cost`` is the memory it holds, in bytes."""
        if self._max_bytes is not None and cost > self._max_bytes // 4:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._entries[key] = (value, cost)
            self._bytes += cost
            while len(self._entries) > self._max_size or self._over_budget():
                _, (_, evicted) = self._entries.popitem(last=False)
                self._bytes -= evicted

    def _over_budget(self) -> bool:
        return self._max_bytes is not None and self._bytes > self._max_bytes

    @property
    def cost(self) -> int:
        """The bytes the cached entries hold together (estimated by their callers)."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)
