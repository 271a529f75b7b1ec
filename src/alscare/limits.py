"""The limits that keep one request from stalling the clinic, in one place.

Each is far above what a real clinic records: a patient followed monthly for 30 years has 360
entries in a series and some 350 kB of record JSON. Beyond them the work of one request (the
validation, the revision, the history) grows with the size of the record while it holds the
database's write lock, so a huge body or record is refused before any of that work, naming the
limit: 413 for a body, 422 at the pointer of a series or a list. The README's clinic app section
lists them; ``tests/unit/test_limits.py`` checks that a clinic's longest record stays within
them.

Measured through the API on SQLite on the two-core test machine (busy with other tests): adding
an entry to a record at the limit (5 series of 990 monthly entries, 750 kB) takes 0.9 s and
storing it whole 2.9 s; to the 30-year record (8 series of 360, 345 kB) 0.3 s and 1.0 s. The
11 MB record that the limits now refuse took 64-68 s and held the write lock throughout.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_IMPORT_BODY_BYTES",
    "MAX_LIST_ITEMS",
    "MAX_OFFSET",
    "MAX_PAGE_NUMBER",
    "MAX_RECORD_ENTRIES",
    "MAX_REVISION",
    "MAX_SERIES_ENTRIES",
    "clamped_page",
]

#: A request body (a record, an entry, a form), in bytes: 2 MiB, six times a 30-year record.
MAX_BODY_BYTES: Final = 2 * 1024 * 1024
#: The body of ``POST /api/v1/import``, a list of whole records: 32 MiB.
MAX_IMPORT_BODY_BYTES: Final = 32 * 1024 * 1024
#: Entries in one series of a record (``weights``, ``alsfrs_r``, ...): weekly for 19 years.
MAX_SERIES_ENTRIES: Final = 1_000
#: Entries in all the series of one record together: 30 years of monthly visits that record
#: thirteen series each, with room to spare.
MAX_RECORD_ENTRIES: Final = 5_000
#: Items of a record's short lists (identifiers, risk factors, the symptoms of a breathing test).
MAX_LIST_ITEMS: Final = 100
#: The largest ``offset`` a listing (patients, audit trail) takes: beyond any clinic's rows and
#: well inside the 64-bit integers of SQLite and PostgreSQL (2^63 and more gave a 500).
MAX_OFFSET: Final = 1_000_000_000
#: The largest ``page`` of a page that lists (patients, audit trail; 100 rows a page).
MAX_PAGE_NUMBER: Final = MAX_OFFSET // 100
#: The largest revision number asked for (a record has one revision per write).
MAX_REVISION: Final = 2**31 - 1


def clamped_page(page: int) -> int:
    """A page number the pages can list: 1 for less, :data:`MAX_PAGE_NUMBER` for more (a page
    past the last one is empty, as any page past the end is)."""
    return min(max(1, page), MAX_PAGE_NUMBER)
