"""Gold Coast criteria (shefner2020_gold_coast; turner2022_gold_coast Box 1).

ALS when all three hold: (1) progressive motor impairment; (2) UMN and LMN dysfunction in the
same region, or LMN dysfunction in at least two regions; (3) investigations exclude other
diseases (alscare: no suspected non-spectrum mimic and the minimum work-up done). Binary;
null when it cannot be decided yet.
"""

from __future__ import annotations

import pytest

from tests.builders import diagnose, emg_region, make_record, signs, workup_tests
from tests.conftest import example

EMG_DONE = {"date": "2025-01-10", "regions": {}}


def _gold_coast(kb, **record):
    base = {"progressive": True, "emg": EMG_DONE, "tests": workup_tests()}
    base.update(record)
    return diagnose(make_record(**base), kb).criteria.gold_coast


def test_gold_coast_umn_and_lmn_in_one_region_met(kb):
    # Box 1, criterion 2: UMN and LMN in the same region suffices when only one is involved.
    result = _gold_coast(kb, exam={"cervical": signs(umn=True, lmn=True)})
    assert result.met is True
    assert result.missing == ()
    assert "shefner2020_gold_coast" in result.sources


def test_gold_coast_lmn_in_two_regions_without_umn_met(kb):
    # [!] Pure LMN in two regions (the old PMA picture) meets Gold Coast.
    result = _gold_coast(kb, exam={"cervical": signs(lmn=True), "lumbosacral": signs(lmn=True)})
    assert result.met is True
    assert any("LMN signs in 2 regions" in reason for reason in result.because)


def test_gold_coast_lmn_in_every_region_met(kb):
    exam = {region: signs(lmn=True) for region in ("bulbar", "cervical", "thoracic", "lumbosacral")}
    assert _gold_coast(kb, exam=exam).met is True


def test_gold_coast_lmn_by_emg_in_two_regions_met(kb):
    result = _gold_coast(
        kb,
        exam={"cervical": {}, "thoracic": {}},
        emg={"regions": {"cervical": emg_region(2), "thoracic": emg_region(1)}},
    )
    assert result.met is True


def test_gold_coast_umn_bulbar_lmn_lumbosacral_not_met(kb):
    # [!] UMN in one region plus LMN in a different single region meets neither limb.
    result = _gold_coast(kb, exam={"bulbar": signs(umn=True), "lumbosacral": signs(lmn=True)})
    assert result.met is False


def test_gold_coast_pure_umn_never_met(kb):
    # [!] Pure UMN (primary lateral sclerosis) never meets Gold Coast.
    exam = {region: signs(umn=True) for region in ("bulbar", "cervical", "lumbosacral")}
    assert _gold_coast(kb, exam=exam).met is False


def test_gold_coast_lmn_in_one_region_not_met(kb):
    result = _gold_coast(kb, exam={"cervical": signs(lmn=True), "bulbar": None})
    assert result.met is False
    assert "examination of the bulbar region" in result.missing


def test_gold_coast_not_progressive_not_met(kb):
    result = _gold_coast(kb, progressive=False, exam={"cervical": signs(umn=True, lmn=True)})
    assert result.met is False
    assert any("not progressive" in reason for reason in result.because)


def test_gold_coast_progression_unknown_is_null(kb):
    result = _gold_coast(kb, progressive=None, exam={"cervical": signs(umn=True, lmn=True)})
    assert result.met is None
    assert "whether motor impairment is progressive" in result.missing


def test_gold_coast_without_work_up_is_null(kb):
    result = _gold_coast(kb, emg=None, tests=[], exam={"cervical": signs(umn=True, lmn=True)})
    assert result.met is None
    missing = " | ".join(result.missing)
    for needed in ("Electromyography", "Vitamin B12", "Creatine kinase", "Thyroid", "Calcium"):
        assert needed in missing


def test_gold_coast_pending_result_is_not_done(kb):
    tests = [t for t in workup_tests() if t["id"] != "vitamin_b12"]
    tests.append({"id": "vitamin_b12", "date": "2025-01-10", "result": "pending"})
    result = _gold_coast(kb, tests=tests, exam={"cervical": signs(umn=True, lmn=True)})
    assert result.met is None
    assert any(item.startswith("Vitamin B12") for item in result.missing)


def test_gold_coast_mri_is_not_part_of_the_minimum_work_up(kb):
    # alscare's reading: the routine work-up (EMG/NCS, B12, CK, thyroid, calcium) is the minimum;
    # without bulbar signs a missing MRI is recommended and raises cervical myelopathy to consider.
    found = diagnose(
        make_record(
            progressive=True,
            emg=EMG_DONE,
            tests=workup_tests(mri=False),
            exam={"bulbar": {}, "cervical": signs(umn=True, lmn=True)},
        ),
        kb,
    )
    assert found.criteria.gold_coast.met is True
    assert found.level("cervical_spondylotic_myelopathy") == "consider"
    assert found.plan("mri_brain_spine").status == "recommended"


def test_gold_coast_met_with_bulbar_signs_without_mri(kb):
    result = _gold_coast(
        kb, tests=workup_tests(mri=False), exam={"bulbar": signs(umn=True, lmn=True)}
    )
    assert result.met is True


def test_gold_coast_suspected_mimic_not_met(kb):
    # Criterion 3: a conduction block points to multifocal motor neuropathy.
    result = _gold_coast(
        kb,
        exam={"cervical": signs(umn=True, lmn=True)},
        emg={"date": "2025-01-10", "regions": {}, "motor_conduction_block": True},
    )
    assert result.met is False
    assert any("Multifocal motor neuropathy" in reason for reason in result.because)
    assert any("Anti-GM1" in item for item in result.missing)


def test_gold_coast_spectrum_phenotype_is_no_exclusion(kb):
    # Progressive muscular atrophy is ALS spectrum, never a mimic to exclude.
    found = diagnose(
        make_record(
            progressive=True,
            emg=EMG_DONE,
            tests=workup_tests(),
            exam={"cervical": signs(lmn=True), "lumbosacral": signs(lmn=True)},
        ),
        kb,
    )
    assert found.level("progressive_muscular_atrophy") == "consider"
    assert found.criteria.gold_coast.met is True


def test_gold_coast_nothing_examined_is_null(kb):
    result = _gold_coast(kb)
    assert result.met is None
    assert "examination of each region for UMN and LMN signs" in result.missing


def test_gold_coast_example_limb_onset_met(kb):
    found = diagnose(example("P-0001-limb-onset"), kb, "2025-02-01")
    assert found.criteria.gold_coast.met is True


def test_gold_coast_example_conduction_block_not_met(kb):
    found = diagnose(example("P-0003-conduction-block"), kb, "2025-01-15")
    assert found.criteria.gold_coast.met is False


@pytest.mark.parametrize("name", ["P-0002-bulbar-onset", "P-0004-sod1-late"])
def test_gold_coast_examples_without_work_up_null(kb, name):
    result = diagnose(example(name), kb, "2025-03-01").criteria.gold_coast
    assert result.met is None
    assert result.missing


def _mri_required(kb):
    """The knowledge base with MRI counted in the minimum work-up (unless bulbar signs)."""
    investigations = tuple(
        i.model_copy(update={"workup": i.workup.model_copy(update={"counts_for_exclusion": True})})
        if i.id == "mri_brain_spine" and i.workup
        else i
        for i in kb.diagnosis.investigations
    )
    diagnosis = kb.diagnosis.model_copy(update={"investigations": investigations})
    return kb.model_copy(update={"diagnosis": diagnosis})


def test_gold_coast_imaging_in_the_work_up_is_waived_by_bulbar_signs(kb):
    # The content decides which investigations the exclusion needs; a work-up item with an
    # `unless` condition (MRI without clear bulbar signs) is needed only while it applies.
    strict = _mri_required(kb)
    base = {"progressive": True, "emg": EMG_DONE, "tests": workup_tests(mri=False)}
    without_bulbar = make_record(**base, exam={"bulbar": {}, "cervical": signs(umn=True, lmn=True)})
    with_bulbar = make_record(**base, exam={"bulbar": signs(umn=True, lmn=True)})
    assert diagnose(without_bulbar, strict).criteria.gold_coast.met is None
    assert diagnose(with_bulbar, strict).criteria.gold_coast.met is True
