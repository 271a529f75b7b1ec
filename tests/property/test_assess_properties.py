"""Properties of scores, stages and the whole assessment over generated records (Hypothesis),
records of both versions:

* ALSFRS-R totals lie in 0-48 and the four domains add up to the total;
* King's and MiToS stages never decrease when items only fall;
* entries dated after as_of, in every series of a v2 record (and the death), change nothing but
  the ``ignored`` list; for v1, entries of its dated series do the same;
* the order of every list of a record changes nothing, byte for byte;
* a v1 record is assessed exactly as its upgraded v2 record, byte for byte;
* the same record and date give the same bytes, run after run.
"""

from __future__ import annotations

import json
import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from alscare import assess, load_knowledge, parse_record
from alscare.schemas.assessment import Assessment
from alscare.schemas.records import parse_record_v1
from alscare.schemas.upgrade import upgrade
from tests.property.strategies import (
    AS_OF,
    SERIES_V2,
    future,
    item_scores,
    later_entries_v2,
    rating_v1,
    records_v1,
    records_v2,
)

# The knowledge base as a module constant, not the fixture: Hypothesis prints a failing
# example's arguments, and the knowledge base's repr would fill the report.
KB = load_knowledge()
KINGS_ORDER = {"1": 1, "2": 2, "3": 3, "4A": 4, "4B": 5}
records = st.one_of(records_v1(), records_v2())


def _assessment(data: dict[str, Any]) -> Assessment:
    return assess(parse_record(data), as_of=AS_OF, kb=KB)


def _rated(items: dict[str, int], gastrostomy: bool | None) -> Assessment:
    rating = rating_v1(AS_OF, items, gastrostomy)
    return _assessment({"schema": "alscare.patient/v1", "id": "H-1", "alsfrs_r": [rating]})


@given(items=item_scores, gastrostomy=st.sampled_from([None, False, True]))
def test_property_totals_in_range_and_domains_sum_to_total(items, gastrostomy):
    score = _rated(items, gastrostomy).scores.alsfrs_r
    assert score is not None
    assert 0 <= score.total <= 48
    assert score.total == sum(items.values())
    assert score.bulbar + score.fine_motor + score.gross_motor + score.respiratory == score.total


@st.composite
def falling_pair(draw: st.DrawFn) -> tuple[dict[str, int], dict[str, int]]:
    before = draw(item_scores)
    after = {item: draw(st.integers(0, score)) for item, score in before.items()}
    return before, after


def _stages(items: dict[str, int], gastrostomy: bool | None) -> tuple[int, int]:
    """The King's rank and the MiToS stage of a complete rating (both always known)."""
    staging = _rated(items, gastrostomy).staging
    assert staging.kings.stage is not None and staging.mitos is not None
    assert staging.mitos.stage is not None
    return KINGS_ORDER[staging.kings.stage], staging.mitos.stage


@given(pair=falling_pair(), gastrostomy=st.sampled_from([None, True]))
def test_property_stages_never_decrease_when_items_only_fall(pair, gastrostomy):
    before, after = (_stages(items, gastrostomy) for items in pair)
    assert after[0] >= before[0]
    assert after[1] >= before[1]


@given(items=item_scores)
def test_property_gastrostomy_never_lowers_the_kings_stage(items):
    assert _stages(items, True)[0] >= _stages(items, False)[0]


def _without_ignored(data: dict[str, Any]) -> str:
    return _assessment(data).model_copy(update={"ignored": ()}).to_json()


# Whole assessments are slower than single scores: fewer examples keep the suite quick.
WHOLE = settings(max_examples=60)


@WHOLE
@given(data=records_v2(death=False), later=later_entries_v2())
def test_property_entries_after_as_of_in_every_v2_series_change_nothing(data, later):
    if data.get("interventions") is None:
        # A list holding only later events still says that interventions are recorded, where
        # null says nothing about them: the engine reads the first as "none so far" (reported
        # to the lead as a question); the property starts from a recorded list.
        data["interventions"] = []
    combined = {**data, "death": later["death"]}
    for name in SERIES_V2:
        combined[name] = [*data[name], *later[name]]
    assert _without_ignored(combined) == _without_ignored(data)
    # One more entry ignored in each series, and the death.
    added = set(_assessment(combined).ignored) - set(_assessment(data).ignored)
    assert len(added) == len(SERIES_V2) + 1


def _later_v1(draw: st.DrawFn) -> dict[str, list[dict[str, Any]]]:
    return {
        "alsfrs_r": draw(
            st.lists(
                st.builds(rating_v1, future, item_scores, st.sampled_from([None, True])),
                min_size=1,
                max_size=2,
            )
        ),
        "respiratory": [{"date": str(draw(future)), "fvc_percent_predicted": 30}],
        "weights": [{"date": str(draw(future)), "kg": 41}],
        "findings": [{"id": "ftd_features", "present": True, "date": str(draw(future))}],
        "genetics": [{"gene": "SOD1", "result": "pathogenic", "date": str(draw(future))}],
    }


@WHOLE
@given(data=records_v1(undated=False), extra=st.data())
def test_property_entries_after_as_of_in_v1_series_change_nothing(data, extra):
    # Only for a v1 record without undated parts: the upgrade dates those on the record's latest
    # date, so a later entry moves them past as_of (tests/unit/test_timeline_cut_off.py).
    later = _later_v1(extra.draw)
    combined = {**data, **{key: [*data[key], *later[key]] for key in later}}
    assert _without_ignored(combined) == _without_ignored(data)
    assert len(_assessment(combined).ignored) >= len(later)


def _shuffled(data: Any, order: random.Random) -> Any:
    """The record with every list in it shuffled, at every depth."""
    if isinstance(data, dict):
        return {key: _shuffled(value, order) for key, value in data.items()}
    if isinstance(data, list):
        items = [_shuffled(item, order) for item in data]
        order.shuffle(items)
        return items
    return data


@WHOLE
@given(data=records, order=st.randoms(use_true_random=False))
def test_property_list_order_changes_nothing(data, order):
    first = _assessment(data).to_json()
    assert _assessment(_shuffled(data, order)).to_json() == first


@WHOLE
@given(data=records_v1())
def test_property_v1_assessed_as_its_upgraded_record(data):
    upgraded = upgrade(parse_record_v1(data)).to_json_dict()
    as_v2 = json.loads(json.dumps(upgraded))  # through JSON text, as a stored record would be
    assert as_v2["schema"] == "alscare.patient/v2"
    assert _assessment(as_v2).to_json() == _assessment(data).to_json()


@WHOLE
@given(data=records)
def test_property_same_input_same_bytes(data):
    text = json.dumps(data)
    runs = {_assessment(json.loads(text)).to_json() for _ in range(2)}
    assert len(runs) == 1
