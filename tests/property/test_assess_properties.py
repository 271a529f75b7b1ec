"""Properties of scores, stages and the whole assessment over generated records (Hypothesis).

* ALSFRS-R totals lie in 0-48 and the four domains add up to the total;
* King's and MiToS stages never decrease when items only fall;
* entries dated after as_of change nothing but the ``ignored`` list;
* the order of the record's lists changes nothing;
* the same record and date give the same bytes, run after run.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from alscare import assess, parse_record
from alscare.engine.scores import alsfrs_r_score
from alscare.engine.staging import kings_from_alsfrs_r, mitos_stage
from alscare.schemas.vocabulary import (
    AlsfrsItem,
    FindingId,
    GeneticResult,
    OnsetSite,
    Region,
    RiskFactorId,
)
from tests.builders import make_record

AS_OF = dt.date(2025, 3, 1)
KINGS_ORDER = {"1": 1, "2": 2, "3": 3, "4A": 4, "4B": 5}
ITEMS = [item.value for item in AlsfrsItem]

item_scores = st.fixed_dictionaries({item: st.integers(0, 4) for item in ITEMS})
past = st.dates(dt.date(2015, 1, 1), AS_OF)
future = st.dates(AS_OF + dt.timedelta(days=1), dt.date(2027, 1, 1))


def _rating(date: dt.date, items: dict[str, int], gastrostomy: bool | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"date": str(date), "items": items}
    if gastrostomy is not None:
        entry["gastrostomy"] = gastrostomy
    return entry


def _rating_entry(items: dict[str, int], gastrostomy: bool | None):
    return make_record(alsfrs_r=[_rating(AS_OF, items, gastrostomy)]).alsfrs_r[0]


@given(items=item_scores, gastrostomy=st.sampled_from([None, False, True]))
def test_property_totals_in_range_and_domains_sum_to_total(kb, items, gastrostomy):
    score = alsfrs_r_score(_rating_entry(items, gastrostomy), kb.scoring.alsfrs_r_domains)
    assert 0 <= score.total <= 48
    assert score.total == sum(items.values())
    assert score.bulbar + score.fine_motor + score.gross_motor + score.respiratory == score.total


@st.composite
def falling_pair(draw: st.DrawFn) -> tuple[dict[str, int], dict[str, int]]:
    before = draw(item_scores)
    after = {item: draw(st.integers(0, score)) for item, score in before.items()}
    return before, after


@given(pair=falling_pair(), gastrostomy=st.sampled_from([None, True]))
def test_property_stages_never_decrease_when_items_only_fall(kb, pair, gastrostomy):
    before, after = (_rating_entry(items, gastrostomy) for items in pair)
    kings = kb.scoring.kings_alsfrs_r
    assert (
        KINGS_ORDER[kings_from_alsfrs_r(after, kings).stage]
        >= KINGS_ORDER[kings_from_alsfrs_r(before, kings).stage]
    )
    assert mitos_stage(after, kb.scoring.mitos).stage >= mitos_stage(before, kb.scoring.mitos).stage


@given(items=item_scores)
def test_property_gastrostomy_never_lowers_the_kings_stage(kb, items):
    kings = kb.scoring.kings_alsfrs_r
    without = kings_from_alsfrs_r(_rating_entry(items, False), kings).stage
    with_tube = kings_from_alsfrs_r(_rating_entry(items, True), kings).stage
    assert KINGS_ORDER[with_tube] >= KINGS_ORDER[without]


@st.composite
def records(draw: st.DrawFn, when: st.SearchStrategy[dt.date] = past) -> dict[str, Any]:
    """A record as JSON data; every dated entry is drawn from ``when``."""
    onset = draw(st.one_of(st.none(), st.dates(dt.date(2015, 1, 1), dt.date(2024, 6, 1))))
    data: dict[str, Any] = {"schema": "alscare.patient/v1", "id": "H-1"}
    if draw(st.booleans()):
        data["birth_date"] = str(draw(st.dates(dt.date(1930, 1, 1), dt.date(1994, 12, 31))))
    elif draw(st.booleans()):
        data["age_years"] = draw(st.integers(35, 90))
    if draw(st.booleans()):
        data["height_cm"] = draw(st.integers(150, 200))
    site = draw(st.one_of(st.none(), st.sampled_from(list(OnsetSite))))
    data["symptom_onset"] = {"date": onset and str(onset), "site": site and site.value}
    if onset is not None and draw(st.booleans()):
        data["diagnosis_date"] = str(onset + dt.timedelta(days=draw(st.integers(0, 700))))
    dated = st.one_of(when, st.dates(dt.date(2015, 1, 1), dt.date(2015, 1, 2)))
    data["alsfrs_r"] = draw(
        st.lists(
            st.builds(_rating, dated, item_scores, st.sampled_from([None, False, True])),
            max_size=4,
        )
    )
    data["respiratory"] = draw(
        st.lists(
            st.builds(
                lambda d, fvc: {"date": str(d), "fvc_percent_predicted": fvc},
                dated,
                st.integers(10, 130),
            ),
            max_size=3,
        )
    )
    data["weights"] = draw(
        st.lists(
            st.builds(lambda d, kg: {"date": str(d), "kg": kg}, dated, st.integers(40, 110)),
            max_size=3,
        )
    )
    if draw(st.booleans()):
        data["premorbid_weight_kg"] = draw(st.integers(45, 120))
    data["findings"] = draw(
        st.lists(
            st.builds(
                lambda i, present, region: {"id": i.value, "present": present, "region": region},
                st.sampled_from(list(FindingId)),
                st.booleans(),
                st.one_of(st.none(), st.sampled_from([r.value for r in Region])),
            ),
            max_size=5,
        )
    )
    signs = st.fixed_dictionaries(
        {},
        optional={
            sign: st.booleans()
            for sign in ("weakness", "wasting", "spasticity", "hyperreflexia", "fasciculations")
        },
    )
    data["exam"] = draw(st.dictionaries(st.sampled_from([r.value for r in Region]), signs))
    data["genetics"] = draw(
        st.lists(
            st.builds(
                lambda gene, result: {"gene": gene, "result": result.value},
                st.sampled_from(["C9orf72", "SOD1"]),
                st.sampled_from(list(GeneticResult)),
            ),
            max_size=2,
        )
    )
    data["risk_factors"] = draw(
        st.lists(st.sampled_from([r.value for r in RiskFactorId]), unique=True, max_size=3)
    )
    if draw(st.booleans()):
        data["cognition"] = {"ftd": draw(st.one_of(st.none(), st.booleans()))}
    if draw(st.booleans()):
        kinds = st.one_of(st.none(), st.just({}), st.just({"declined": True}))
        data["interventions"] = {"niv": draw(kinds), "gastrostomy": draw(kinds)}
    return data


def _later_entries(draw: st.DrawFn) -> dict[str, list[dict[str, Any]]]:
    return {
        "alsfrs_r": draw(
            st.lists(
                st.builds(_rating, future, item_scores, st.sampled_from([None, True])),
                min_size=1,
                max_size=2,
            )
        ),
        "respiratory": [{"date": str(draw(future)), "fvc_percent_predicted": 30}],
        "weights": [{"date": str(draw(future)), "kg": 41}],
        "findings": [{"id": "ftd_features", "present": True, "date": str(draw(future))}],
    }


def _without_ignored(data: dict[str, Any], kb) -> str:
    assessment = assess(parse_record(data), as_of=AS_OF, kb=kb)
    return assessment.model_copy(update={"ignored": ()}).to_json()


# Whole assessments are slower than single scores: fewer examples keep the suite quick.
WHOLE = settings(max_examples=60)


@WHOLE
@given(data=records(), extra=st.data())
def test_property_entries_after_as_of_change_nothing(kb, data, extra):
    later = _later_entries(extra.draw)
    combined = {**data, **{key: [*data[key], *later[key]] for key in later}}
    assert _without_ignored(combined, kb) == _without_ignored(data, kb)
    ignored = assess(parse_record(combined), as_of=AS_OF, kb=kb).ignored
    assert len(ignored) >= 4


LISTS = ("alsfrs_r", "respiratory", "weights", "findings", "genetics", "risk_factors")


@WHOLE
@given(data=records(), order=st.randoms(use_true_random=False))
def test_property_list_order_changes_nothing(kb, data, order):
    shuffled = json.loads(json.dumps(data))
    for key in LISTS:
        order.shuffle(shuffled[key])
    first = assess(parse_record(data), as_of=AS_OF, kb=kb).to_json()
    assert assess(parse_record(shuffled), as_of=AS_OF, kb=kb).to_json() == first


@WHOLE
@given(data=records())
def test_property_same_input_same_bytes(kb, data):
    text = json.dumps(data)
    runs = {assess(parse_record(json.loads(text)), as_of=AS_OF, kb=kb).to_json() for _ in range(2)}
    assert len(runs) == 1
