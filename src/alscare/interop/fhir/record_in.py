"""FHIR resources to a patient record v2, as codes.yaml says (docs/fhir-codes.md).

Every resource is validated as FHIR (R4B models, which read R4 4.0.1 too); a fault refuses the
whole input with the resource and the path named, and nothing is stored. What validates but
cannot become part of the record is reported, one :class:`Unmapped` per resource (or part of
one), never dropped in silence; resources tagged as alscare's own assessment are skipped. The
record the resources map to is then validated as a record v2: one that record v2 refuses raises
RecordError, each problem naming the resource it came from. Nothing missing is defaulted to a
clinical value. :func:`record_from_resources` and :func:`import_records` are pure.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, get_origin

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from alscare.errors import Problem, RecordError
from alscare.interop.fhir.codes import Key, ObservationPart, code_table
from alscare.interop.fhir.elements import (
    UCUM,
    Unreadable,
    codings,
    day,
    extension,
    extension_value,
    flag_name,
    read_string,
)
from alscare.interop.fhir.names import ASSESSMENT_TAG, RECORD_ID_SYSTEM
from alscare.interop.fhir.record_out import PATIENT_ELEMENT, RECORDED_PARTS
from alscare.interop.fhir.units import UnitProblem, to_record_unit
from alscare.schemas.common import json_pointer
from alscare.schemas.patient import PATIENT_SCHEMA, PatientRecord
from alscare.schemas.records import parse_record
from alscare.schemas.vocabulary import InterventionEvent

__all__ = [
    "ImportResult",
    "Unmapped",
    "ValidResources",
    "import_records",
    "read_source",
    "record_from_resources",
    "resources_from_bundle",
]

JSON = dict[str, Any]
_BUNDLE_TYPES: Final = frozenset({"collection", "searchset", "transaction"})
_PATIENT_REF: Final = re.compile(r"(?:^|/)Patient/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?")
_FINAL: Final = frozenset({"final", "amended", "corrected"})


@dataclass(frozen=True, slots=True)
class Unmapped:
    """A resource, or a part of one, that did not become part of the record, and why."""

    resource_type: str
    resource_id: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class ImportResult:
    record: PatientRecord
    unmapped: tuple[Unmapped, ...]


# --- reading and validating ------------------------------------------------------------------


class ValidResources(tuple[JSON, ...]):
    """Resources already checked against the FHIR models, as the readers here return them:
    the importers do not check them a second time (checking is most of an import's work)."""

    __slots__ = ()


def resources_from_bundle(bundle: Mapping[str, Any]) -> ValidResources:
    """The resources of a collection, searchset or transaction Bundle, validated as FHIR.

    Raises RecordError naming the resource and the path of each fault. A reference to an
    entry's ``fullUrl`` (``urn:uuid:...``) becomes ``Type/id``, so resources stand alone.
    """
    # the bundle comes from parsed JSON, which may be any JSON value
    if not isinstance(bundle, Mapping) or bundle.get("resourceType") != "Bundle":
        raise RecordError([Problem("/resourceType", "a FHIR Bundle is expected")])
    if bundle.get("type") not in _BUNDLE_TYPES:
        reason = (
            f"Bundle type {bundle.get('type')!r} is not one of {', '.join(sorted(_BUNDLE_TYPES))}"
        )
        raise RecordError([Problem("/type", reason)])
    entries = bundle.get("entry") or []
    problems = [
        problem
        for i, entry in enumerate(entries)
        for problem in _invalid((entry or {}).get("resource"), f"/entry/{i}/resource")
    ]
    if problems:
        raise RecordError(problems)
    return ValidResources(_standalone(entries))


def read_source(path: Path) -> ValidResources:
    """The resources of a Bundle JSON file or of a directory of Bulk Data NDJSON files (one
    resource a line), validated as FHIR."""
    if path.is_dir():
        return _read_ndjson(sorted(path.glob("*.ndjson")))
    return resources_from_bundle(_json(path.read_text(encoding="utf-8"), path.name))


def _read_ndjson(files: Iterable[Path]) -> ValidResources:
    resources: list[tuple[str, JSON]] = []
    for file in files:
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                resources.append((f"/{file.name}/{number}", _json(line, f"{file.name}:{number}")))
    problems = [problem for where, resource in resources for problem in _invalid(resource, where)]
    if problems:
        raise RecordError(problems)
    return ValidResources(resource for _, resource in resources)


def _json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise RecordError([Problem("", f"{where} is not JSON: {error}")]) from None


def _invalid(resource: Any, where: str) -> list[Problem]:
    """The faults of one resource against the FHIR models, each pointer under ``where``."""
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        return [Problem(where, "not a FHIR resource (no resourceType)")]
    kind = resource["resourceType"]
    try:
        model = get_fhir_model_class(kind)
    except ValueError:
        return [Problem(f"{where}/resourceType", f"{kind!r} is not a FHIR resource type")]
    try:
        model.model_validate(resource)
    except ValidationError as error:
        name = _name(resource)
        return [
            Problem(where + json_pointer(tuple(detail["loc"])), f"{name}: {detail['msg']}")
            for detail in error.errors(include_url=False)
        ]
    return []


def _name(resource: Mapping[str, Any]) -> str:
    return f"{resource.get('resourceType')}/{resource.get('id') or '(no id)'}"


def _standalone(entries: Sequence[Mapping[str, Any]]) -> list[JSON]:
    """The entries' resources, an entry's ``urn:uuid`` fullUrl turned into its ``Type/id``."""
    names: dict[str, str] = {}
    resources: list[JSON] = []
    for entry in entries:
        resource = dict(entry["resource"])
        full_url = str(entry.get("fullUrl") or "")
        if full_url.startswith("urn:uuid:"):
            resource.setdefault("id", full_url.removeprefix("urn:uuid:"))
            names[full_url] = f"{resource['resourceType']}/{resource['id']}"
        resources.append(resource)
    return [_renamed(resource, names) for resource in resources] if names else resources


def _renamed(value: Any, names: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        return {
            key: names.get(inner, inner) if key == "reference" else _renamed(inner, names)
            for key, inner in value.items()
        }
    if isinstance(value, list):
        return [_renamed(item, names) for item in value]
    return value


# --- patients --------------------------------------------------------------------------------


def record_from_resources(
    resources: Sequence[Mapping[str, Any]], *, record_id: str | None = None
) -> ImportResult:
    """The record v2 the resources of one patient hold, and what could not be mapped.

    Raises RecordError when the resources are not valid FHIR, hold no single Patient, refer to
    another patient, or map to a record that record v2 refuses.
    """
    checked = _validated(resources)
    patients = [r for r in checked if r["resourceType"] == "Patient"]
    if len(patients) != 1:
        found = f"{len(patients)} Patient resources" if patients else "no Patient resource"
        raise RecordError([Problem("", f"one Patient is expected; the resources hold {found}")])
    return _import(patients[0], _attached(checked, patients), record_id)


def import_records(resources: Sequence[Mapping[str, Any]]) -> tuple[ImportResult, ...]:
    """One result per Patient (Bulk Data holds many); each resource goes to the patient its
    subject (or patient) refers to, and resources about no patient go to every one."""
    checked = _validated(resources)
    patients = [r for r in checked if r["resourceType"] == "Patient"]
    if not patients:
        raise RecordError([Problem("", "the resources hold no Patient")])
    attached = _attached(checked, patients)
    return tuple(_import(patient, attached, None) for patient in patients)


def _validated(resources: Sequence[Mapping[str, Any]]) -> list[JSON]:
    if isinstance(resources, ValidResources):
        return [dict(resource) for resource in resources]
    problems = [p for i, r in enumerate(resources) for p in _invalid(r, f"/{i}")]
    if problems:
        raise RecordError(problems)
    return [dict(resource) for resource in resources]


def _attached(resources: list[JSON], patients: list[JSON]) -> dict[str | None, list[JSON]]:
    """The resources by the id of the patient they are about (None: about no patient)."""
    ids = {patient.get("id") for patient in patients}
    attached: dict[str | None, list[JSON]] = {}
    problems: list[Problem] = []
    for i, resource in enumerate(resources):
        if resource["resourceType"] == "Patient":
            continue
        patient = _patient_of(resource)
        if patient is not None and patient not in ids:
            reason = f"{_name(resource)} refers to patient {patient}, which is not among them"
            problems.append(Problem(f"/{i}", reason))
        attached.setdefault(patient, []).append(resource)
    if problems:
        raise RecordError(problems)
    return attached


def _patient_of(resource: Mapping[str, Any]) -> str | None:
    key = "patient" if resource["resourceType"] in PATIENT_ELEMENT else "subject"
    reference = str((resource.get(key) or {}).get("reference") or "")
    match = _PATIENT_REF.search(reference)
    if reference and match is None:
        return reference
    return match.group(1) if match else None


# --- one patient -----------------------------------------------------------------------------


@dataclass
class _Import:
    """The record being built from one patient's resources, and what did not map."""

    data: JSON
    by_reference: dict[str, JSON]
    unmapped: list[Unmapped] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    condition_onset: tuple[str, JSON] | None = None

    def skip(self, resource: Mapping[str, Any], reason: str) -> None:
        self.unmapped.append(Unmapped(str(resource["resourceType"]), resource.get("id"), reason))

    def add(self, series: str, entry: Any, resource: Mapping[str, Any]) -> None:
        entries = self.data.get(series)
        if entries is None:
            entries = self.data[series] = []
        self.sources[f"/{series}/{len(entries)}"] = _name(resource)
        entries.append(entry)

    def put(self, name: str, value: Any, resource: Mapping[str, Any]) -> None:
        if name in self.data:
            raise Unreadable(f"the record holds one {name}, which an earlier resource gave")
        self.sources[f"/{name}"] = _name(resource)
        self.data[name] = value


def _import(
    patient: JSON, attached: dict[str | None, list[JSON]], record_id: str | None
) -> ImportResult:
    mine, shared = attached.get(patient.get("id"), []), attached.get(None, [])
    state = _Import(
        data={"schema": PATIENT_SCHEMA, "id": _record_id(patient, record_id)},
        by_reference={_name(r): r for r in shared},
    )
    _read_patient(patient, state)
    for resource in mine:
        _read(resource, state)
    for resource in shared:
        if _name(resource) not in state.used:
            state.skip(resource, "about no patient, and no resource of the patient refers to it")
    _merge_condition_onset(state)
    return ImportResult(_record(state), _one_per_resource(state.unmapped))


def _one_per_resource(unmapped: Sequence[Unmapped]) -> tuple[Unmapped, ...]:
    """One report per resource, its parts' reasons joined, in the order they were met (a
    resource without an id cannot be told from another: each of its reports stays apart)."""
    reasons: dict[object, tuple[Unmapped, list[str]]] = {}
    for item in unmapped:
        key = (item.resource_type, item.resource_id) if item.resource_id else object()
        reasons.setdefault(key, (item, []))[1].append(item.reason)
    return tuple(
        Unmapped(first.resource_type, first.resource_id, "; ".join(dict.fromkeys(why)))
        for first, why in reasons.values()
    )


def _read(resource: JSON, state: _Import) -> None:
    if _is_assessment(resource):
        state.skip(
            resource, "an alscare assessment: conclusions drawn from a record, not part of it"
        )
        return
    reader = _READERS.get(resource["resourceType"])
    if reader is None:
        state.skip(resource, f"a {resource['resourceType']} is not part of the patient record")
        return
    try:
        reader(resource, state)
    except Unreadable as reason:
        state.skip(resource, str(reason))


def _is_assessment(resource: Mapping[str, Any]) -> bool:
    tags = (resource.get("meta") or {}).get("tag") or ()
    wanted = (ASSESSMENT_TAG["system"], ASSESSMENT_TAG["code"])
    return any((tag.get("system"), tag.get("code")) == wanted for tag in tags)


def _record_id(patient: Mapping[str, Any], record_id: str | None) -> str:
    if record_id is not None:
        return record_id
    for identifier in patient.get("identifier") or ():
        if identifier.get("system") == RECORD_ID_SYSTEM and identifier.get("value"):
            return str(identifier["value"])
    if patient.get("id"):
        return str(patient["id"])
    raise RecordError([Problem("", "the Patient has no id: give the record id to import it")])


def _record(state: _Import) -> PatientRecord:
    try:
        return parse_record(state.data)
    except RecordError as error:
        raise RecordError(_sourced(problem, state.sources) for problem in error.problems) from None


def _sourced(problem: Problem, sources: Mapping[str, str]) -> Problem:
    """The problem, naming the resource its part of the record came from."""
    prefixes = [p for p in sources if problem.pointer == p or problem.pointer.startswith(p + "/")]
    if not prefixes:
        return problem
    source = sources[max(prefixes, key=len)]
    return Problem(problem.pointer, f"{problem.reason} (from {source})")


# --- Patient ---------------------------------------------------------------------------------


def _read_patient(patient: JSON, state: _Import) -> None:
    data = state.data
    for part in RECORDED_PARTS:
        if part in extension_value(patient, "recorded", "valueCode"):
            data[part] = {} if part == "identity" else []
    for jurisdiction in extension_value(patient, "jurisdiction", "valueCode"):
        data["jurisdiction"] = jurisdiction
    identity = _identity(patient, state)
    if identity:
        data["identity"] = {**data.get("identity", {}), **identity}
    if "gender" in patient:
        data["sex"] = patient["gender"]
    birth = _patient_day(patient, "birthDate", state)
    if birth is not None:
        data["birth_date"] = birth
    death = _patient_day(patient, "deceasedDateTime", state)
    if death is not None:
        data["death"] = {"date": death}
    elif patient.get("deceasedBoolean"):
        state.skip(patient, "deceased without a date: the record holds the date of death")
    state.sources[""] = _name(patient)


def _patient_day(patient: JSON, key: str, state: _Import) -> str | None:
    """A date of the Patient; one that is not a full date is reported, the rest still read."""
    if key not in patient:
        return None
    try:
        return day(patient[key], key)
    except Unreadable as reason:
        state.skip(patient, str(reason))
        return None


def _identity(patient: JSON, state: _Import) -> JSON:
    identity: JSON = {}
    names = patient.get("name") or ()
    if names:
        text = read_string(names[0], "text") or " ".join(
            [*names[0].get("given", ()), *([names[0]["family"]] if "family" in names[0] else ())]
        )
        if text:
            identity["name"] = text
    identifiers = [
        found
        for identifier in patient.get("identifier") or ()
        if identifier.get("system") != RECORD_ID_SYSTEM
        for found in _identifier(identifier, patient, state)
    ]
    if identifiers:
        identity["identifiers"] = identifiers
    return identity


def _identifier(identifier: JSON, patient: JSON, state: _Import) -> list[JSON]:
    kind = identifier.get("type") or {}
    types = [code for _, code in codings(kind)]
    system = read_string(kind, "text") or identifier.get("system") or next(iter(types), None)
    value = read_string(identifier, "value")
    if system is None or value is None:
        state.skip(patient, "an identifier without its system or value")
        return []
    return [{"system": system, "value": value}]


# --- Observation -----------------------------------------------------------------------------


def _read_observation(observation: JSON, state: _Import) -> None:
    status = observation.get("status")
    if status not in _FINAL:
        raise Unreadable(f"status {status!r}: not a final result")
    table = code_table()
    for key in codings(observation.get("code")):
        if key in table.not_recorded_by_code:
            raise Unreadable(table.not_recorded_by_code[key])
        if key in table.part_by_code:
            part, id_value = table.part_by_code[key]
            return _add_entry(part, _entry(part, observation, id_value, state), observation, state)
        if key in table.alone_by_code:
            part = table.alone_by_code[key]
            entry = _dated(part, observation)
            _put_component(part, observation, key, entry)
            return _add_entry(part, entry, observation, state)
    raise Unreadable(f"no code alscare maps ({_codes_text(observation.get('code'))})")


def _codes_text(value: Mapping[str, Any] | None) -> str:
    return ", ".join(f"{system}|{code}" for system, code in codings(value)) or "no coding"


def _add_entry(part: ObservationPart, entry: JSON, resource: JSON, state: _Import) -> None:
    if part.shape == "series":
        state.add(part.field, entry, resource)
    elif part.shape == "object":
        state.put(part.field, entry, resource)
    else:
        for name, value in entry.items():
            state.put(name, value, resource)


def _entry(part: ObservationPart, observation: JSON, id_value: str | None, state: _Import) -> JSON:
    entry = _dated(part, observation)
    if part.id is not None and id_value is not None:
        entry = {part.id: id_value, **entry}
    for flag in part.flags:
        if any(extension_value(observation, flag_name(flag), "valueBoolean")):
            entry[flag] = True
    if part.value is not None:
        value = _value(observation, part, part.value, entry)
        if value is not _NO_VALUE:
            entry[part.value] = value
    _read_range(part, observation, entry)
    for component in observation.get("component") or ():
        try:
            key = next(iter(codings(component.get("code"))), ("", ""))
            _put_component(part, component, key, entry)
        except Unreadable as reason:
            state.skip(observation, f"component {key[0]}|{key[1]}: {reason}")
    if part.total is not None:
        _check_total(part, part.total, observation, entry)
    return entry


def _check_total(part: ObservationPart, total: str, observation: JSON, entry: JSON) -> None:
    """A total is derived from the items the record holds: it is read only to be checked."""
    given = observation.get("valueInteger")
    if given is None or part.total_of(entry) == given:
        return
    if total not in entry:
        raise Unreadable("a total without its items: the record holds the item scores")
    raise Unreadable(f"the total {given} is not the sum of its items")


def _dated(part: ObservationPart, observation: JSON) -> JSON:
    if part.date is None:
        return {}
    effective = observation.get("effectiveDateTime") or (
        observation.get("effectivePeriod") or {}
    ).get("start")
    if effective is not None:
        return {part.date: day(effective, "effective date")}
    if _date_required(part):
        raise Unreadable("no effective date: the record dates every such entry")
    return {}


def _read_range(part: ObservationPart, observation: JSON, entry: JSON) -> None:
    if part.range is None:
        return
    bounds = ((observation.get("referenceRange") or [{}])[0]) or {}
    for side, name in zip(("low", "high"), part.range, strict=True):
        if side in bounds:
            entry[name] = _quantity(bounds[side], part, name, entry)


def _put_component(part: ObservationPart, element: JSON, key: Key, entry: JSON) -> None:
    path = _component_path(part, key, element)
    value = _value(element, part, ".".join(path), entry)
    _put(part, entry, path, {} if value is _NO_VALUE else value)


def _component_path(part: ObservationPart, key: Key, element: JSON) -> tuple[str, ...]:
    """The entry field a component's code names; codes shared by fields (PaCO2 in kPa and in
    mm[Hg]) are told apart by the unit."""
    paths = [path for path, coding in part.codes.items() if coding.key == key]
    if len(paths) > 1:
        return (_path_by_unit(part, paths, element),)
    if paths:
        return (paths[0],)
    system, code = key
    if system == code_table().systems["alscare"] and code.startswith(part.prefix):
        return tuple(code.removeprefix(part.prefix).split("."))
    raise Unreadable(f"not a field of {part.field}")


def _path_by_unit(part: ObservationPart, paths: list[str], element: JSON) -> str:
    unit = _ucum(element.get("valueQuantity") or {})
    for path in paths:
        if part.units.get(path) == unit:
            return path
    for path in paths:
        try:
            to_record_unit(0.0, unit or "", part.units[path])
        except UnitProblem:
            continue
        return path
    raise Unreadable(f"unit {unit!r} is not a unit of {' or '.join(paths)}")


_NO_VALUE: Final = object()


def _value(element: JSON, part: ObservationPart, path: str, entry: JSON) -> Any:
    """The JSON value of an element's ``value[x]``; ``_NO_VALUE`` when it has none."""
    if "dataAbsentReason" in element:
        return None
    if "valueBoolean" in element:
        return bool(element["valueBoolean"])
    if "valueInteger" in element:
        return int(element["valueInteger"])
    if "valueQuantity" in element:
        return _quantity(element["valueQuantity"], part, path, entry)
    if "valueString" in element:
        return read_string(element, "valueString")
    given = next((key for key in element if key.startswith("value")), None)
    if given is not None:
        raise Unreadable(f"{given} is not how alscare reads {path}")
    return _NO_VALUE


def _ucum(quantity: Mapping[str, Any]) -> str | None:
    return str(quantity["code"]) if quantity.get("system") == UCUM and "code" in quantity else None


def _quantity(quantity: JSON, part: ObservationPart, path: str, entry: JSON) -> Any:
    value = quantity.get("value")
    if value is None:
        raise Unreadable(f"the {path} quantity has no value")
    unit = _ucum(quantity)
    if unit is None and ("unit" in quantity or "code" in quantity):
        raise Unreadable(f"the unit of {path} is not a UCUM code ({quantity.get('unit')!r})")
    if part.unit is not None:
        return _own_unit(value, unit, part, entry)
    wanted = part.units.get(path)
    if wanted is None:
        raise Unreadable(f"{path} is not a quantity")
    if unit is None:
        raise Unreadable(f"the {path} quantity has no unit")
    try:
        return to_record_unit(value, unit, wanted)
    except UnitProblem as problem:
        raise Unreadable(str(problem)) from None


def _own_unit(value: Any, unit: str | None, part: ObservationPart, entry: JSON) -> Any:
    """A test's or lab's value, kept in its unit, which becomes the entry's unit."""
    assert part.unit is not None  # only parts whose entries name their unit come here
    if unit is None:
        return value
    recorded = code_table().record_unit_by_ucum.get(unit)
    if recorded is None:
        raise Unreadable(f"unit {unit!r} is not a unit alscare records for {part.field}")
    if entry.get(part.unit, recorded) != recorded:
        raise Unreadable("the value and its reference range are in different units")
    entry[part.unit] = recorded
    return value


def _put(part: ObservationPart, entry: JSON, path: tuple[str, ...], value: Any) -> None:
    """Set ``path`` of the entry; a list field gathers one value per component."""
    *parents, leaf = path
    target = entry
    for name in parents:
        target = target.setdefault(name, {})
        if not isinstance(target, dict):
            raise Unreadable(f"{'.'.join(path)} is not a field of {part.field}")
    if len(path) == 1 and leaf in _list_fields(part):
        target.setdefault(leaf, []).append(value)
    elif value == {} and isinstance(target.get(leaf), dict):
        return
    elif leaf in target:
        raise Unreadable(f"{'.'.join(path)} is given twice")
    else:
        target[leaf] = value


def _list_fields(part: ObservationPart) -> frozenset[str]:
    model = part.entry_model()
    return frozenset(
        name for name, info in model.model_fields.items() if get_origin(info.annotation) is tuple
    )


def _date_required(part: ObservationPart) -> bool:
    if part.shape != "series" or part.date is None:
        return False
    return part.entry_model().model_fields[part.date].is_required()


# --- Condition, FamilyMemberHistory ----------------------------------------------------------

_REFUTED: Final = frozenset({"refuted", "entered-in-error"})
_NOT_DIAGNOSED: Final = frozenset({"unconfirmed", "provisional", "differential"})


def _read_condition(condition: JSON, state: _Import) -> None:
    als = {coding.key for coding in code_table().conditions["als"].codes}
    if not als & set(codings(condition.get("code"))):
        codes = _codes_text(condition.get("code"))
        raise Unreadable(
            f"a condition other than ALS ({codes}): the record holds the ALS diagnosis"
        )
    verification = {code for _, code in codings(condition.get("verificationStatus"))}
    if verification & _REFUTED:
        raise Unreadable(f"verification status {', '.join(sorted(verification))}")
    onset = day(condition["onsetDateTime"], "onset") if "onsetDateTime" in condition else None
    diagnosed = "recordedDate" in condition and not verification & _NOT_DIAGNOSED
    diagnosis = day(condition["recordedDate"], "recorded date") if diagnosed else None
    if diagnosis is not None and state.data.get("diagnosis_date", diagnosis) != diagnosis:
        raise Unreadable("a second ALS diagnosis on another date; the first is kept")
    # read whole before anything is kept: a condition is mapped entirely or not at all
    if onset is not None:
        state.condition_onset = (onset, condition)
    if diagnosis is not None:
        state.data["diagnosis_date"] = diagnosis
        state.sources["/diagnosis_date"] = _name(condition)


def _merge_condition_onset(state: _Import) -> None:
    """The Condition's onset is the symptom onset when no onset Observation gives one."""
    if state.condition_onset is None:
        return
    onset, condition = state.condition_onset
    recorded = state.data.get("symptom_onset")
    if recorded is None:
        state.data["symptom_onset"] = {"date": onset}
        state.sources["/symptom_onset"] = _name(condition)
    elif recorded.get("date") != onset:
        state.skip(condition, "its onset differs from the symptom onset Observation, which is kept")


def _read_family_history(history: JSON, state: _Import) -> None:
    if history.get("status") == "entered-in-error":
        raise Unreadable("entered in error")
    family: JSON = state.data.setdefault("family_history", {})
    state.sources["/family_history"] = _name(history)
    for condition in history.get("condition") or ():
        name = _family_condition(condition)
        if name is None:
            state.skip(
                history, f"a condition other than ALS or FTD ({_codes_text(condition.get('code'))})"
            )
        else:
            family[name] = family.get(name) or _present(condition)


def _family_condition(condition: JSON) -> str | None:
    given = set(codings(condition.get("code")))
    for name, codes in code_table().conditions.items():
        if given & {coding.key for coding in codes.codes}:
            return name
    return None


def _present(condition: JSON) -> bool:
    modifiers = condition.get("modifierExtension") or ()
    absent = [m for m in modifiers if m == extension("absent", valueBoolean=True)]
    if len(absent) != len(modifiers):
        raise Unreadable("a condition with a modifier extension alscare does not know")
    return not absent


# --- medications -----------------------------------------------------------------------------

_TAKEN: Final = frozenset({"active", "completed", "stopped", "on-hold"})
_PRESCRIBED: Final = frozenset({"active", "completed"})


def _read_medication_statement(statement: JSON, state: _Import) -> None:
    if statement.get("status") not in _TAKEN:
        raise Unreadable(f"status {statement.get('status')!r}: not a drug taken")
    medication: JSON = {"name": _medication_name(statement, state)}
    period = statement.get("effectivePeriod") or {}
    since = period.get("start") or statement.get("effectiveDateTime")
    if since is not None:
        medication["since"] = day(since, "start")
    until = _until(period)
    if until is not None:
        medication["until"] = until
    elif statement["status"] in {"completed", "stopped"}:
        raise Unreadable("stopped on no date given: the record would show it as current")
    reason = _stop_reason(statement)
    if reason is not None and until is not None:
        medication["stop_reason"] = reason
    state.add("medications", medication, statement)


def _until(period: JSON) -> str | None:
    """The first day without the drug: the day after the period's last day."""
    for until in extension_value(period, "until", "valueDate"):
        return str(until)
    if "end" not in period:
        return None
    last = dt.date.fromisoformat(day(period["end"], "end"))
    return (last + dt.timedelta(days=1)).isoformat()


def _stop_reason(statement: JSON) -> str | None:
    alscare = code_table().systems["alscare"]
    for reason in statement.get("statusReason") or ():
        for system, code in codings(reason):
            if system == alscare and code.startswith("stop_reason."):
                return code.removeprefix("stop_reason.")
    return None


def _read_medication_request(request: JSON, state: _Import) -> None:
    if request.get("status") not in _PRESCRIBED:
        raise Unreadable(f"status {request.get('status')!r}: not a drug being taken")
    medication: JSON = {"name": _medication_name(request, state)}
    validity = (request.get("dispenseRequest") or {}).get("validityPeriod") or {}
    since = request.get("authoredOn") or validity.get("start")
    if since is not None:
        medication["since"] = day(since, "authored date")
    if request["status"] == "completed":
        until = _until(validity)
        if until is None:
            raise Unreadable("completed on no date given: the record would show it as current")
        medication["until"] = until
    state.add("medications", medication, request)


def _medication_name(resource: JSON, state: _Import) -> str:
    concept = resource.get("medicationCodeableConcept")
    if concept is None:
        reference = str((resource.get("medicationReference") or {}).get("reference") or "")
        medication = state.by_reference.get(reference)
        if medication is None:
            raise Unreadable(f"its medication {reference or '(none)'} is not among the resources")
        state.used.add(reference)
        concept = medication.get("code") or {}
    name = read_string(concept, "text") or _drug_by_code(concept)
    if not name:
        raise Unreadable("names no medication (no text, no known code, no display)")
    return name


def _drug_by_code(concept: JSON) -> str | None:
    by_code = code_table().medication_by_code
    for key in codings(concept):
        if key in by_code:
            return by_code[key]
    return next((str(c["display"]) for c in concept.get("coding") or () if c.get("display")), None)


# --- interventions and care ------------------------------------------------------------------


def _read_procedure(procedure: JSON, state: _Import) -> None:
    table = code_table()
    keys = list(codings(procedure.get("code")))
    date = _performed(procedure)
    for key in keys:
        if key in table.care_by_code:
            return _read_care(procedure, table.care_by_code[key], date, state)
        if key in table.intervention_by_code:
            event = _procedure_event(procedure)
            kind = table.intervention_by_code[key]
            return _add_intervention(procedure, kind, event, date, state)
    raise Unreadable(f"a procedure alscare does not record ({_codes_text(procedure.get('code'))})")


def _performed(procedure: JSON) -> str:
    performed = procedure.get("performedDateTime") or (procedure.get("performedPeriod") or {}).get(
        "start"
    )
    if performed is None:
        raise Unreadable("no date performed")
    return day(performed, "date performed")


def _read_care(procedure: JSON, kind: str, date: str, state: _Import) -> None:
    if procedure.get("status") != "completed":
        raise Unreadable(f"status {procedure.get('status')!r}: a care event is one that happened")
    state.add("care", {"kind": kind, "date": date, **_inferred(procedure)}, procedure)


def _inferred(resource: JSON) -> JSON:
    flagged = any(extension_value(resource, flag_name("date_inferred"), "valueBoolean"))
    return {"date_inferred": True} if flagged else {}


def _procedure_event(procedure: JSON) -> InterventionEvent:
    table = code_table()
    status = str(procedure.get("status"))
    events = {status: event for event, status in table.intervention_status.items()}
    event = events.get(status) or table.import_status.get(status)
    if event is None:
        raise Unreadable(f"status {status!r} is not an intervention event")
    declined = table.declined_reason.key in set(codings(procedure.get("statusReason")))
    if event == InterventionEvent.DECLINED and not declined:
        raise Unreadable("not done, for a reason other than the patient declining")
    return event


def _add_intervention(
    resource: JSON, kind: str, event: InterventionEvent, date: str, state: _Import
) -> None:
    entry: JSON = {"kind": kind, "event": event.value, "date": date}
    for hours in extension_value(resource, "hours-per-day", "valueDecimal"):
        entry["hours_per_day"] = hours
    state.add("interventions", {**entry, **_inferred(resource)}, resource)


def _read_device_use(statement: JSON, state: _Import) -> None:
    reference = str((statement.get("device") or {}).get("reference") or "")
    device = state.by_reference.get(reference)
    if device is None:
        raise Unreadable(f"its device {reference or '(none)'} is not among the resources")
    state.used.add(reference)
    by_code = code_table().intervention_by_code
    kind = next((by_code[key] for key in codings(device.get("type")) if key in by_code), None)
    if kind is None:
        raise Unreadable(f"a device alscare does not record ({_codes_text(device.get('type'))})")
    events = {status: event for event, status in code_table().device_status.items()}
    event = events.get(str(statement.get("status")))
    if event is None:
        raise Unreadable(f"status {statement.get('status')!r} is not an intervention event")
    _add_intervention(statement, kind, event, _device_date(statement, event), state)


def _device_date(statement: JSON, event: InterventionEvent) -> str:
    period = statement.get("timingPeriod") or {}
    when = statement.get("timingDateTime") or period.get(
        "end" if event == InterventionEvent.STOPPED else "start"
    )
    if when is None:
        raise Unreadable("no date of use")
    return day(when, "date of use")


_READERS: Final[dict[str, Callable[[JSON, _Import], None]]] = {
    "Observation": _read_observation,
    "Condition": _read_condition,
    "FamilyMemberHistory": _read_family_history,
    "MedicationStatement": _read_medication_statement,
    "MedicationRequest": _read_medication_request,
    "Procedure": _read_procedure,
    "DeviceUseStatement": _read_device_use,
}
