"""The limits of ``alscare.limits`` hold a real clinic's longest record and refuse what is past
them naming the limit; the one JSON reader refuses text no database or output can hold."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from alscare import limits
from alscare.errors import RecordError
from alscare.schemas.patient import PATIENT_SCHEMA, SERIES
from alscare.schemas.records import load_json, parse_record
from tests.integration.strategies import FULL_RECORD

_FIRST_VISIT = dt.date(1995, 1, 15)


def _monthly(months: int) -> list[str]:
    """The dates of a visit a month, from the first visit on."""
    return [
        dt.date(_FIRST_VISIT.year + (month // 12), month % 12 + 1, 15).isoformat()
        for month in range(months)
    ]


def _thirty_years_of_monthly_visits() -> dict[str, Any]:
    """A patient seen every month for 30 years, with every series of FULL_RECORD at each visit
    (its entries re-dated): far more than any clinic records of one patient."""
    dates = _monthly(30 * 12)
    record: dict[str, Any] = {
        "schema": PATIENT_SCHEMA,
        "id": "LIMITS-30Y",
        "birth_date": "1940-03-01",
        "identity": FULL_RECORD["identity"],
    }
    for name in SERIES:
        entries = FULL_RECORD.get(name) or []
        if name == "medications" or not entries:
            continue
        record[name] = [{**entries[i % len(entries)], "date": day} for i, day in enumerate(dates)]
    return record


def test_thirty_years_of_monthly_visits_is_within_every_limit() -> None:
    record = _thirty_years_of_monthly_visits()
    stored = parse_record(record)
    entries = sum(len(getattr(stored, name) or ()) for name in SERIES)
    assert entries == 360 * (len(record) - 4)  # every series but the identity's fields
    assert entries <= limits.MAX_RECORD_ENTRIES
    assert len(stored.weights) <= limits.MAX_SERIES_ENTRIES
    assert len(stored.model_dump_json().encode()) < limits.MAX_BODY_BYTES


@pytest.mark.parametrize("series", ["weights", "alsfrs_r", "interventions", "labs"])
def test_a_series_one_past_its_limit_is_refused_naming_it(series: str) -> None:
    entry = FULL_RECORD[series][0]
    record = {**FULL_RECORD, series: [entry] * (limits.MAX_SERIES_ENTRIES + 1)}
    with pytest.raises(RecordError) as refused:
        parse_record(record)
    assert [str(problem) for problem in refused.value.problems] == [
        f"/{series}: {limits.MAX_SERIES_ENTRIES + 1:,} entries, more than the limit of "
        f"{limits.MAX_SERIES_ENTRIES:,}"
    ]


def test_a_series_at_its_limit_is_read() -> None:
    entry = FULL_RECORD["weights"][0]
    record = {**FULL_RECORD, "weights": [entry] * limits.MAX_SERIES_ENTRIES}
    assert len(parse_record(record).weights) == limits.MAX_SERIES_ENTRIES


@pytest.mark.parametrize(
    ("pointer", "items"),
    [
        ("/risk_factors", {"risk_factors": ["age_over_40"] * (limits.MAX_LIST_ITEMS + 1)}),
        (
            "/identity/identifiers",
            {"identity": {"identifiers": [{"system": "MRN", "value": "1"}] * 101}},
        ),
    ],
)
def test_a_short_list_past_its_limit_is_refused_naming_it(
    pointer: str, items: dict[str, Any]
) -> None:
    with pytest.raises(RecordError) as refused:
        parse_record({**FULL_RECORD, **items})
    assert [problem.pointer for problem in refused.value.problems] == [pointer]


def test_a_record_past_the_entry_limit_is_refused_naming_the_limit() -> None:
    record = _thirty_years_of_monthly_visits()
    per_series = limits.MAX_SERIES_ENTRIES
    for name in ("weights", "alsfrs_r", "respiratory", "labs", "care", "cognition"):
        record[name] = [record[name][0]] * per_series
    with pytest.raises(RecordError) as refused:
        parse_record(record)
    reasons = [str(problem) for problem in refused.value.problems]
    assert len(reasons) == 1
    assert reasons[0].startswith("/: the record holds ")
    assert reasons[0].endswith(f"entries, more than the limit of {limits.MAX_RECORD_ENTRIES:,}")


def test_the_listing_bounds_stay_inside_64_bit_integers() -> None:
    assert limits.MAX_PAGE_NUMBER * 100 <= limits.MAX_OFFSET < 2**63
    assert limits.MAX_REVISION < 2**31
    assert limits.MAX_BODY_BYTES < limits.MAX_IMPORT_BODY_BYTES


@pytest.mark.parametrize(
    ("page", "clamped"),
    [(-5, 1), (0, 1), (1, 1), (7, 7), (2**63, limits.MAX_PAGE_NUMBER), (10**4000, 10**7)],
    ids=["negative", "zero", "first", "seventh", "past-64-bits", "four-thousand-digits"],
)
def test_clamped_page_is_a_page_the_lists_can_show(page: int, clamped: int) -> None:
    assert limits.clamped_page(page) == min(clamped, limits.MAX_PAGE_NUMBER)


# --- the one JSON reader ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        ('{"id": "A\\u0000"}', ["/id: text may not hold a NUL character or an unpaired surrogate"]),
        (
            '{"a\\u0000": 1}',
            ["/a\\u0000: text may not hold a NUL character or an unpaired surrogate in its name"],
        ),
        (
            '[{"x": ["ok", "\\udc00"]}]',
            ["/0/x/1: text may not hold a NUL character or an unpaired surrogate"],
        ),
        ('{"id": "' + "1" * 4301 + '"}', None),  # a string of digits is text, not a number
        ('{"id": ' + "1" * 4301 + "}", ["/: malformed JSON: a number with too many digits"]),
        ("[" * 50_000 + "]" * 50_000, ["/: malformed JSON: nested too deeply"]),
        (b'{"id": "\xc3"}', ["/: not UTF-8 text (byte 8)"]),
    ],
    ids=["nul", "nul-in-a-name", "surrogate", "digits-as-text", "digits", "deep", "not-utf8"],
)
def test_the_json_reader_refuses_unusable_text_saying_where(
    text: str | bytes, problems: list[str] | None
) -> None:
    if problems is None:
        assert load_json(text) == {"id": "1" * 4301}
        return
    with pytest.raises(RecordError) as refused:
        load_json(text)
    assert [str(problem) for problem in refused.value.problems] == problems


@pytest.mark.parametrize(
    "text",
    ['["\\\\u0000"]', '["\\ud83d\\ude00"]', '{"emoji": "\\uD83D\\uDE00"}'],
    ids=["escaped-backslash", "surrogate-pair", "upper-case-pair"],
)
def test_the_json_reader_keeps_text_that_only_looks_like_nul_or_a_surrogate(text: str) -> None:
    assert load_json(text) == load_json(text.encode("utf-8"))
    assert "\x00" not in str(load_json(text))


def test_a_refused_huge_input_is_quoted_short_in_the_reason() -> None:
    with pytest.raises(RecordError) as refused:
        parse_record({**FULL_RECORD, "sex": "x" * 100_000})
    [problem] = refused.value.problems
    assert problem.pointer == "/sex"
    assert len(problem.reason) < 100 and problem.reason.endswith("...")
