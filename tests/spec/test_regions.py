"""Region involvement from the examination and needle EMG.

Oracles: Gold Coast footnote (turner2022_gold_coast, Box 1) for clinical UMN signs (any one of
brisk reflexes, pathological reflexes, spasticity, slowed movement not explained by LMN weakness
or parkinsonism) and clinical LMN signs (weakness AND wasting); Awaji-Shima
(decarvalho2008_awaji) and revised El Escorial (brooks2000_el_escorial) for EMG: chronic
neurogenic change plus denervation, fasciculation potentials counting only under Awaji/Gold
Coast, one muscle for bulbar and thoracic, two for cervical and lumbosacral.
"""

from __future__ import annotations

import pytest

from alscare.schemas.vocabulary import Region
from tests.builders import diagnose, emg_region, make_record, make_record_v2, signs
from tests.conftest import example


def _regions(kb, **record):
    return diagnose(make_record(**record), kb).regions


@pytest.mark.parametrize(
    "sign", ["hyperreflexia", "pathological_reflexes", "spasticity", "slowed_movements"]
)
def test_regions_any_one_umn_sign_counts(kb, sign):
    # turner2022_gold_coast Box 1: at least one of (a)-(d).
    status = _regions(kb, exam={"cervical": {sign: True}})[Region.CERVICAL]
    assert status.umn is True
    assert any(sign.replace("_", " ") in reason for reason in status.because)


def test_regions_slowed_movement_explained_by_parkinsonism_not_umn(kb):
    # turner2022_gold_coast Box 1 (d): slowing not explained by parkinsonism.
    status = _regions(
        kb,
        exam={"cervical": {"slowed_movements": True}},
        findings=[{"id": "extrapyramidal_signs", "present": True}],
    )[Region.CERVICAL]
    assert status.umn is False
    assert any("not counted as a UMN sign" in reason for reason in status.because)


def test_regions_parkinsonism_does_not_discount_other_umn_signs(kb):
    status = _regions(
        kb,
        exam={"cervical": {"slowed_movements": True, "spasticity": True}},
        findings=[{"id": "extrapyramidal_signs", "present": True}],
    )[Region.CERVICAL]
    assert status.umn is True


def test_regions_weakness_with_wasting_is_clinical_lmn(kb):
    status = _regions(kb, exam={"lumbosacral": signs(lmn=True)})[Region.LUMBOSACRAL]
    assert (status.lmn, status.lmn_clinical, status.lmn_source) == (True, True, "clinical")


@pytest.mark.parametrize(
    "exam",
    [
        {"weakness": True},
        {"wasting": True},
        {"fasciculations": True},
        {"weakness": True, "fasciculations": True},
        {"wasting": True, "fasciculations": True},
    ],
    ids=["weakness", "wasting", "fasciculations", "weakness+fasc", "wasting+fasc"],
)
def test_regions_lmn_needs_weakness_and_wasting(kb, exam):
    # turner2022_gold_coast Box 1: clinical LMN = weakness AND wasting; fasciculations on
    # examination are supportive only (alscare's documented reading, region_rules.lmn_clinical).
    status = _regions(kb, exam={"cervical": exam})[Region.CERVICAL]
    assert status.lmn is False
    assert status.lmn_source is None


def test_regions_examined_fasciculations_reported_as_supportive(kb):
    status = _regions(kb, exam={"cervical": signs(lmn=True, fasciculations=True)})[Region.CERVICAL]
    assert status.lmn is True
    assert any("supportive only" in reason for reason in status.because)


def test_regions_not_examined_is_unknown(kb):
    status = _regions(kb, exam={"thoracic": None})[Region.THORACIC]
    assert (status.umn, status.lmn, status.lmn_source) == (None, None, None)
    assert "examination of the thoracic region" in status.missing


def test_regions_examined_without_signs_is_false(kb):
    status = _regions(kb, exam={"bulbar": {}})[Region.BULBAR]
    assert (status.umn, status.lmn) == (False, False)
    assert status.missing == ()


def test_regions_always_four_in_rostral_order(kb):
    assert list(_regions(kb)) == [
        Region.BULBAR,
        Region.CERVICAL,
        Region.THORACIC,
        Region.LUMBOSACRAL,
    ]


def test_regions_findings_never_count(kb):
    # Record spec: criteria count only exam and emg, not findings.
    found = _regions(
        kb,
        findings=[
            {"id": "hoffmann_sign", "present": True, "region": "cervical"},
            {"id": "muscle_atrophy", "present": True, "region": "cervical"},
            {"id": "upper_extremity_weakness", "present": True, "region": "cervical"},
        ],
    )
    assert (found[Region.CERVICAL].umn, found[Region.CERVICAL].lmn) == (None, None)


@pytest.mark.parametrize(
    ("region", "muscles", "expected"),
    [
        ("bulbar", 1, True),
        ("thoracic", 1, True),
        ("cervical", 1, False),
        ("cervical", 2, True),
        ("lumbosacral", 1, False),
        ("lumbosacral", 2, True),
        ("cervical", 0, False),
    ],
)
def test_regions_emg_muscles_per_region(kb, region, muscles, expected):
    # decarvalho2008_awaji: 1 muscle bulbar/thoracic, 2 muscles cervical/lumbosacral.
    status = _regions(kb, emg={"regions": {region: emg_region(muscles)}})[Region(region)]
    assert status.lmn_emg is expected
    assert status.lmn is expected
    assert status.lmn_emg_el_escorial is expected


def test_regions_emg_fasciculation_potentials_count_under_awaji_only(kb):
    # decarvalho2008_awaji: fasciculation potentials equal fibrillations with chronic change;
    # brooks2000_el_escorial: they do not.
    emg = emg_region(2, fibrillations=False, fasciculations=True)
    status = _regions(kb, emg={"regions": {"cervical": emg}})[Region.CERVICAL]
    assert (status.lmn_emg, status.lmn_emg_el_escorial) == (True, False)
    assert (status.lmn, status.lmn_source) == (True, "emg")
    assert any("not under revised El Escorial" in reason for reason in status.because)


def test_regions_emg_denervation_without_chronic_change_is_not_lmn(kb):
    emg = {"chronic_neurogenic": False, "active_denervation": True, "muscles": 3}
    status = _regions(kb, emg={"regions": {"cervical": emg}})[Region.CERVICAL]
    assert (status.lmn_emg, status.lmn_emg_el_escorial) == (False, False)


def test_regions_emg_chronic_change_without_denervation_is_not_lmn(kb):
    emg = emg_region(3, fibrillations=False, fasciculations=False)
    status = _regions(kb, emg={"regions": {"lumbosacral": emg}})[Region.LUMBOSACRAL]
    assert status.lmn_emg is False


def test_regions_emg_muscle_count_unknown_in_limb_region(kb):
    status = _regions(kb, emg={"regions": {"cervical": emg_region(None)}})[Region.CERVICAL]
    assert status.lmn_emg is None
    assert status.lmn is None
    assert "number of cervical muscles with EMG changes" in status.missing


def test_regions_emg_muscle_count_unknown_in_one_muscle_region(kb):
    status = _regions(kb, emg={"regions": {"thoracic": emg_region(None)}})[Region.THORACIC]
    assert status.lmn_emg is True


def test_regions_clinical_and_emg_evidence(kb):
    found = _regions(
        kb,
        exam={"cervical": signs(umn=True, lmn=True), "lumbosacral": {}},
        emg={"date": "2025-01-01", "regions": {"cervical": emg_region(4)}},
    )
    assert found[Region.CERVICAL].lmn_source == "clinical+emg"
    assert found[Region.LUMBOSACRAL].lmn_emg is None  # not studied
    assert found[Region.LUMBOSACRAL].lmn is False
    assert any("2025-01-01" in reason for reason in found[Region.CERVICAL].because)


def test_regions_emg_negative_region_without_examination(kb):
    emg = {"chronic_neurogenic": False, "active_denervation": False, "muscles": 0}
    status = _regions(kb, emg={"regions": {"bulbar": emg}})[Region.BULBAR]
    assert (status.umn, status.lmn, status.lmn_emg) == (None, False, False)


def test_regions_sources_come_from_knowledge(kb):
    status = _regions(kb, exam={"cervical": {}}, emg={"regions": {"cervical": emg_region()}})[
        Region.CERVICAL
    ]
    assert "turner2022_gold_coast" in status.sources
    assert "decarvalho2008_awaji" in status.sources


def test_regions_example_limb_onset(kb):
    found = diagnose(example("P-0001-limb-onset"), kb, "2025-02-01").regions
    assert {r.value: (s.umn, s.lmn, s.lmn_source) for r, s in found.items()} == {
        "bulbar": (False, False, None),
        "cervical": (True, True, "clinical+emg"),
        "thoracic": (False, True, "emg"),
        "lumbosacral": (True, True, "emg"),
    }


# --- record v2: each region's latest examination decides --------------------------------------


def test_regions_each_region_from_its_latest_examination(kb):
    # A later examination of the cervical region replaces the earlier one there; the bulbar
    # region keeps the earlier examination, the only one that examined it.
    record = make_record_v2(
        examinations=[
            {
                "date": "2024-03-01",
                "regions": {"bulbar": signs(umn=True), "cervical": signs(lmn=True)},
            },
            {"date": "2024-09-01", "regions": {"cervical": {}, "bulbar": None}},
        ]
    )
    found = diagnose(record, kb).regions
    assert (found[Region.CERVICAL].umn, found[Region.CERVICAL].lmn) == (False, False)
    assert found[Region.BULBAR].umn is True
    assert any("2024-03-01" in reason for reason in found[Region.BULBAR].because)


def test_regions_emg_region_from_its_latest_study(kb):
    record = make_record_v2(
        emg_studies=[
            {"date": "2024-03-01", "regions": {"lumbosacral": emg_region(2)}},
            {"date": "2024-09-01", "regions": {"lumbosacral": emg_region(2, fibrillations=False)}},
        ]
    )
    assert diagnose(record, kb).regions[Region.LUMBOSACRAL].lmn_emg is False
