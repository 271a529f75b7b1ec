"""docs/fhir-codes.md: the code table as a document, written from codes.yaml alone
(``scripts/fhir-codes-doc``; a test keeps the file current)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from alscare.interop.fhir.codes import CodeTable, Coding, ObservationPart
from alscare.interop.fhir.names import CODE_SYSTEM, EXTENSION

__all__ = ["codes_reference"]

_HEADER = """\
# FHIR codes of the patient record

Generated from `src/alscare/interop/fhir/codes.yaml` by `scripts/fhir-codes-doc`: edit the
table, then run the script. Import (`record_in.py`) and export (`record_out.py`) read the same
table. A standard code is listed only where it was checked against a published source; where it
could not be, the part is coded under alscare's code system (`{system}`) and the note says so.

An alscare-coded part's components are coded by the record's field path: the component holding
`respiratory[].snip_cmh2o` is `alscare|respiratory.snip_cmh2o`, the one holding
`alsfrs_r[].items.speech` is `alscare|alsfrs_r.items.speech`, a region of an examination
`alscare|examinations.regions.bulbar.weakness`. A null is a component with the data-absent
reason *not performed* (not examined, not rated); an empty object (a region examined with
nothing found) is a component without a value. An id part's Observation is coded by the entry's
vocabulary id (`alscare|findings.foot_drop`) unless a standard code is listed. alscare's
extensions are `{extension}/<name>`.
"""


def codes_reference(table: CodeTable) -> str:
    """The whole document."""
    names = {uri: name for name, uri in table.systems.items()}
    sections = [
        _HEADER.format(system=CODE_SYSTEM, extension=EXTENSION),
        _section("Code systems", ["Name", "System"], _systems(table)),
        _section(
            "Observations",
            ["Record part", "Observation code", "Value", "Standard codes of fields", "Units"],
            (_observation_row(part, names) for part in table.observations),
        ),
        _notes(table.observations),
        _section(
            "Not held by the record",
            ["Code", "What the import reports"],
            ([_coding(entry.code, names), entry.reason] for entry in table.not_recorded),
        ),
        _section(
            "Conditions",
            ["Condition", "Codes", "Note"],
            (
                [name, "; ".join(_coding(c, names) for c in codes.codes), codes.note or ""]
                for name, codes in table.conditions.items()
            ),
        ),
        _section(
            "Medications (matched by code, or by name in any case)",
            ["Drug", "Codes", "Note"],
            (
                [drug, "; ".join(_coding(c, names) for c in codes.codes), codes.note or ""]
                for drug, codes in table.medications.items()
            ),
        ),
        _section(
            "Interventions (Procedure; DeviceUseStatement read)",
            ["Kind", "Code"],
            ([kind.value, _coding(coding, names)] for kind, coding in table.interventions.items()),
        ),
        f"{table.interventions_note} A declined event carries the status reason "
        f"{_coding(table.declined_reason, names)}.\n",
        _section(
            "Intervention events",
            ["Event", "Procedure.status", "DeviceUseStatement.status"],
            (
                [event.value, status, table.device_status.get(event, "")]
                for event, status in table.intervention_status.items()
            ),
        ),
        _section(
            "Care events (Procedure)",
            ["Kind", "Code"],
            ([kind.value, _coding(coding, names)] for kind, coding in table.care.items()),
        ),
        _section(
            "UCUM units the import converts (through pint)",
            ["UCUM", "pint"],
            ([f"`{ucum}`", f"`{expression}`"] for ucum, expression in table.units.items()),
        ),
        _section(
            "Units of tests and laboratory values (kept as reported)",
            ["Record unit", "UCUM"],
            ([f"`{unit}`", f"`{ucum}`"] for unit, ucum in table.record_units.items()),
        ),
    ]
    return "\n".join(sections)


def _systems(table: CodeTable) -> Iterator[list[str]]:
    for name, uri in table.systems.items():
        yield [name, uri]


def _observation_row(part: ObservationPart, names: dict[str, str]) -> list[str]:
    field = f"`{part.field}[]`" if part.shape == "series" else f"`{part.field}`"
    code = _coding(part.code, names)
    if part.id:
        code += f"; by `{part.id}`" + "".join(
            f"; `{value}`: {_coding(c, names)}" for value, c in part.ids.items()
        )
    standard = "; ".join(f"`{path}`: {_coding(c, names)}" for path, c in part.codes.items())
    units = ", ".join(f"`{path}` {unit}" for path, unit in part.units.items())
    if part.unit:
        units = f"the entry's `{part.unit}`"
    return [field, code, f"`{part.value}`" if part.value else "", standard, units]


def _notes(parts: Iterable[ObservationPart]) -> str:
    lines = [f"- `{part.field}`: {part.note}" for part in parts if part.note]
    return "Notes:\n\n" + "\n".join(lines) + "\n"


def _coding(coding: Coding, names: dict[str, str]) -> str:
    written = " (read only)" if coding.import_only else ""
    return f"{names[coding.system]}|{coding.code} {coding.display}{written}"


def _section(title: str, header: list[str], rows: Iterable[list[str]]) -> str:
    lines = [f"## {title}", "", _row(header), _row(["---"] * len(header))]
    lines.extend(_row([cell.replace("|", "\\|") for cell in row]) for row in rows)
    return "\n".join(lines) + "\n"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"
