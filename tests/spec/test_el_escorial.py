"""Revised El Escorial (Airlie House) criteria (brooks2000_el_escorial; reference 1.1).

Clinical signs grade the category; EMG counts only for "probable - laboratory-supported", by
its own rule (fibrillations or positive sharp waves with chronic neurogenic change;
fasciculation potentials do not count). alscare reads "probable" strictly: at least two regions
that EACH show UMN and LMN signs (boekestein2010_awaji), and reads the lab-supported EMG
requirement as applying to both of its branches.
"""

from __future__ import annotations

import pytest

from alscare.schemas.vocabulary import ElEscorialCategory as Eec
from tests.builders import diagnose, emg_region, make_record, signs, workup_tests
from tests.conftest import example

BOTH = signs(umn=True, lmn=True)
UMN = signs(umn=True)
LMN = signs(lmn=True)
EMG_2 = {"date": "2025-01-10", "regions": {"thoracic": emg_region(1), "lumbosacral": emg_region(2)}}


def _eec(kb, **record):
    base = {"progressive": True}
    base.update(record)
    return diagnose(make_record(**base), kb).criteria.el_escorial


@pytest.mark.parametrize(
    ("exam", "expected"),
    [
        # Clinically definite: bulbar and two spinal regions, or three spinal regions.
        ({"bulbar": BOTH, "cervical": BOTH, "lumbosacral": BOTH}, Eec.DEFINITE),
        ({"cervical": BOTH, "thoracic": BOTH, "lumbosacral": BOTH}, Eec.DEFINITE),
        # Clinically probable: two regions each with UMN and LMN signs.
        ({"bulbar": BOTH, "cervical": BOTH}, Eec.PROBABLE),
        ({"cervical": BOTH, "lumbosacral": BOTH, "bulbar": UMN}, Eec.PROBABLE),
        # Clinically possible: both in only one region ...
        ({"cervical": BOTH}, Eec.POSSIBLE),
        # ... [!] strict reading: UMN and LMN spread over two regions stays possible
        ({"cervical": BOTH, "lumbosacral": UMN}, Eec.POSSIBLE),
        # ... or UMN signs alone in two regions (stands on its own, no LMN needed)
        ({"cervical": UMN, "lumbosacral": UMN}, Eec.POSSIBLE),
        # ... or LMN signs rostral to UMN signs
        ({"bulbar": LMN, "lumbosacral": UMN}, Eec.POSSIBLE),
        # Not met: UMN rostral to LMN in different single regions, pure LMN, pure UMN in one.
        ({"bulbar": UMN, "cervical": LMN, "lumbosacral": LMN}, Eec.NOT_MET),
        ({"cervical": LMN, "lumbosacral": LMN}, Eec.NOT_MET),
        ({"cervical": UMN}, Eec.NOT_MET),
        ({"cervical": {}}, Eec.NOT_MET),
    ],
    ids=[
        "definite-bulbar-2-spinal",
        "definite-3-spinal",
        "probable-2-regions",
        "probable-2-regions-plus-umn",
        "possible-1-region",
        "possible-strict-reading",
        "possible-umn-2-regions",
        "possible-lmn-rostral",
        "not-met-umn-rostral-single-regions",
        "not-met-pure-lmn",
        "not-met-umn-1-region",
        "not-met-nothing",
    ],
)
def test_el_escorial_clinical_categories(kb, exam, expected):
    result = _eec(kb, exam=exam)
    assert result.category == expected
    assert "brooks2000_el_escorial" in result.sources


def test_el_escorial_bulbar_and_one_spinal_is_probable_not_definite(kb):
    assert _eec(kb, exam={"bulbar": BOTH, "cervical": BOTH}).category == Eec.PROBABLE


def test_el_escorial_lab_supported_from_one_clinical_region(kb):
    # Branch 1: UMN and LMN in one region + EMG LMN in two regions + other causes excluded.
    result = _eec(kb, exam={"cervical": BOTH}, emg=EMG_2, tests=workup_tests())
    assert result.category == Eec.PROBABLE_LABORATORY_SUPPORTED


def test_el_escorial_lab_supported_from_umn_alone(kb):
    # Branch 2: UMN signs alone in one region + EMG LMN in two regions.
    result = _eec(kb, exam={"lumbosacral": UMN, "bulbar": {}}, emg=EMG_2, tests=workup_tests())
    assert result.category == Eec.PROBABLE_LABORATORY_SUPPORTED


def test_el_escorial_one_clinical_region_without_emg_stays_possible(kb):
    # [!] The EMG requirement applies to both branches (unlike AirlieHouse.js).
    result = _eec(kb, exam={"cervical": BOTH}, tests=workup_tests())
    assert result.category == Eec.POSSIBLE


def test_el_escorial_fasciculation_potentials_do_not_count(kb):
    emg = {
        "date": "2025-01-10",
        "regions": {
            "thoracic": emg_region(1, fibrillations=False, fasciculations=True),
            "lumbosacral": emg_region(2, fibrillations=False, fasciculations=True),
        },
    }
    result = _eec(kb, exam={"cervical": BOTH}, emg=emg, tests=workup_tests())
    assert result.category == Eec.POSSIBLE


def test_el_escorial_lab_supported_needs_exclusion(kb):
    result = _eec(kb, exam={"cervical": BOTH}, emg=EMG_2)
    assert result.category == Eec.POSSIBLE
    assert any("laboratory-supported once" in reason for reason in result.because)
    assert any(item.startswith("Vitamin B12") for item in result.missing)


def test_el_escorial_lab_supported_needs_neuroimaging(kb):
    # "neuroimaging and laboratory protocols have excluded other causes"
    result = _eec(kb, exam={"cervical": BOTH}, emg=EMG_2, tests=workup_tests(mri=False))
    assert result.category == Eec.POSSIBLE
    assert "MRI brain and spine (neuroimaging)" in result.missing


def test_el_escorial_lab_supported_blocked_by_suspected_mimic(kb):
    emg = {**EMG_2, "sensory_conduction_abnormal": True}
    result = _eec(kb, exam={"cervical": BOTH}, emg=emg, tests=workup_tests())
    assert result.category == Eec.POSSIBLE
    assert any("suspected mimic" in reason for reason in result.because)


def test_el_escorial_lab_supported_needs_umn(kb):
    result = _eec(kb, exam={"cervical": LMN}, emg=EMG_2, tests=workup_tests())
    assert result.category == Eec.NOT_MET


def test_el_escorial_not_progressive_not_met(kb):
    result = _eec(kb, progressive=False, exam={"bulbar": BOTH, "cervical": BOTH, "thoracic": BOTH})
    assert result.category == Eec.NOT_MET


def test_el_escorial_progression_unknown_graded_with_missing(kb):
    result = _eec(kb, progressive=None, exam={"bulbar": BOTH, "cervical": BOTH})
    assert result.category == Eec.PROBABLE
    assert "whether motor impairment is progressive" in result.missing


def test_el_escorial_nothing_examined_is_null(kb):
    result = _eec(kb, emg=EMG_2)
    assert result.category is None
    assert result.missing == ("examination of each region for UMN and LMN signs",)


def test_el_escorial_unexamined_regions_named_as_missing(kb):
    result = _eec(kb, exam={"cervical": BOTH, "thoracic": None})
    assert "examination of the thoracic region" in result.missing


def test_el_escorial_definite_needs_nothing_more(kb):
    result = _eec(kb, exam={"bulbar": BOTH, "cervical": BOTH, "lumbosacral": BOTH})
    assert result.missing == ()


def test_el_escorial_familial_lab_supported_with_pathogenic_variant(kb):
    # Clinically definite familial ALS - laboratory-supported (reference 1.1, [M]).
    result = _eec(
        kb,
        exam={"cervical": BOTH},
        genetics=[{"gene": "SOD1", "result": "pathogenic", "variant": "p.Ala5Val"}],
    )
    assert result.familial_laboratory_supported is True
    assert result.category == Eec.POSSIBLE
    assert "roggenbuck2023_genetic_testing" in result.sources


@pytest.mark.parametrize(
    ("exam", "genetics", "expected"),
    [
        ({"cervical": BOTH}, [{"gene": "C9orf72", "result": "negative"}], False),
        ({"cervical": BOTH}, [], None),
        ({"cervical": UMN}, [{"gene": "SOD1", "result": "pathogenic"}], False),
        # A variant of uncertain significance leaves the question open (definitions.yaml).
        ({"cervical": BOTH}, [{"gene": "SOD1", "result": "vus"}], None),
    ],
    ids=["negative", "not-tested", "no-region-with-both", "vus"],
)
def test_el_escorial_familial_otherwise(kb, exam, genetics, expected):
    result = _eec(kb, exam=exam, genetics=genetics)
    assert result.familial_laboratory_supported is expected


def test_el_escorial_examples(kb):
    assert (
        diagnose(example("P-0001-limb-onset"), kb, "2025-02-01").criteria.el_escorial.category
        == Eec.PROBABLE_LABORATORY_SUPPORTED
    )
    assert (
        diagnose(example("P-0002-bulbar-onset"), kb, "2025-03-01").criteria.el_escorial.category
        == Eec.PROBABLE
    )
    sod1 = diagnose(example("P-0004-sod1-late"), kb, "2024-09-01").criteria.el_escorial
    assert (sod1.category, sod1.familial_laboratory_supported) == (Eec.PROBABLE, True)
