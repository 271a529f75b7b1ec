"""MiToS staging (chio2015_mitos, Table 1): the number of functional domains lost.

Movement lost: walking <= 1 OR dressing/hygiene <= 1. Swallowing lost: swallowing <= 1.
Communicating lost: speech <= 1 AND handwriting <= 1 (one public implementation wrongly uses OR).
Breathing lost: dyspnoea <= 1 OR respiratory insufficiency <= 2. Stage 0-4 (5 = death).
"""

from __future__ import annotations

import datetime as dt

import pytest

from alscare import assess
from tests.builders import make_record, make_record_v2, rating

AS_OF = dt.date(2025, 3, 1)


def _staging(kb, record):
    return assess(record, as_of=AS_OF, kb=kb).staging


MITOS_CASES = [
    ("all normal", {}, 0, ()),
    ("walking 1", {"walking": 1}, 1, ("movement",)),
    ("walking 2", {"walking": 2}, 0, ()),
    ("dressing 0", {"dressing_hygiene": 0}, 1, ("movement",)),
    ("swallowing 1", {"swallowing": 1}, 1, ("swallowing",)),
    ("swallowing 2", {"swallowing": 2}, 0, ()),
    ("speech 1, handwriting 3: AND, not lost", {"speech": 1, "handwriting": 3}, 0, ()),
    ("handwriting 0, speech 2: not lost", {"speech": 2, "handwriting": 0}, 0, ()),
    ("speech 1 and handwriting 1", {"speech": 1, "handwriting": 1}, 1, ("communicating",)),
    ("dyspnoea 1", {"dyspnea": 1}, 1, ("breathing",)),
    ("dyspnoea 2", {"dyspnea": 2}, 0, ()),
    ("respiratory insufficiency 2", {"respiratory_insufficiency": 2}, 1, ("breathing",)),
    ("respiratory insufficiency 3", {"respiratory_insufficiency": 3}, 0, ()),
    ("orthopnoea 0 is not used", {"orthopnea": 0}, 0, ()),
    (
        "all four",
        {"walking": 0, "swallowing": 0, "speech": 0, "handwriting": 0, "dyspnea": 0},
        4,
        ("movement", "swallowing", "communicating", "breathing"),
    ),
]


@pytest.mark.parametrize(
    ("items", "stage", "lost"),
    [case[1:] for case in MITOS_CASES],
    ids=[case[0] for case in MITOS_CASES],
)
def test_mitos_stage_chio_table_1(kb, items, stage, lost):
    result = _staging(kb, make_record(alsfrs_r=[rating(**items)])).mitos
    assert (result.stage, result.domains_lost) == (stage, lost)
    assert result.sources == ("chio2015_mitos",)


def test_mitos_because_names_the_items(kb):
    record = make_record(alsfrs_r=[rating("2025-01-05", speech=0, handwriting=1)])
    assert _staging(kb, record).mitos.because == (
        "ALSFRS-R of 2025-01-05",
        # Each item with its date and the rule's limit (chio2015_mitos Table 1: at most 1).
        "communicating lost: ALSFRS-R speech 0/4 on 2025-01-05 (at most 1 point), ALSFRS-R "
        "handwriting 1/4 on 2025-01-05 (at most 1 point)",
    )


def test_mitos_in_staging_uses_latest_rating(kb):
    record = make_record(alsfrs_r=[rating("2024-01-01"), rating("2025-01-01", swallowing=0)])
    assert _staging(kb, record).mitos.stage == 1


def test_mitos_null_without_rating(kb):
    assert _staging(kb, make_record()).mitos is None


# --- record v2: unrated items, death ----------------------------------------------------------


def test_mitos_unrated_item_that_could_decide_leaves_the_stage_null(kb):
    rated = rating("2025-01-05", gastrostomy=False, walking=None)
    result = _staging(kb, make_record_v2(alsfrs_r=[rated]))
    assert result.mitos.stage is None
    assert any("decide the MiToS stage" in item for item in result.missing)


def test_mitos_unrated_item_that_cannot_decide_keeps_the_stage(kb):
    # Movement is lost by dressing 0 whatever walking is: one domain lost, none undecided.
    rated = rating("2025-01-05", gastrostomy=False, walking=None, dressing_hygiene=0)
    assert _staging(kb, make_record_v2(alsfrs_r=[rated])).mitos.stage == 1


def test_mitos_stage_5_from_the_date_of_death(kb):
    # chio2015_mitos: stage 5 is death.
    record = make_record_v2(
        alsfrs_r=[rating("2024-10-01", gastrostomy=False)], death={"date": "2025-01-20"}
    )
    mitos = _staging(kb, record).mitos
    assert mitos.stage == 5
    assert mitos.because == ("died on 2025-01-20: stage 5 from the date of death",)
