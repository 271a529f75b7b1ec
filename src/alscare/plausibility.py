"""What the clinic app accepts as a measured value: the physiological ranges, and the values it
stores only once someone confirms them.

This is the clinic app's acceptance policy for values entered in the clinic, through the pages
and the patient API alike (:mod:`alscare.services` calls :func:`check` on every such write), not
a rule of the record: the record schema (``alscare.schemas``) accepts wider ranges, and the
engine flags what it will not use (``scores.implausible``). Only what a write adds or changes is
checked, so a value stored earlier, or confirmed once, never blocks a later write.

Refused, with the field named (outside these a value is a typing or unit error, not a patient):

========================  =================  ==============================================
value                     accepted           unlikely: stored only when confirmed
========================  =================  ==============================================
weight, premorbid weight  20 to 300 kg       below 30 or above 200 kg; a weight more than
                                             10 % above or below the patient's previous one
height                    100 to 250 cm      below 140 or above 210 cm
FVC, supine FVC           5 to 200 % pred.   below 10 or above 150 % predicted
laboratory range          lower limit below  (always refused when not)
                          the upper limit
breathing tests           at least one value  (an entry with none says nothing was measured)
========================  =================  ==============================================

The unlikely bands are this project's choice, not a published standard: wide enough that a
patient seen in an ALS clinic seldom meets them (a 10 % weight change between visits is a
gastrostomy-level loss), narrow enough to catch a slipped digit or a value typed in the wrong
unit (7.5 for 75 kg, 1.65 for 165 cm).

How to confirm: a form shows "I confirm this value" beside the field; the API takes the query
parameter ``confirm`` once per JSON pointer of a value to confirm (the pointer of the problem
it was answered with, e.g. ``POST .../weights?confirm=/kg``). An unconfirmed unlikely value is
answered 422, its problem naming the field and saying that it needs confirmation.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final, TypeVar

from pydantic import BaseModel

from alscare.errors import Problem, RecordError
from alscare.schemas.common import LabValue, TestEntry
from alscare.schemas.patient import PATIENT_SCHEMA, PatientRecord

__all__ = [
    "FVC",
    "HEIGHT",
    "WEIGHT",
    "WEIGHT_CHANGE",
    "Band",
    "ConfirmationNeeded",
    "check",
]


@dataclass(frozen=True)
class Band:
    """The values of one quantity that are accepted, and those that need confirmation."""

    unit: str
    lowest: float
    highest: float
    unlikely_below: float
    unlikely_above: float

    def refusal(self, value: float) -> str | None:
        if self.lowest <= value <= self.highest:
            return None
        return (
            f"must be from {self.lowest:g} to {self.highest:g} {self.unit}: "
            f"{value:g} {self.unit} is outside the physiological range"
        )

    def doubt(self, value: float) -> str | None:
        if value < self.unlikely_below:
            return _unlikely(f"{value:g} {self.unit}", f"below {self.unlikely_below:g} {self.unit}")
        if value > self.unlikely_above:
            return _unlikely(f"{value:g} {self.unit}", f"above {self.unlikely_above:g} {self.unit}")
        return None


WEIGHT: Final = Band("kg", 20, 300, 30, 200)
HEIGHT: Final = Band("cm", 100, 250, 140, 210)
FVC: Final = Band("% predicted", 5, 200, 10, 150)
#: A weight that differs from the previous one by more than this fraction needs confirmation.
WEIGHT_CHANGE: Final = 0.10

# Where each band applies: the top-level fields, and the fields of each series' entries.
_FIELDS: Final = {"height_cm": HEIGHT, "premorbid_weight_kg": WEIGHT}
_ENTRY_FIELDS: Final = {
    "weights": {"kg": WEIGHT},
    "respiratory": {"fvc_percent_predicted": FVC, "supine_fvc_percent_predicted": FVC},
}
# The fields of a breathing-tests entry that qualify a value rather than being one.
_QUALIFIERS: Final = frozenset({"date", "position"})

_Entry = TypeVar("_Entry", bound=BaseModel)
# What a new patient's record adds to: nothing.
_NO_RECORD: Final = PatientRecord.model_validate({"schema": PATIENT_SCHEMA, "id": "none"})


class ConfirmationNeeded(RecordError):
    """Raised when unlikely values were not confirmed: ``unconfirmed`` holds their pointers;
    ``problems`` says why for each, and holds any value refused outright too."""

    def __init__(self, problems: Iterable[Problem], unconfirmed: Iterable[str]) -> None:
        super().__init__(problems)
        self.unconfirmed = frozenset(unconfirmed)


def _unlikely(value: str, why: str) -> str:
    return f"{value} is unlikely ({why}) and needs confirmation: check it, then confirm it"


def check(
    previous: PatientRecord | None,
    record: PatientRecord,
    *,
    confirmed: Collection[str] = (),
    base: str = "",
) -> None:
    """Refuse what ``record`` adds to ``previous`` (all of it for a new patient) outside the
    policy: RecordError for a value outside its range, ConfirmationNeeded for an unlikely value
    whose pointer is not in ``confirmed``.

    Pointers in ``confirmed`` and in the error are relative to ``base``, the pointer of the entry
    a caller added (``/weights/3``), or record pointers when ``base`` is empty.
    """
    before = previous if previous is not None else _NO_RECORD
    refused: list[Problem] = []
    doubted: dict[str, Problem] = {}  # one doubt per value: the first one found
    for pointer, value, band in _new_values(before, record):
        reason = band.refusal(value)
        if reason is not None:
            refused.append(Problem(pointer, reason))
        elif (reason := band.doubt(value)) is not None:
            doubted[pointer] = Problem(pointer, reason)
    for problem in _weight_changes(before, record):
        doubted.setdefault(problem.pointer, problem)
    refused.extend(_reversed_ranges(before, record))
    refused.extend(_empty_breathing_tests(before, record))
    wanted = {base + pointer for pointer in confirmed}
    refused_at = {problem.pointer for problem in refused}  # a refused value is not doubted too
    unconfirmed = [p for p in doubted.values() if p.pointer not in wanted | refused_at]
    problems = [_relative(problem, base) for problem in (*refused, *unconfirmed)]
    if unconfirmed:
        raise ConfirmationNeeded(problems, (_relative(p, base).pointer for p in unconfirmed))
    if problems:
        raise RecordError(problems)


def _relative(problem: Problem, base: str) -> Problem:
    if base and problem.pointer.startswith(base):
        return Problem(problem.pointer.removeprefix(base), problem.reason)
    return problem


def _added(before: Sequence[_Entry], after: Sequence[_Entry]) -> Iterator[tuple[int, _Entry]]:
    """The entries of ``after`` that ``before`` does not hold, with their index in ``after``
    (an entry given twice where ``before`` had it once is added once)."""
    kept = Counter(entry.model_dump_json() for entry in before)
    for index, entry in enumerate(after):
        key = entry.model_dump_json()
        if kept[key] > 0:
            kept[key] -= 1
        else:
            yield index, entry


def _new_values(before: PatientRecord, record: PatientRecord) -> Iterator[tuple[str, float, Band]]:
    for name, band in _FIELDS.items():
        value = getattr(record, name)
        if value is not None and getattr(before, name) != value:
            yield f"/{name}", value, band
    for series, fields in _ENTRY_FIELDS.items():
        entries: Sequence[BaseModel] = getattr(record, series)
        for index, entry in _added(getattr(before, series), entries):
            for name, band in fields.items():
                value = getattr(entry, name)
                if value is not None:
                    yield f"/{series}/{index}/{name}", value, band


def _weight_changes(before: PatientRecord, record: PatientRecord) -> Iterator[Problem]:
    """A new weight far from the latest weight dated before it (the previous visit's)."""
    for index, new in _added(before.weights, record.weights):
        earlier = [weight for weight in record.weights if weight.date < new.date]
        if not earlier:
            continue
        last = max(earlier, key=lambda weight: weight.date)
        change = (new.kg - last.kg) / last.kg
        if abs(change) > WEIGHT_CHANGE:
            # Neither the stored weight nor the change is quoted: with the new weight, either
            # would tell the stored one, and a refusal never reveals what is stored.
            side = "below" if change < 0 else "above"
            why = f"more than {WEIGHT_CHANGE * 100:.0f} % {side} the previous weight"
            yield Problem(f"/weights/{index}/kg", _unlikely(f"{new.kg:g} kg", why))


def _reversed_ranges(before: PatientRecord, record: PatientRecord) -> Iterator[Problem]:
    ranged: list[tuple[str, int, TestEntry | LabValue]] = [
        *(("tests", index, test) for index, test in _added(before.tests, record.tests)),
        *(("labs", index, lab) for index, lab in _added(before.labs, record.labs)),
    ]
    for series, index, entry in ranged:
        lower, upper = entry.lower_limit, entry.upper_limit
        if lower is not None and upper is not None and lower >= upper:
            yield Problem(
                f"/{series}/{index}/lower_limit",
                f"the lower limit of normal ({lower:g}) must be below the upper limit ({upper:g})",
            )


def _empty_breathing_tests(before: PatientRecord, record: PatientRecord) -> Iterator[Problem]:
    """A breathing-tests entry without a value would count as a respiratory review done."""
    for index, entry in _added(before.respiratory, record.respiratory):
        measured = entry.model_dump(exclude_none=True, exclude_defaults=True).keys() - _QUALIFIERS
        if not measured:
            yield Problem(
                f"/respiratory/{index}", "records no measurement: give at least one value"
            )
