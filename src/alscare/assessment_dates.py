"""The assessment dates a view accepts for one patient, and the one refusal of any other.

An assessment describes the patient on its date, so it is refused:

* before the patient's first date: the birth date, or without one the symptom onset, or without
  that the earliest dated entry (a record with no date at all has no lower limit);
* after a limit: the clinic app (pages and API) reads the server's clock and accepts up to
  :data:`CLINIC_YEARS_AHEAD` year after today, which leaves room to ask what is due before the
  next visit and keeps typing slips such as 2205 out; the command line reads no clock unless
  ``--as-of today`` is given, so it accepts up to the fixed :data:`FAR_LIMIT`, the last date for
  which every date the engine and the charts compute from an assessment date is still valid.

The refusal is a :class:`~alscare.errors.Problem` at ``/as_of`` naming the limit. Pure: the
caller passes today's date where a clock is read.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from alscare.errors import Problem
from alscare.schemas.patient import PatientRecord

__all__ = [
    "CLINIC_YEARS_AHEAD",
    "FAR_LIMIT",
    "POINTER",
    "as_of_problem",
    "clinic_latest",
    "first_date",
]

CLINIC_YEARS_AHEAD: Final = 1
FAR_LIMIT: Final = dt.date(2199, 12, 31)
POINTER: Final = "/as_of"


def first_date(record: PatientRecord) -> tuple[str, dt.date] | None:
    """The earliest date an assessment of the patient may have, and what it is."""
    if record.birth_date is not None:
        return "the birth date", record.birth_date
    onset = record.symptom_onset.date if record.symptom_onset else None
    if onset is not None:
        return "the symptom onset", onset
    dates = [when for _, when in record.dated_entries()]
    return ("the earliest entry of the record", min(dates)) if dates else None


def clinic_latest(today: dt.date) -> dt.date:
    """The latest assessment date of the clinic app: a year after today (28 February for a
    29 February)."""
    year = today.year + CLINIC_YEARS_AHEAD
    try:
        return today.replace(year=year)
    except ValueError:
        return dt.date(year, 2, 28)


def as_of_problem(record: PatientRecord, as_of: dt.date, *, latest: dt.date) -> Problem | None:
    """Why ``as_of`` is not an assessment date of this patient, or None when it is one."""
    first = first_date(record)
    if first is not None and as_of < first[1]:
        what, when = first
        return Problem(POINTER, f"the assessment date {as_of} is before {what} ({when})")
    if as_of > latest:
        return Problem(
            POINTER, f"the assessment date {as_of} is after the latest allowed, {latest}"
        )
    return None
