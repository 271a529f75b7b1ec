"""The OMOP CDM 5.4 input: a small registry CDM, stored as a DuckDB file, a CSV directory, a
Parquet directory and a PostgreSQL schema, gives the same records v2 from each; they validate,
the engine assesses them, and every row that does not map is reported with its person."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alscare import KnowledgeBase, assess
from alscare.cohort.omop import OmopError, OmopItem, is_omop_source, omop_records
from alscare.cohort.omop_doc import alscare_concept_codes, omop_reference
from alscare.interop.fhir.codes import code_table
from alscare.schemas.records import parse_record_json
from tests.cohort.omop_tables import (
    Cdm,
    day,
    write_csv,
    write_duckdb,
    write_parquet,
    write_postgres,
)

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "omop.md"
ITEMS = (
    "speech",
    "salivation",
    "swallowing",
    "handwriting",
    "cutting_food",
    "dressing_hygiene",
    "turning_in_bed",
    "walking",
    "climbing_stairs",
    "dyspnea",
    "orthopnea",
    "respiratory_insufficiency",
)
FIRST = dict(zip(ITEMS, (3, 4, 4, 2, 2, 3, 3, 3, 2, 4, 4, 4), strict=True))
SECOND = dict(zip(ITEMS, (2, 3, 3, 2, 1, 2, 2, 2, 1, 3, 4, 4), strict=True))


def registry() -> Cdm:
    """Four person_ids: 1 a full ALS course (ALSFRS-R visits, FVC, SNIP, riluzole, NIV,
    death), 2 a person row alone, 3 rows without a person row, 4 a unit that does not
    convert, a unit alscare does not know and a concept the concept table lacks. Rows are
    added out of person order: the queries sort them."""
    cdm = Cdm()
    male = cdm.concept(8507, "Gender", "M", "MALE", "Gender")
    female = cdm.concept(8532, "Gender", "F", "FEMALE", "Gender")
    als = cdm.concept(1001, "SNOMED", "86044005", "Amyotrophic lateral sclerosis", "Condition")
    als_icd = cdm.concept(1002, "ICD10CM", "G12.21", "Amyotrophic lateral sclerosis", "Condition")
    fvc = cdm.concept(1003, "LOINC", "19872-1", "FVC % predicted")
    weight = cdm.concept(1004, "LOINC", "29463-7", "Body weight")
    height = cdm.concept(1005, "LOINC", "8302-2", "Body height")
    alt = cdm.concept(1006, "LOINC", "1742-6", "Alanine aminotransferase")
    pressure = cdm.concept(1007, "LOINC", "8480-6", "Systolic blood pressure")
    riluzole = cdm.concept(1008, "RxNorm", "199206", "riluzole 50 MG Oral Tablet", "Drug")
    paracetamol = cdm.concept(1009, "RxNorm", "161", "acetaminophen", "Drug")
    percent = cdm.concept(2001, "UCUM", "%", "percent", "Unit")
    kg = cdm.concept(2002, "UCUM", "kg", "kilogram", "Unit")
    inch = cdm.concept(2003, "UCUM", "[in_i]", "inch", "Unit")
    per_litre = cdm.concept(2004, "UCUM", "U/L", "unit per liter", "Unit")
    water = cdm.concept(2005, "UCUM", "cm[H2O]", "centimeter of water", "Unit")
    stone = cdm.concept(2006, "UCUM", "[stone_av]", "stone", "Unit")
    millilitre = cdm.concept(2007, "UCUM", "mL", "milliliter", "Unit")
    item = {name: cdm.local(f"alsfrs_r.items.{name}", "Measurement") for name in ITEMS}
    total = cdm.local("alsfrs_r", "Measurement")
    gastrostomy = cdm.local("alsfrs_r.gastrostomy", "Measurement")
    snip = cdm.local("respiratory.snip_cmh2o", "Measurement")
    onset_site = cdm.local("symptom_onset.site")
    family = cdm.local("family_history")
    sensory_loss = cdm.local("findings.sensory_loss")
    niv = cdm.local("interventions.niv", "Procedure")
    clinic = cdm.local("care.multidisciplinary_clinic")
    weakness = cdm.local("examinations.regions.cervical.weakness")
    bulbar = cdm.local("examinations.regions.bulbar")

    # person 4 first: the queries put it last
    cdm.add("person", person_id=4, gender_concept_id=0, year_of_birth=1955)
    cdm.add("person", person_id=2, gender_concept_id=female, year_of_birth=1970,
            month_of_birth=3, day_of_birth=5)  # fmt: skip
    cdm.add("person", person_id=1, gender_concept_id=male, year_of_birth=1961,
            month_of_birth=9, day_of_birth=14, person_source_value="MRN-0012345")  # fmt: skip

    def measure(
        row_id: int, person: int, concept: int, date: str, value: float | None, **rest: Any
    ) -> None:
        cdm.add("measurement", measurement_id=row_id, person_id=person,
                measurement_concept_id=concept, measurement_date=day(date),
                value_as_number=value, **rest)  # fmt: skip

    def observe(row_id: int, person: int, concept: int, date: str, **rest: Any) -> None:
        cdm.add("observation", observation_id=row_id, person_id=person,
                observation_concept_id=concept, observation_date=day(date), **rest)  # fmt: skip

    # person 4: an FVC in mL, a weight in stone, a concept the concept table lacks
    measure(701, 4, fvc, "2025-01-15", 1800, unit_concept_id=millilitre)
    measure(702, 4, weight, "2025-01-15", 11, unit_concept_id=stone)
    measure(703, 4, 999_999, "2025-01-15", 7)
    measure(704, 4, fvc, "2025-01-15", 70, unit_concept_id=percent)
    measure(705, 4, item["speech"], "2025-01-15", 5)
    observe(706, 4, onset_site, "2024-02-01", value_as_string="bulbar")
    cdm.add("condition_occurrence", condition_occurrence_id=707, person_id=4,
            condition_concept_id=als, condition_start_date=day("2024-08-01"))  # fmt: skip

    # person 3: no person row
    measure(601, 3, fvc, "2025-01-01", 50, unit_concept_id=percent)
    observe(602, 3, onset_site, "2024-01-01", value_as_string="bulbar")

    # person 1: the diagnosis by its ICD-10-CM source concept (concept 0) comes first
    cdm.add("condition_occurrence", condition_occurrence_id=11, person_id=1,
            condition_concept_id=als, condition_start_date=day("2024-09-01"))  # fmt: skip
    cdm.add("condition_occurrence", condition_occurrence_id=12, person_id=1,
            condition_concept_id=0, condition_source_concept_id=als_icd,
            condition_start_date=day("2024-06-12"))  # fmt: skip
    for number, name in enumerate(ITEMS):
        measure(200 + number, 1, item[name], "2024-06-12", FIRST[name])
        measure(220 + number, 1, item[name], "2024-12-10", SECOND[name])
        measure(240 + number, 1, item[name], "2025-06-10", 1)  # no 5a or 5b: left out
    measure(212, 1, gastrostomy, "2024-06-12", 0)
    measure(213, 1, total, "2024-06-12", 38)
    measure(232, 1, gastrostomy, "2024-12-10", 0)
    measure(301, 1, fvc, "2024-06-12", 78, unit_concept_id=percent, range_low=80)
    measure(302, 1, fvc, "2024-12-10", 62, unit_concept_id=percent)
    measure(303, 1, snip, "2024-12-10", 55, unit_concept_id=water)
    measure(304, 1, weight, "2024-06-12", 74.5, unit_concept_id=kg)
    measure(305, 1, weight, "2026-06-01", 70, unit_concept_id=kg)  # after death: left out
    measure(306, 1, height, "2024-06-12", 70, unit_concept_id=inch)
    measure(307, 1, alt, "2024-09-01", 32, unit_concept_id=per_litre, range_low=0,
            range_high=40)  # fmt: skip
    measure(308, 1, pressure, "2024-06-12", 135)
    measure(309, 1, pressure, "2024-12-10", 128)
    observe(101, 1, onset_site, "2023-11-01", value_as_string="cervical")
    observe(102, 1, family, "2024-06-12", value_as_concept_id=als, value_as_number=0)
    observe(103, 1, sensory_loss, "2024-06-12", value_as_number=0)
    observe(104, 1, niv, "2025-03-01", value_as_string="offered")
    observe(105, 1, niv, "2025-09-01", value_as_string="started", value_as_number=23.5)
    observe(106, 1, clinic, "2024-06-12")
    observe(107, 1, 0, "2024-06-12", observation_source_concept_id=weakness,
            value_as_number=1)  # fmt: skip
    observe(108, 1, bulbar, "2024-06-12")
    for row_id, start, end, reason in (
        (401, "2024-06-20", "2024-08-31", None),
        (402, "2024-09-01", "2024-12-31", None),  # follows on: one medication
        (403, "2025-02-01", "2025-03-31", "adverse_effect"),
    ):
        cdm.add("drug_exposure", drug_exposure_id=row_id, person_id=1,
                drug_concept_id=riluzole, drug_exposure_start_date=day(start),
                drug_exposure_end_date=day(end), stop_reason=reason)  # fmt: skip
    cdm.add("drug_exposure", drug_exposure_id=404, person_id=1, drug_concept_id=paracetamol,
            drug_exposure_start_date=day("2024-07-01"),
            drug_exposure_end_date=day("2024-07-05"))  # fmt: skip
    cdm.add("procedure_occurrence", procedure_occurrence_id=501, person_id=1,
            procedure_concept_id=niv, procedure_date=day("2025-04-02"))  # fmt: skip
    cdm.add("death", person_id=1, death_date=day("2026-05-01"))
    return cdm


PERSON_1 = {
    "schema": "alscare.patient/v2",
    "id": "1",
    "sex": "male",
    "birth_date": "1961-09-14",
    "height_cm": 177.8,
    "symptom_onset": {"date": "2023-11-01", "site": "cervical"},
    "diagnosis_date": "2024-06-12",
    "findings": [{"id": "sensory_loss", "date": "2024-06-12", "present": False}],
    "examinations": [
        {"date": "2024-06-12", "regions": {"cervical": {"weakness": True}, "bulbar": {}}}
    ],
    "family_history": {"als": False},
    "alsfrs_r": [
        {"date": "2024-06-12", "items": FIRST, "gastrostomy": False},
        {"date": "2024-12-10", "items": SECOND, "gastrostomy": False},
    ],
    "respiratory": [
        {"date": "2024-06-12", "fvc_percent_predicted": 78.0},
        {"date": "2024-12-10", "fvc_percent_predicted": 62.0, "snip_cmh2o": 55.0},
    ],
    "weights": [{"date": "2024-06-12", "kg": 74.5}],
    "medications": [
        {"name": "riluzole", "since": "2024-06-20", "until": "2025-01-01"},
        {
            "name": "riluzole",
            "since": "2025-02-01",
            "until": "2025-04-01",
            "stop_reason": "adverse_effect",
        },
    ],
    "interventions": [
        {"kind": "niv", "event": "offered", "date": "2025-03-01"},
        {"kind": "niv", "event": "started", "date": "2025-04-02"},
        {"kind": "niv", "event": "started", "date": "2025-09-01", "hours_per_day": 23.5},
    ],
    "labs": [
        {
            "id": "alt",
            "date": "2024-09-01",
            "value": 32.0,
            "unit": "U/L",
            "lower_limit": 0.0,
            "upper_limit": 40.0,
        }
    ],
    "care": [{"kind": "multidisciplinary_clinic", "date": "2024-06-12"}],
    "death": {"date": "2026-05-01"},
}
PROBLEMS_1 = (
    "measurement 308, 309 (LOINC 8480-6 Systolic blood pressure): not a concept alscare maps",
    "drug_exposure 404 (RxNorm 161 acetaminophen): not a drug alscare records",
    "measurement 240, 241, 242, 243, 244 and 7 more: the alsfrs_r entry of 2025-06-10 is left "
    "out: gastrostomy: Field required",
    "measurement 305: the weights entry of 2026-06-01 is left out: date: date is after the "
    "date of death",
)
PERSON_2 = {"schema": "alscare.patient/v2", "id": "2", "sex": "female", "birth_date": "1970-03-05"}
PROBLEMS_2 = (
    "no ALS diagnosis: no condition_occurrence coded SNOMED 86044005, ICD10CM G12.21, ICD10 G12.2",
    "no symptom onset: no observation coded alscare symptom_onset or alscare symptom_onset.site",
)
PERSON_4 = {
    "schema": "alscare.patient/v2",
    "id": "4",
    "symptom_onset": {"date": "2024-02-01", "site": "bulbar"},
    "diagnosis_date": "2024-08-01",
    "respiratory": [{"date": "2025-01-15", "fvc_percent_predicted": 70.0}],
}
PROBLEMS_4 = (
    "measurement 701 (LOINC 19872-1 FVC % predicted): unit 'mL' cannot be converted to '%'",
    "measurement 702 (LOINC 29463-7 Body weight): unit '[stone_av]' is not a UCUM unit alscare "
    "converts",
    "measurement 703 (concept 999999, which the concept table does not hold): not a concept "
    "alscare maps",
    "gender_concept_id 0 is not mapped (8507 male, 8532 female): no sex",
    "birth date not recorded in full (year_of_birth 1955 only): no birth date",
    "measurement 705: the alsfrs_r entry of 2025-01-15 is left out: gastrostomy: Field "
    "required; items.speech: Input should be less than or equal to 4",
)
EXPECTED = (
    OmopItem("person 1", PERSON_1, PROBLEMS_1),
    OmopItem("person 2", PERSON_2, PROBLEMS_2),
    OmopItem(
        "person 3",
        None,
        (
            "no person row has this person_id: its 1 row of measurement, 1 row of observation are "
            "not read",
        ),  # fmt: skip
    ),
    OmopItem("person 4", PERSON_4, PROBLEMS_4),
)


@pytest.fixture(scope="module")
def cdm() -> Cdm:
    return registry()


@pytest.fixture(scope="module")
def sources(cdm: Cdm, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The registry as a DuckDB file (in schema cdm), a CSV and a Parquet directory."""
    folder = tmp_path_factory.mktemp("omop")
    write_duckdb(cdm, folder / "cdm.duckdb", schema="cdm")
    write_csv(cdm, folder / "csv")
    write_parquet(cdm, folder / "parquet")
    return {
        "duckdb": str(folder / "cdm.duckdb"),
        "csv": str(folder / "csv"),
        "parquet": str(folder / "parquet"),
    }


def _read(source: str, schema: str | None = None) -> list[OmopItem]:
    return list(omop_records(source, schema=schema))


@pytest.mark.parametrize("kind", ["duckdb", "csv", "parquet"])
def test_omop_records_registry_gives_the_exact_records_and_problems(
    sources: dict[str, str], kind: str
) -> None:
    schema = "cdm" if kind == "duckdb" else None
    items = _read(sources[kind], schema)
    assert [item.ref for item in items] == [item.ref for item in EXPECTED]
    for item, expected in zip(items, EXPECTED, strict=True):
        assert item.record == expected.record
        assert item.problems == expected.problems


@pytest.mark.postgres
def test_omop_records_postgresql_gives_what_the_files_give(
    cdm: Cdm, sources: dict[str, str]
) -> None:
    from tests.conftest_server import postgres_schema

    for url in postgres_schema():
        write_postgres(cdm, url)
        by_url = _read(url)
        base, _, options = url.partition("?")
        schema = options.removeprefix("options=-csearch_path%3D")
        by_argument = _read(base.replace("postgresql+psycopg://", "postgresql://"), schema)
        assert by_url == by_argument == _read(sources["parquet"])
        assert by_url == list(EXPECTED)


def test_omop_records_every_source_gives_identical_json(sources: dict[str, str]) -> None:
    texts = {
        kind: [
            json.dumps(item.record) for item in _read(source, "cdm" if kind == "duckdb" else None)
        ]
        for kind, source in sources.items()
    }
    assert texts["duckdb"] == texts["csv"] == texts["parquet"]


def test_omop_records_validate_and_the_engine_assesses_them(
    sources: dict[str, str], kb: KnowledgeBase
) -> None:
    records = [item.record for item in _read(sources["parquet"]) if item.record is not None]
    assessed = {}
    for data in records:
        record = parse_record_json(json.dumps(data))
        assert record.to_json_dict() == data  # what the input writes is the record's own form
        assessed[record.id] = assess(record, as_of=dt.date(2025, 1, 1), kb=kb)
    first = assessed["1"]
    assert first.scores.alsfrs_r is not None
    assert (first.scores.alsfrs_r.date, first.scores.alsfrs_r.total) == (dt.date(2024, 12, 10), 29)
    assert first.scores.fvc_percent_predicted == 62.0
    assert first.patient_id == "1"
    assert assessed["2"].scores.alsfrs_r is None


def test_omop_records_carry_no_identity(sources: dict[str, str]) -> None:
    text = json.dumps([item.record for item in _read(sources["csv"])])
    assert "identity" not in text
    assert "MRN-0012345" not in text


def test_omop_records_duckdb_without_its_schema_has_no_tables(sources: dict[str, str]) -> None:
    with pytest.raises(OmopError, match="the CDM has no person and no concept table"):
        omop_records(sources["duckdb"])


def test_omop_records_directory_without_concepts_is_refused(cdm: Cdm, tmp_path: Path) -> None:
    write_csv(cdm, tmp_path)
    (tmp_path / "concept.csv").unlink()
    with pytest.raises(OmopError, match="the CDM has no concept table"):
        omop_records(str(tmp_path))


def test_omop_records_table_in_two_files_is_refused(cdm: Cdm, tmp_path: Path) -> None:
    write_csv(cdm, tmp_path)
    write_parquet(cdm, tmp_path / "p")
    (tmp_path / "p" / "death.parquet").rename(tmp_path / "death.parquet")
    with pytest.raises(OmopError, match="table death is held by more than one file"):
        omop_records(str(tmp_path))


def test_omop_records_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OmopError, match="no such DuckDB file"):
        omop_records(str(tmp_path / "absent.duckdb"))


def test_omop_records_unreachable_postgresql_is_refused() -> None:
    with pytest.raises(OmopError, match="cannot connect"):
        omop_records("postgresql://nobody@127.0.0.1:1/none")


def test_omop_records_csv_malformed_date_is_reported_not_fatal(tmp_path: Path) -> None:
    cdm = Cdm()
    cdm.concept(8532, "Gender", "F", "FEMALE", "Gender")
    als = cdm.concept(1001, "SNOMED", "86044005", "Amyotrophic lateral sclerosis", "Condition")
    cdm.add("person", person_id=7, gender_concept_id=8532, year_of_birth=1950,
            month_of_birth=1, day_of_birth=2)  # fmt: skip
    cdm.add("condition_occurrence", condition_occurrence_id=1, person_id=7,
            condition_concept_id=als, condition_start_date="2024-13-45")  # fmt: skip
    write_csv(cdm, tmp_path)
    [item] = _read(str(tmp_path))
    assert item.record == {
        "schema": "alscare.patient/v2",
        "id": "7",
        "sex": "female",
        "birth_date": "1950-01-02",
    }
    assert item.problems[0] == (
        "condition_occurrence 1 (SNOMED 86044005 Amyotrophic lateral sclerosis): no date"
    )


def test_omop_records_every_alscare_concept_code_is_read(tmp_path: Path) -> None:
    """One observation per alscare code, without a value: none is 'not a concept alscare
    maps' (each is read as a field, an event or a family history, whatever its value says)."""
    cdm = Cdm()
    cdm.add("person", person_id=1, gender_concept_id=8507, year_of_birth=1960,
            month_of_birth=1, day_of_birth=1)  # fmt: skip
    for number, code in enumerate(alscare_concept_codes()):
        concept = cdm.local(code)
        cdm.add("observation", observation_id=number, person_id=1,
                observation_concept_id=concept, observation_date=day("2024-01-01"))  # fmt: skip
    write_parquet(cdm, tmp_path)
    [item] = _read(str(tmp_path))
    parse_record_json(json.dumps(item.record))  # a row without a value leaves no half field
    unmapped = [problem for problem in item.problems if "not a concept alscare maps" in problem]
    # the last code is FTD's, a value concept of the family history only
    assert alscare_concept_codes()[-1] == "ftd"
    assert unmapped == ["observation 179 (alscare ftd ftd): not a concept alscare maps"]
    assert len(alscare_concept_codes()) == 180


def test_is_omop_source_names_urls_files_and_table_directories(
    sources: dict[str, str], tmp_path: Path
) -> None:
    assert is_omop_source("postgresql://postgres@127.0.0.1/test")
    assert is_omop_source(sources["duckdb"])
    assert is_omop_source(sources["csv"])
    assert is_omop_source(sources["parquet"])
    assert is_omop_source(str(tmp_path / "later.db"))
    assert not is_omop_source(str(tmp_path))
    assert not is_omop_source(str(tmp_path / "records.jsonl"))


def test_omop_reference_docs_are_current() -> None:
    assert DOCS.read_text(encoding="utf-8") == omop_reference(), (
        "docs/omop.md is out of date: run .venv/bin/python scripts/omop-doc"
    )


def test_omop_doc_script_check_passes() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "omop-doc"), "--check"])
    assert done.returncode == 0


def _standard_codes() -> Iterator[str]:
    """Every code of codes.yaml the OMOP mapping reads, as vocabulary_id and concept_code."""
    table = code_table()
    names = {"loinc": "LOINC", "snomed": "SNOMED", "icd10cm": "ICD10CM", "icd10": "ICD10",
             "rxnorm": "RxNorm", "alscare": "alscare"}  # fmt: skip
    systems = {uri: names[name] for name, uri in table.systems.items() if name in names}
    codings = [c for codes in table.conditions.values() for c in codes.codes]
    for part in table.observations:
        own = [] if part.id is not None else [part.code]  # a part read by id: by its ids
        codings.extend([*own, *part.codes.values(), *part.ids.values()])
    codings.extend(c for codes in table.medications.values() for c in codes.codes)
    codings.extend([*table.interventions.values(), *table.care.values()])
    codings.extend(entry.code for entry in table.not_recorded)
    for coding in codings:
        yield f"{systems[coding.system]} {coding.code}"


def test_omop_reference_names_every_code_of_the_table_it_maps() -> None:
    text = DOCS.read_text(encoding="utf-8")
    missing = [code for code in _standard_codes() if code not in text]
    assert missing == []
    assert "alscare family_history" in text
    assert all(f"`{code}`" in text for code in alscare_concept_codes())


def edge_cases() -> Cdm:
    """One person (with a second person row) whose rows take the paths the registry does not:
    a test's text result, a genetic result with its gene, risk factors, PaCO2 told apart by
    its unit, an operator, a value given twice, a total that disagrees, a stop reason alscare
    does not record, a procedure's end date, a family history absent then present."""
    cdm = Cdm()
    cdm.concept(8532, "Gender", "F", "FEMALE", "Gender")
    als = cdm.concept(1001, "SNOMED", "86044005", "Amyotrophic lateral sclerosis", "Condition")
    fvc = cdm.concept(1003, "LOINC", "19872-1", "FVC % predicted")
    riluzole = cdm.concept(1008, "RxNorm", "199206", "riluzole 50 MG Oral Tablet", "Drug")
    percent = cdm.concept(2001, "UCUM", "%", "percent", "Unit")
    per_litre = cdm.concept(2004, "UCUM", "U/L", "unit per liter", "Unit")
    kpa = cdm.concept(2008, "UCUM", "kPa", "kilopascal", "Unit")
    mmhg = cdm.concept(2009, "UCUM", "mm[Hg]", "millimeter mercury column", "Unit")
    mri = cdm.local("tests.mri_brain_spine")
    kinase = cdm.local("tests.creatine_kinase", "Measurement")
    genetics = cdm.local("genetics")
    gene = cdm.local("genetics.gene")
    risk = cdm.local("risk_factors")
    paco2 = cdm.local("respiratory.paco2", "Measurement")
    speech = cdm.local("alsfrs_r.items.speech", "Measurement")
    total = cdm.local("alsfrs_r", "Measurement")
    family = cdm.local("family_history")
    gastrostomy = cdm.local("interventions.gastrostomy", "Procedure")
    for _ in range(2):
        cdm.add("person", person_id=5, gender_concept_id=8532, year_of_birth=1950,
                birth_datetime=dt.datetime(1950, 4, 3, 10, 30))  # fmt: skip

    def measure(row_id: int, concept: int, value: float, **rest: Any) -> None:
        cdm.add("measurement", measurement_id=row_id, person_id=5,
                measurement_concept_id=concept, measurement_date=day("2024-05-02"),
                value_as_number=value, **rest)  # fmt: skip

    def observe(row_id: int, concept: int, **rest: Any) -> None:
        cdm.add("observation", observation_id=row_id, person_id=5,
                observation_concept_id=concept, observation_date=day("2024-05-02"),
                **rest)  # fmt: skip

    cdm.add("condition_occurrence", condition_occurrence_id=1, person_id=5,
            condition_concept_id=als, condition_start_date=day("2024-05-02"))  # fmt: skip
    observe(1, mri, value_as_string="normal")
    measure(2, kinase, 250, unit_concept_id=per_litre, range_high=200)
    observe(3, genetics, value_as_string="pathogenic")
    observe(4, gene, value_as_string="SOD1")
    observe(5, risk, value_as_string="military_service")
    observe(6, risk, value_as_string="cigarette_smoking")
    measure(7, paco2, 6.5, unit_concept_id=kpa)
    measure(8, paco2, 48, unit_concept_id=mmhg)
    measure(9, fvc, 5, unit_concept_id=percent, operator_concept_id=4171756)
    measure(10, fvc, 81, unit_concept_id=percent)
    measure(11, fvc, 79, unit_concept_id=percent)
    measure(12, speech, 4)
    measure(13, total, 40)
    observe(14, family, value_as_concept_id=als, value_as_number=0)
    observe(15, family, value_as_concept_id=als, value_as_number=1)
    cdm.add("drug_exposure", drug_exposure_id=16, person_id=5, drug_concept_id=riluzole,
            drug_exposure_start_date=day("2024-05-10"),
            drug_exposure_end_date=day("2024-06-09"), stop_reason="toxicity")  # fmt: skip
    cdm.add("procedure_occurrence", procedure_occurrence_id=17, person_id=5,
            procedure_concept_id=gastrostomy, procedure_date=day("2024-07-01"),
            procedure_end_date=day("2024-07-03"))  # fmt: skip
    return cdm


def test_omop_records_edge_cases_from_csv_with_upper_case_headers(tmp_path: Path) -> None:
    write_csv(edge_cases(), tmp_path, upper=True)
    first, second = _read(str(tmp_path))
    assert first.record == {
        "schema": "alscare.patient/v2",
        "id": "5",
        "sex": "female",
        "birth_date": "1950-04-03",
        "diagnosis_date": "2024-05-02",
        "tests": [  # one date: measurement rows come before observation rows
            {
                "id": "creatine_kinase",
                "date": "2024-05-02",
                "value": 250.0,
                "unit": "U/L",
                "upper_limit": 200.0,
            },
            {"id": "mri_brain_spine", "date": "2024-05-02", "result": "normal"},
        ],
        "genetics": [{"date": "2024-05-02", "result": "pathogenic", "gene": "SOD1"}],
        "family_history": {"als": True},
        "risk_factors": ["military_service", "cigarette_smoking"],
        "respiratory": [
            {
                "date": "2024-05-02",
                "paco2_kpa": 6.5,
                "paco2_mmhg": 48.0,
                "fvc_percent_predicted": 81.0,
            }
        ],
        "medications": [{"name": "riluzole", "since": "2024-05-10", "until": "2024-06-10"}],
        "interventions": [{"kind": "gastrostomy", "event": "started", "date": "2024-07-01"}],
    }
    assert first.problems == (
        "measurement 9 (LOINC 19872-1 FVC % predicted): a value with an operator "
        "(operator_concept_id 4171756)",
        "measurement 11 (LOINC 19872-1 FVC % predicted): fvc_percent_predicted is 79.0 here; "
        "an earlier row gave 81.0",
        "drug_exposure 16 (RxNorm 199206 riluzole 50 MG Oral Tablet): stop_reason 'toxicity' is "
        "not a stop reason alscare records",
        "procedure_occurrence 17 (alscare interventions.gastrostomy interventions.gastrostomy): "
        "procedure_end_date 2024-07-03 is not read: a stop is an observation",
        "measurement 12, 13: the alsfrs_r entry of 2024-05-02 is left out: the total 40 cannot "
        "be checked: not all of its items are rated",
        "no symptom onset: no observation coded alscare symptom_onset or alscare "
        "symptom_onset.site",
    )
    assert second == OmopItem("person 5", None, ("a second person row: not read",))
