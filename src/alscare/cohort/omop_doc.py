"""docs/omop.md: the OMOP CDM mapping of :mod:`alscare.cohort.omop` as a document, table by
table, written from the FHIR code table alone (``scripts/omop-doc``; a test keeps the file
current)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Final, get_args, get_origin

from pydantic import BaseModel

from alscare.cohort.omop import FAMILY_HISTORY_CODE, GENDERS
from alscare.cohort.omop_rows import (
    ALSCARE_VOCABULARY,
    VOCABULARIES,
    Leaf,
    bare_type,
    is_model,
    is_vocabulary,
    leaf_at,
    leaf_of,
    not_given_alone,
    omop_code,
    value_field,
)
from alscare.interop.fhir.codes import CodeTable, Coding, ObservationPart, code_table
from alscare.interop.fhir.elements import Unreadable
from alscare.interop.fhir.names import CODE_SYSTEM
from alscare.schemas.vocabulary import InterventionEvent, StopReason

__all__ = ["CONCEPT_CODE_LENGTH", "LOCAL_CONCEPTS_FROM", "alscare_concept_codes", "omop_reference"]

#: OMOP keeps the concept_ids from here up for a site's own concepts.
LOCAL_CONCEPTS_FROM: Final = 2_000_000_000
#: The characters the CDM's concept.concept_code holds (varchar(50) in the 5.4 DDL).
CONCEPT_CODE_LENGTH: Final = 50


def omop_reference(table: CodeTable | None = None) -> str:
    """docs/omop.md: how each table of a CDM becomes part of the record, from the code table."""
    table = table or code_table()
    return "\n".join(
        [
            _DOC_HEADER,
            _doc_reading(table),
            _doc_local(table),
            _DOC_PERSON,
            _doc_conditions(table),
            _doc_observations(table),
            _doc_events(table),
            _doc_drugs(table),
            _doc_procedures(table),
            _doc_units(table),
            _DOC_LAKE,
            _doc_codes(table),
        ]
    )


# --- the codes the mapping reads -------------------------------------------------------------


def alscare_concept_codes(table: CodeTable | None = None) -> tuple[str, ...]:
    """Every concept_code of the vocabulary ``alscare`` the mapping reads, in the table's
    order: the local concepts a CDM declares to hold alscare's own codes."""
    table = table or code_table()
    codings: list[Coding] = []
    for part in table.observations:
        codings.extend(_id_codings(part) if part.id is not None else [part.code])
        codings.extend(coding for _, _, coding in _field_codings(part))
    codings.extend(table.interventions.values())
    codings.extend(table.care.values())
    codes = [coding.code for coding in codings if coding.system == table.systems["alscare"]]
    codes.append(FAMILY_HISTORY_CODE)
    for condition in table.conditions.values():
        codes.extend(c.code for c in condition.codes if c.system == table.systems["alscare"])
    return tuple(dict.fromkeys(codes))


def _id_codings(part: ObservationPart) -> list[Coding]:
    if part.id is None:
        return []
    ids = leaf_at(part.entry_model(), (part.id,))
    assert ids is not None and is_vocabulary(ids.kind)  # an id is a vocabulary id
    return [part.id_coding(member.value) for member in ids.kind]


def _field_codings(part: ObservationPart) -> Iterator[tuple[tuple[str, ...], Leaf, Coding]]:
    """Each field path a row of its own gives (of series and object parts, but not of those
    read by id), with its type and its code."""
    if part.shape == "fields" or part.id is not None:
        return
    skipped = not_given_alone(part) | {part.value or ""}
    for path, leaf in _paths(part.entry_model(), ()):
        if path[0] not in skipped:
            yield path, leaf, part.path_coding(".".join(path))


def _paths(
    model: type[BaseModel], prefix: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], Leaf]]:
    for name, info in model.model_fields.items():
        yield from _paths_below((*prefix, name), bare_type(info.annotation))


def _paths_below(path: tuple[str, ...], annotation: Any) -> Iterator[tuple[tuple[str, ...], Leaf]]:
    if is_model(annotation):
        yield from _paths(annotation, path)
    elif get_origin(annotation) is dict:
        keys, values = get_args(annotation)
        for member in keys:
            inner, bare = (*path, member.value), bare_type(values)
            if is_model(bare):
                yield inner, Leaf(bare)
            yield from _paths_below(inner, bare)
    else:
        leaf = leaf_of(annotation)
        if leaf is not None:
            yield path, leaf


def _pattern(model: type[BaseModel], path: tuple[str, ...]) -> str:
    """A field path as the document writes it: a key of a dict of objects (a region) as
    ``<region>``, so that one line stands for every region."""
    annotation: Any = model
    written = []
    for name in path:
        annotation = bare_type(annotation)
        if is_model(annotation):
            annotation = annotation.model_fields[name].annotation
            written.append(name)
        else:
            keys, annotation = get_args(annotation)
            written.append(
                f"<{keys.__name__.lower()}>" if is_model(bare_type(annotation)) else name
            )
    return ".".join(written)


# --- the lines of the measurement and observation table --------------------------------------


def _value_text(leaf: Leaf) -> str:
    if is_model(leaf.kind):
        text = "none: recorded, with nothing found but what other rows say"
    elif leaf.kind is bool:
        text = "value_as_number 1 (yes) or 0 (no)"
    elif leaf.kind is int:
        text = "value_as_number, a whole number"
    elif leaf.kind is float:
        text = "value_as_number"
    elif is_vocabulary(leaf.kind):
        text = "value_as_string: " + ", ".join(f"`{member.value}`" for member in leaf.kind)
    elif leaf.kind is dt.date:
        text = "value_as_string, YYYY-MM-DD"
    else:
        text = "value_as_string"
    return text + ("; one row per value" if leaf.many else "")


def _unit_text(ucum: str | None) -> str:
    return f"`{ucum}`" if ucum else ""


def _md_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    return "\n".join([line(header), line(["---"] * len(header)), *(line(row) for row in rows)])


def _part_rows(part: ObservationPart, table: CodeTable) -> Iterator[list[str]]:
    """The lines of one Observation part: its own code (or its ids), then each field path a
    row of its own gives (a region's fields once, as ``<region>``)."""
    yield _own_row(part, table)
    seen: set[str] = set()
    for path, leaf, coding in _field_codings(part):
        pattern = _pattern(part.entry_model(), path)
        if pattern in seen:
            continue
        seen.add(pattern)
        concept = omop_code(coding, table)
        if pattern != ".".join(path):
            concept = f"alscare {part.prefix}{pattern}"
        concept = f"`{concept}`"
        series = "[]" if part.shape == "series" else ""
        unit = _unit_text(part.units.get(".".join(path)))
        yield [concept, f"`{part.field}{series}.{pattern}`", _value_text(leaf), unit]


def _own_row(part: ObservationPart, table: CodeTable) -> list[str]:
    if part.id is not None:
        unit = "the row's, kept as reported (below)" if part.unit else ""
        return [*_id_cells(part, table), _own_value_text(part), unit]
    concept = f"`{omop_code(part.code, table)}`"
    if part.shape == "fields":
        name = part.value or part.field
        dated = f"; `{part.date}`: the row's date" if part.date else ""
        unit = _unit_text(part.units.get(name))
        return [concept, f"`{name}`{dated}", _own_value_text(part), unit]
    record = f"`{part.field}[]`, the entry of the row's date"
    if part.shape == "object":
        record = f"`{part.field}`; `{part.date}`: the row's date (every row of it gives it)"
    value = _own_value_text(part) or "none"
    if part.total is not None:
        value = (
            f"value_as_number: the total of `{part.total}`, only checked: an entry whose items "
            "are not all rated or do not add up to it is left out"
        )
    return [concept, record, value, _unit_text(part.units.get(part.value or ""))]


def _id_cells(part: ObservationPart, table: CodeTable) -> list[str]:
    alscare = table.systems["alscare"]
    ids = [c.code.removeprefix(part.prefix) for c in _id_codings(part) if c.system == alscare]
    standard = [f"`{omop_code(coding, table)}` (`{v}`)" for v, coding in part.ids.items()]
    concepts = ([f"`alscare {part.prefix}<id>`"] if ids else []) + standard
    record = f"`{part.field}[]`, one entry per row; `{part.id}` by the concept"
    if ids:
        record += ", `<id>` one of " + ", ".join(f"`{value}`" for value in ids)
    return ["; ".join(concepts), record]


def _own_value_text(part: ObservationPart) -> str:
    texts = []
    for numeric in (True, False):
        try:
            name = value_field(part, numeric=numeric)
        except Unreadable:
            continue
        leaf = leaf_at(part.entry_model(), (name,))
        assert leaf is not None  # value_field names fields that hold a value
        texts.append(f"`{name}`: {_value_text(leaf)}")
    if part.range is not None and texts:
        low, high = part.range
        texts.append(f"range_low, range_high: `{low}`, `{high}`")
    return "; ".join(texts)


# --- the sections ----------------------------------------------------------------------------


_DOC_HEADER_TEXT: Final = """\
# OMOP CDM 5.4 input

`alscare cohort run` reads an OMOP CDM 5.4 database as patient records v2, one per person, in
person_id order (`src/alscare/cohort/omop.py`). The mapping reads the FHIR code table,
`src/alscare/interop/fhir/codes.yaml`, and nothing else: a code the FHIR import maps, the OMOP
input maps the same way. This page is generated from that table by `scripts/omop-doc`
(`src/alscare/cohort/omop_doc.py`): after a change to the table or the mapping, run the script.
A test keeps the page current:

```sh
.venv/bin/python scripts/omop-doc          # rewrite docs/omop.md
.venv/bin/python scripts/omop-doc --check  # exit 1 when docs/omop.md is out of date
```

## Sources

{sources}

The person and concept tables are required; a clinical table the CDM does not have is read as
having no rows. Each table is queried once, ordered by person_id, and the queries are merged
person by person: memory holds one person's rows, so a database of a million persons is never
loaded whole. Rows of a person_id that no person row has come as an item without a record,
which says how many rows of which tables were not read.
"""


def _doc_reading(table: CodeTable) -> str:
    vocabularies = _md_table(
        ["vocabulary_id", "Code system of codes.yaml"],
        (
            [vocabulary, f"`{name}` {table.systems[name]}"]
            for vocabulary, name in VOCABULARIES.items()
        ),
    )
    return f"""\
## How a row is read

- **Concept.** A row is read by its `*_concept_id`, else (when that is 0 or not mapped) by its
  `*_source_concept_id`. The `concept` table gives each its `vocabulary_id` and
  `concept_code`, which name a code of the code table:

{_indented(vocabularies)}

  Nothing is mapped by a concept_id itself but the person's gender (OMOP's Gender concepts).
- **Date.** The `*_date` column.
- **Value.** `value_as_number` holds numbers, and yes or no as 1 or 0; `value_as_string`
  (observation only: measurement has none) holds text and vocabulary ids. A measurement with an
  `operator_concept_id` other than 0 (less than, more than) is not an exact value: not read.
- **Unit.** `unit_concept_id` is a UCUM concept, converted to the record's unit as the FHIR
  import converts it (Units, below). A number whose field has a unit needs one; a field without
  a unit (a score, a count) takes none.
- **Entries.** The rows of one part of the record on one date make one entry: the items of an
  ALSFRS-R rating, the breathing tests of a day. A row of a part read by id (a finding, a test,
  a laboratory value) is an entry of its own. A second, different value of one field on one
  date (of a top-level field such as `height_cm`, on any date) is reported and the first kept.
- **Not mapped.** A row whose concept the table does not map, or whose value, unit or date
  cannot be read, is reported in the person's problems, never dropped in silence and never
  guessed; the rows of one concept with one reason are reported together, e.g.
  `measurement 12, 13 (LOINC 8480-6 Systolic blood pressure): not a concept alscare maps`.
  An entry the record refuses (a rating that does not say whether item 5 was rated as 5a or
  5b, a value dated after the death) is left out and reported with its rows. A person without
  an ALS diagnosis or a symptom onset still gives a record, and its problems say so.
- **Identity.** No identifying column is read (person_source_value, locations, providers): the
  records of a cohort carry no identity.
"""


def _indented(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())


def _doc_local(table: CodeTable) -> str:
    long = [code for code in alscare_concept_codes(table) if len(code) > CONCEPT_CODE_LENGTH]
    listed = ", ".join(f"`{code}`" for code in long) or "none"
    return f"""\
## alscare's local concepts

alscare's own codes (the record's field paths, as the FHIR export codes them:
docs/fhir-codes.md) are local concepts of the CDM: vocabulary_id `{ALSCARE_VOCABULARY}`, a
concept_id from {LOCAL_CONCEPTS_FROM} up (OMOP keeps those for a site's own concepts),
concept_code the alscare code, any concept_name, domain and class. Declare the vocabulary once
and each concept the CDM uses:

```sql
INSERT INTO vocabulary (vocabulary_id, vocabulary_name, vocabulary_reference,
                        vocabulary_version, vocabulary_concept_id)
VALUES ('{ALSCARE_VOCABULARY}', 'alscare patient record', '{CODE_SYSTEM}', '2026.1', 0);
INSERT INTO concept (concept_id, concept_name, domain_id, vocabulary_id, concept_class_id,
                     standard_concept, concept_code, valid_start_date, valid_end_date)
VALUES ({LOCAL_CONCEPTS_FROM + 1}, 'ALSFRS-R speech', 'Measurement', '{ALSCARE_VOCABULARY}',
        'Clinical Observation', NULL, 'alsfrs_r.items.speech', '2024-01-01', '2099-12-31');
```

A row may carry a local concept as its `*_concept_id`, or, as OMOP's conventions have it for a
concept that is not standard, as its `*_source_concept_id` with `*_concept_id` 0. Every code
is listed at the end of this page.

The 5.4 DDL makes `concept_code` varchar({CONCEPT_CODE_LENGTH}), and these codes are longer:
{listed}. DuckDB, CSV and Parquet hold them as they are; in PostgreSQL, widen the column
(`ALTER TABLE concept ALTER COLUMN concept_code TYPE varchar(60)`) to declare them.
"""


_SOURCES: Final = (
    (
        "`cdm.duckdb`, `cdm.db`",
        "a DuckDB file, opened read-only; the `schema` argument names the CDM's schema (by "
        "default the database's own)",
    ),
    (
        "a directory",
        "one table per file, `person.parquet`, `person.csv` or `person.csv.gz`, or a folder "
        "`person/` of Parquet (or CSV) files, read by DuckDB in this process. A CSV is read as "
        "text and each column cast to its CDM type: a malformed value is read as null (a row "
        "without its date is then reported)",
    ),
    (
        "`postgresql://user@host/db`",
        "PostgreSQL through SQLAlchemy 2 and psycopg 3; the schema from the URL "
        "(`?options=-csearch_path%3Dcdm`) or the `schema` argument",
    ),
)
_DOC_HEADER: Final = _DOC_HEADER_TEXT.format(sources=_md_table(["Input", "Read as"], _SOURCES))
_PERSON_COLUMNS: Final = (
    ("person_id", "`id`"),
    (
        "gender_concept_id",
        "`sex`: "
        + ", ".join(f"{concept} `{sex}`" for concept, sex in GENDERS.items())
        + "; any other is reported, and no sex recorded",
    ),
    ("year_of_birth, month_of_birth, day_of_birth", "`birth_date`, when all three are given"),
    (
        "birth_datetime",
        "`birth_date` otherwise (its date); a year of birth alone gives no birth date, and is "
        "reported",
    ),
)
_DOC_PERSON: Final = f"""\
## person

{_md_table(["Column", "Record"], _PERSON_COLUMNS)}

## death

`death.date` is death_date; a second, different date is reported and the first kept.
"""


def _doc_conditions(table: CodeTable) -> str:
    als = table.conditions["als"]
    codes = ", ".join(omop_code(coding, table) for coding in als.codes)
    return f"""\
## condition_occurrence

`diagnosis_date` is the earliest condition_start_date of a row coded {als.display}: {codes}.
Any other condition is reported as not mapped: the record holds the ALS diagnosis (the
patient's FTD is a field of `cognition`, a relative's a family history). The condition's status
and end are not read.
"""


def _doc_observations(table: CodeTable) -> str:
    rows = [row for part in table.observations for row in _part_rows(part, table)]
    notes = "\n".join(f"- `{part.field}`: {part.note}" for part in table.observations if part.note)
    held = _md_table(
        ["Concept", "What is reported"],
        ([f"`{omop_code(entry.code, table)}`", entry.reason] for entry in table.not_recorded),
    )
    return f"""\
## measurement and observation

The two tables are read alike: a row is one value of a field of the record, named by its
concept; text needs observation's `value_as_string`. An alscare code that names a field path
of an entry (`alscare alsfrs_r.items.speech`) is read as that field, as in the FHIR import.
`[]` marks a series, one entry per date (per row for a part read by id).

{_md_table(["Concept", "Record", "Value", "Unit (UCUM)"], rows)}

Notes of the code table:

{notes}

Codes the record does not hold:

{held}
"""


def _event_rows(
    table: CodeTable,
    intervention: Callable[[str], list[str]],
    care: Callable[[str], list[str]],
) -> list[list[str]]:
    """A line per intervention, then per care event, of the table: its concept, then the cells
    of its kind."""
    rows = [
        [f"`{omop_code(coding, table)}`", *intervention(kind.value)]
        for kind, coding in table.interventions.items()
    ]
    rows.extend(
        [f"`{omop_code(coding, table)}`", *care(kind.value)] for kind, coding in table.care.items()
    )
    return rows


def _doc_events(table: CodeTable) -> str:
    events = ", ".join(f"`{event.value}`" for event in InterventionEvent)
    value = (
        f"value_as_string: the event ({events}); value_as_number: hours a day, of a started event"
    )
    rows = _event_rows(
        table,
        lambda kind: [f"`interventions[]`: `{kind}`, the event on the row's date", value],
        lambda kind: [f"`care[]`: `{kind}` on the row's date", "none"],
    )
    rows.append(_family_history_row(table))
    return f"""\
## observation: intervention and care events, family history

{_md_table(["Concept", "Record", "Value"], rows)}
"""


def _family_history_row(table: CodeTable) -> list[str]:
    conditions = "; ".join(
        f"`{name}`: " + ", ".join(omop_code(c, table) for c in codes.codes)
        for name, codes in table.conditions.items()
    )
    return [
        f"`{ALSCARE_VOCABULARY} {FAMILY_HISTORY_CODE}`",
        "`family_history.<condition>`",
        f"value_as_concept_id: the condition ({conditions}); value_as_number 0: looked for "
        "and absent, 1 or none: present (present wins over absent)",
    ]


def _doc_drugs(table: CodeTable) -> str:
    rows = [
        [
            f"`{drug}`",
            "; ".join(f"{omop_code(c, table)} {c.display}" for c in codes.codes)
            + ("; " if codes.codes else "")
            + f"a concept named `{drug}` (any case)",
            codes.note or "",
        ]
        for drug, codes in table.medications.items()
    ]
    reasons = ", ".join(f"`{reason.value}`" for reason in StopReason)
    return f"""\
## drug_exposure

{_md_table(["Drug", "Concepts", "Note of the code table"], rows)}

A row of an ALS drug is a medication: `since` is drug_exposure_start_date, `until` the day
after drug_exposure_end_date (the CDM's end is the last day taken, the record's until the
first day without), `stop_reason` the row's stop_reason when it is one of {reasons}
(another is reported, and the medication kept without it). Exposures of one drug that overlap
or follow on without a day between are joined into one medication, the days taken the same; a
gap, or a stop reason, keeps them apart. Any other drug is reported as not mapped.
"""


def _doc_procedures(table: CodeTable) -> str:
    rows = _event_rows(
        table,
        lambda kind: [f"`interventions[]`: `{kind}` started on procedure_date"],
        lambda kind: [f"`care[]`: `{kind}` on procedure_date"],
    )
    return f"""\
## procedure_occurrence

{_md_table(["Concept", "Record"], rows)}

The other events of an intervention (offered, declined, stopped, hours a day) are observations
(above); a procedure_end_date after the procedure's date is reported, not read. A person
without a row of an intervention has no intervention list (not recorded), never an empty one.
{table.interventions_note} Any other procedure is reported as not mapped.
"""


def _doc_units(table: CodeTable) -> str:
    converted = ", ".join(f"`{ucum}`" for ucum in table.units)
    kept = ", ".join(f"`{ucum}` (`{unit}`)" for unit, ucum in table.record_units.items())
    return f"""\
## Units

A unit is the concept_code of a UCUM concept. A number converts to its field's unit through
pint, as the FHIR import converts it, from any of {converted}; any other unit, or one of
another dimension, is reported. A test's or laboratory value keeps the unit it was reported
in, one the record holds: {kept}.
"""


_DOC_LAKE: Final = """\
## A lake: a directory of Parquet tables

```text
registry-cdm/
  person.parquet
  concept.parquet              the concepts the tables use, with the alscare local concepts
  condition_occurrence.parquet
  measurement/                 a table may be a folder of Parquet files
    part-00000.parquet
    part-00001.parquet
  observation.parquet
  drug_exposure.parquet
  procedure_occurrence.parquet
  death.parquet
```

```sh
alscare cohort run registry-cdm --as-of 2026-01-01 -o out/
```

Other CDM tables (visit_occurrence, drug_era, ...) may be there too; they are not read. Column
names are matched in any case.
"""


def _doc_codes(table: CodeTable) -> str:
    codes = alscare_concept_codes(table)
    lines = "\n".join(f"- `{code}`" for code in codes)
    return f"""\
## Every alscare concept code

<details><summary>The {len(codes)} concept_codes of the vocabulary alscare</summary>

{lines}

</details>
"""
