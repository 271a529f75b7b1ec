"""Awaji-Shima criteria (decarvalho2008_awaji; reference 1.2).

EMG evidence of LMN involvement (chronic neurogenic change with fibrillations, positive sharp
waves or fasciculation potentials) counts equal to clinical LMN signs; there is no
laboratory-supported category. definite: UMN+LMN in bulbar and two spinal regions, or three
spinal regions; probable: two regions each with UMN+LMN (strict reading, boekestein2010_awaji);
possible: UMN+LMN in one region, UMN alone in two regions, or LMN rostral to UMN.
"""

from __future__ import annotations

import pytest

from alscare.schemas.vocabulary import AwajiCategory as Awaji
from alscare.schemas.vocabulary import ElEscorialCategory as Eec
from tests.builders import diagnose, emg_region, make_record, signs, workup_tests
from tests.conftest import example

BOTH = signs(umn=True, lmn=True)
UMN = signs(umn=True)
LMN = signs(lmn=True)
FASC = emg_region(2, fibrillations=False, fasciculations=True)


def _criteria(kb, **record):
    base = {"progressive": True}
    base.update(record)
    return diagnose(make_record(**base), kb).criteria


@pytest.mark.parametrize(
    ("exam", "expected"),
    [
        ({"bulbar": BOTH, "cervical": BOTH, "thoracic": BOTH}, Awaji.DEFINITE),
        ({"cervical": BOTH, "thoracic": BOTH, "lumbosacral": BOTH}, Awaji.DEFINITE),
        ({"cervical": BOTH, "lumbosacral": BOTH}, Awaji.PROBABLE),
        ({"bulbar": BOTH}, Awaji.POSSIBLE),
        ({"bulbar": UMN, "thoracic": UMN}, Awaji.POSSIBLE),
        ({"cervical": LMN, "lumbosacral": UMN}, Awaji.POSSIBLE),
        ({"bulbar": UMN, "lumbosacral": LMN}, Awaji.NOT_MET),
        ({"cervical": LMN, "thoracic": LMN, "lumbosacral": LMN}, Awaji.NOT_MET),
    ],
    ids=[
        "definite-bulbar-2-spinal",
        "definite-3-spinal",
        "probable",
        "possible-1-region",
        "possible-umn-2-regions",
        "possible-lmn-rostral",
        "not-met-umn-rostral-to-lmn-single",
        "not-met-pure-lmn",
    ],
)
def test_awaji_clinical_categories(kb, exam, expected):
    result = _criteria(kb, exam=exam).awaji
    assert result.category == expected
    assert "decarvalho2008_awaji" in result.sources


def test_awaji_emg_counts_equal_to_clinical_signs(kb):
    # Change 1: EMG LMN evidence equals clinical LMN signs; rEEC does not use it here.
    found = _criteria(
        kb,
        exam={"cervical": UMN, "lumbosacral": UMN},
        emg={"regions": {"cervical": emg_region(2), "lumbosacral": emg_region(2)}},
    )
    assert found.awaji.category == Awaji.PROBABLE
    assert found.el_escorial.category == Eec.POSSIBLE


def test_awaji_fasciculation_potentials_count_as_denervation(kb):
    # Change 2: fasciculation potentials count as fibrillations with chronic neurogenic change.
    found = _criteria(
        kb,
        exam={"bulbar": UMN, "cervical": UMN, "lumbosacral": UMN},
        emg={
            "regions": {
                "bulbar": emg_region(1, fibrillations=False, fasciculations=True),
                "cervical": FASC,
                "lumbosacral": FASC,
            }
        },
    )
    assert found.awaji.category == Awaji.DEFINITE
    assert found.el_escorial.category == Eec.POSSIBLE


def test_awaji_has_no_laboratory_supported_category(kb):
    # Change 3: rEEC "probable - laboratory-supported" becomes possible under Awaji here.
    found = _criteria(
        kb,
        exam={"cervical": BOTH},
        emg={"regions": {"thoracic": emg_region(1), "lumbosacral": emg_region(2)}},
        tests=workup_tests(),
    )
    assert found.el_escorial.category == Eec.PROBABLE_LABORATORY_SUPPORTED
    assert found.awaji.category == Awaji.POSSIBLE


def test_awaji_umn_in_one_region_stays_possible(kb):
    # boekestein2010_awaji: UMN signs in one region only stay possible despite spread LMN.
    found = _criteria(
        kb,
        exam={"cervical": BOTH},
        emg={"regions": {r: emg_region(2) for r in ("bulbar", "thoracic", "lumbosacral")}},
    )
    assert found.awaji.category == Awaji.POSSIBLE


def test_awaji_not_progressive_not_met(kb):
    found = _criteria(kb, progressive=False, exam={"cervical": BOTH, "lumbosacral": BOTH})
    assert found.awaji.category == Awaji.NOT_MET


def test_awaji_progression_unknown_graded_with_missing(kb):
    found = _criteria(kb, progressive=None, exam={"cervical": BOTH, "lumbosacral": BOTH})
    assert found.awaji.category == Awaji.PROBABLE
    assert "whether motor impairment is progressive" in found.awaji.missing


def test_awaji_nothing_examined_is_null(kb):
    found = _criteria(kb, emg={"regions": {"cervical": emg_region(2)}})
    assert found.awaji.category is None
    assert found.awaji.missing


def test_awaji_definite_needs_nothing_more(kb):
    found = _criteria(kb, exam={"bulbar": BOTH, "cervical": BOTH, "thoracic": BOTH})
    assert found.awaji.missing == ()


@pytest.mark.parametrize(
    ("name", "as_of", "expected"),
    [
        ("P-0001-limb-onset", "2025-02-01", Awaji.PROBABLE),
        ("P-0002-bulbar-onset", "2025-03-01", Awaji.PROBABLE),
        ("P-0003-conduction-block", "2025-01-15", Awaji.NOT_MET),
        ("P-0004-sod1-late", "2024-09-01", Awaji.PROBABLE),
    ],
)
def test_awaji_examples(kb, name, as_of, expected):
    assert diagnose(example(name), kb, as_of).criteria.awaji.category == expected
