"""A patient record v2 to FHIR R4 resources, as codes.yaml says (docs/fhir-codes.md).

The export reads the record's JSON (``to_json_dict``), the same data the import builds back, so
that a record comes back from its resources byte for byte: numbers are written as they are,
dict entries in their order, a null as a data-absent reason. Resource ids are UUIDs named by
the record id and the entry's place in the record, so the same record always gives the same
resources. Pure: no clock, no I/O beyond the cached code table.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any, Final

from alscare.interop.fhir.codes import ObservationPart, alscare_coding, code_table
from alscare.interop.fhir.elements import (
    concept,
    extension,
    flag_name,
    quantity,
    string_element,
)
from alscare.interop.fhir.names import CANONICAL, RECORD_ID_SYSTEM
from alscare.schemas.patient import PatientRecord

__all__ = ["patient_reference", "record_bundle", "record_bundle_json", "record_resources"]

JSON = dict[str, Any]
_FHIR_ID: Final = re.compile(r"[A-Za-z0-9\-.]{1,64}")
#: The resources that name their patient in ``patient`` (the others in ``subject``).
PATIENT_ELEMENT: Final = frozenset({"FamilyMemberHistory"})
#: The record parts whose presence says something even when they are empty.
RECORDED_PARTS: Final = ("identity", "interventions")


def patient_reference(record: PatientRecord) -> str:
    """``Patient/<id>``: how every other resource refers to the record's Patient."""
    return f"Patient/{_patient_id(record.id)}"


def record_resources(record: PatientRecord) -> list[JSON]:
    """The record as resources, the Patient first, each with a stable id."""
    data = record.to_json_dict()
    subject = {"reference": patient_reference(record)}
    resources: list[tuple[str, JSON]] = [
        *_observations(data),
        *_condition(data),
        *_family_history(data),
        *_medications(data),
        *_interventions(data),
        *_care(data),
    ]
    others = [
        {
            "resourceType": body["resourceType"],
            "id": _resource_id(record.id, key),
            **body,
            _subject_key(body): subject,
        }
        for key, body in resources
    ]
    return [_patient(data), *others]


def record_bundle(record: PatientRecord) -> JSON:
    """The record's resources as a collection Bundle."""
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": resource} for resource in record_resources(record)],
    }


def record_bundle_json(record: PatientRecord) -> str:
    """The collection Bundle as pretty JSON, the same bytes for the same record."""
    return json.dumps(record_bundle(record), indent=2, ensure_ascii=False) + "\n"


def _subject_key(resource: JSON) -> str:
    """The element that names the patient a resource is about."""
    return "patient" if resource["resourceType"] in PATIENT_ELEMENT else "subject"


def _patient_id(record_id: str) -> str:
    # A record id may hold "_", which a FHIR id may not: such a record gets a UUID.
    return record_id if _FHIR_ID.fullmatch(record_id) else _resource_id(record_id, "patient")


def _resource_id(record_id: str, key: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{CANONICAL}/record/{record_id}/{key}"))


# --- Patient ---------------------------------------------------------------------------------


def _patient(data: JSON) -> JSON:
    identity = data.get("identity") or {}
    patient: JSON = {"resourceType": "Patient", "id": _patient_id(data["id"])}
    extensions = [extension("recorded", valueCode=part) for part in RECORDED_PARTS if part in data]
    if "jurisdiction" in data:
        extensions.append(extension("jurisdiction", valueCode=data["jurisdiction"]))
    if extensions:
        patient["extension"] = extensions
    patient["identifier"] = [
        {"system": RECORD_ID_SYSTEM, "value": data["id"]},
        *(_identifier(found) for found in identity.get("identifiers", ())),
    ]
    if "name" in identity:
        patient["name"] = [string_element("text", identity["name"])]
    if "sex" in data:
        patient["gender"] = data["sex"]
    if "birth_date" in data:
        patient["birthDate"] = data["birth_date"]
    if "death" in data:
        patient["deceasedDateTime"] = data["death"]["date"]
    return patient


def _identifier(found: JSON) -> JSON:
    # The record names the issuer (MRN, NHS, ...), not a URI: it is the identifier's type.
    return {
        "type": string_element("text", found["system"]),
        **string_element("value", found["value"]),
    }


# --- Observations ----------------------------------------------------------------------------


def _observations(data: JSON) -> Iterator[tuple[str, JSON]]:
    for part in code_table().observations:
        for key, entry in _entries(part, data):
            yield key, _observation(part, entry)


def _entries(part: ObservationPart, data: JSON) -> Iterator[tuple[str, JSON]]:
    if part.shape == "series":
        for i, entry in enumerate(data.get(part.field, ())):
            yield f"{part.field}/{i}", entry
    elif part.shape == "object":
        if part.field in data:
            yield part.field, data[part.field]
    else:
        entry = {name: data[name] for name in part.fields if name in data}
        if entry:
            yield part.field, entry


def _observation(part: ObservationPart, entry: JSON) -> JSON:
    unit = _entry_unit(part, entry)
    code = part.id_coding(entry[part.id]) if part.id else part.code
    observation: JSON = {"resourceType": "Observation", "status": "final"}
    flags = [extension(flag_name(f), valueBoolean=True) for f in part.flags if entry.get(f)]
    if flags:
        observation["extension"] = flags
    if part.category:
        category = {"system": code_table().systems["category"], "code": part.category}
        observation["category"] = [{"coding": [category]}]
    observation["code"] = concept(code)
    if part.date and part.date in entry:
        observation["effectiveDateTime"] = entry[part.date]
    if part.value and part.value in entry:
        observation.update(_value(entry[part.value], unit or part.units.get(part.value)))
    total = part.total_of(entry)
    if total is not None:
        observation["valueInteger"] = total
    reference_range = _reference_range(part, entry, unit)
    if reference_range:
        observation["referenceRange"] = [reference_range]
    components = [
        component
        for key, value in entry.items()
        if key not in _carried(part)
        for component in _components(part, (key,), value, unit)
    ]
    if components:
        observation["component"] = components
    return observation


def _carried(part: ObservationPart) -> set[str]:
    """The entry fields an Observation carries outside its components."""
    carried = {part.date, part.value, part.id, part.unit, *part.flags, *(part.range or ())}
    return {name for name in carried if name is not None}


def _entry_unit(part: ObservationPart, entry: JSON) -> str | None:
    """The UCUM code of a test's or lab's own unit."""
    if part.unit is None or part.unit not in entry:
        return None
    return code_table().record_units[entry[part.unit]]


def _reference_range(part: ObservationPart, entry: JSON, unit: str | None) -> JSON:
    if part.range is None:
        return {}
    low, high = part.range
    bounds = {"low": entry.get(low), "high": entry.get(high)}
    return {side: quantity(value, unit) for side, value in bounds.items() if value is not None}


def _components(
    part: ObservationPart, path: tuple[str, ...], value: Any, unit: str | None
) -> Iterator[JSON]:
    """The components of one entry field: one per value, in the order of the record; an empty
    object is a component without a value."""
    name = ".".join(path)
    if isinstance(value, dict):
        if not value:
            yield {"code": concept(part.path_coding(name))}
        for key, inner in value.items():
            yield from _components(part, (*path, key), inner, unit)
    elif isinstance(value, list):
        for item in value:
            yield from _components(part, path, item, unit)
    else:
        code = concept(part.path_coding(name))
        yield {"code": code, **_value(value, unit or part.units.get(name))}


def _value(value: Any, ucum: str | None) -> JSON:
    """``value[x]`` of a JSON value; a null is a data-absent reason."""
    if value is None:
        return {"dataAbsentReason": concept(code_table().fhir.not_recorded)}
    if isinstance(value, bool):
        return {"valueBoolean": value}
    if isinstance(value, int):
        return {"valueInteger": value}
    if isinstance(value, float):
        return {"valueQuantity": quantity(value, ucum)}
    return string_element("valueString", str(value))


# --- Condition, family history ---------------------------------------------------------------


def _condition(data: JSON) -> Iterator[tuple[str, JSON]]:
    if "diagnosis_date" not in data:
        return
    fhir = code_table().fhir
    condition: JSON = {
        "resourceType": "Condition",
        "clinicalStatus": concept(fhir.active),
        "verificationStatus": concept(fhir.confirmed),
        "code": code_table().conditions["als"].concept(),
    }
    onset = (data.get("symptom_onset") or {}).get("date")
    if onset:
        condition["onsetDateTime"] = onset
    condition["recordedDate"] = data["diagnosis_date"]
    yield "condition", condition


def _family_history(data: JSON) -> Iterator[tuple[str, JSON]]:
    if "family_history" not in data:
        return
    history: JSON = data["family_history"]
    conditions = [
        _family_condition(code_table().conditions[name].concept(), present)
        for name, present in history.items()
    ]
    body: JSON = {
        "resourceType": "FamilyMemberHistory",
        "status": "completed" if conditions else "health-unknown",
        "relationship": concept(code_table().fhir.family_member),
    }
    if conditions:
        body["condition"] = conditions
    yield "family_history", body


def _family_condition(code: JSON, present: bool) -> JSON:
    if present:
        return {"code": code}
    # A condition looked for and not found: a modifier, since it reverses the meaning.
    return {"modifierExtension": [extension("absent", valueBoolean=True)], "code": code}


# --- Medications, interventions, care --------------------------------------------------------


def _medications(data: JSON) -> Iterator[tuple[str, JSON]]:
    for i, medication in enumerate(data.get("medications", ())):
        yield f"medications/{i}", _medication(medication)


def _medication(medication: JSON) -> JSON:
    until = medication.get("until")
    status = (
        "active" if until is None else "stopped" if "stop_reason" in medication else "completed"
    )
    body: JSON = {"resourceType": "MedicationStatement", "status": status}
    if "stop_reason" in medication:
        reason = medication["stop_reason"]
        body["statusReason"] = [concept(alscare_coding(f"stop_reason.{reason}", reason))]
    body["medicationCodeableConcept"] = string_element("text", medication["name"])
    period = _period(medication.get("since"), until)
    if period:
        body["effectivePeriod"] = period
    return body


def _period(since: str | None, until: str | None) -> JSON:
    """The period a drug was taken: ``until`` is the first day without it, the period's end the
    last day with it. A drug stopped on the day it started has no last day: its ``until``
    goes in an extension."""
    period: JSON = {}
    if since is not None:
        period["start"] = since
    if until is not None:
        last = dt.date.fromisoformat(until) - dt.timedelta(days=1)
        if since is not None and last < dt.date.fromisoformat(since):
            period["extension"] = [extension("until", valueDate=until)]
        else:
            period["end"] = last.isoformat()
    return period


def _interventions(data: JSON) -> Iterator[tuple[str, JSON]]:
    table = code_table()
    for i, event in enumerate(data.get("interventions") or ()):
        body: JSON = {
            "resourceType": "Procedure",
            "status": table.intervention_status[event["event"]],
        }
        extensions = _inferred(event)
        if "hours_per_day" in event:
            extensions.append(extension("hours-per-day", valueDecimal=event["hours_per_day"]))
        if extensions:
            body["extension"] = extensions
        if event["event"] == "declined":
            body["statusReason"] = concept(table.declined_reason)
        body["code"] = concept(table.interventions[event["kind"]])
        body["performedDateTime"] = event["date"]
        yield f"interventions/{i}", body


def _care(data: JSON) -> Iterator[tuple[str, JSON]]:
    for i, event in enumerate(data.get("care", ())):
        body: JSON = {"resourceType": "Procedure", "status": "completed"}
        extensions = _inferred(event)
        if extensions:
            body["extension"] = extensions
        body["code"] = concept(code_table().care[event["kind"]])
        body["performedDateTime"] = event["date"]
        yield f"care/{i}", body


def _inferred(event: JSON) -> list[JSON]:
    """The flag of a date the v1 upgrade supplied."""
    if not event.get("date_inferred"):
        return []
    return [extension(flag_name("date_inferred"), valueBoolean=True)]
