"""alscare's own FHIR names: its code systems, extensions and the tag of derived resources.

Where no standard code exists (ALSFRS-R, SNIP, MIP and peak cough flow have no LOINC code; the
record's own fields such as an examination's signs have none either), alscare codes them under
its code system. The base URL is alscare's canonical FHIR namespace, not a server.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ASSESSMENT_TAG",
    "CANONICAL",
    "CODE_SYSTEM",
    "EXTENSION",
    "KNOWLEDGE_VERSION_SYSTEM",
    "RECORD_ID_SYSTEM",
    "extension_url",
]

#: The canonical base of alscare's FHIR artefacts.
CANONICAL: Final = "https://alscare.org/fhir"
#: alscare's code system: the record's fields and values that no standard terminology codes.
CODE_SYSTEM: Final = f"{CANONICAL}/CodeSystem/alscare"
#: The base of alscare's extensions: ``f"{EXTENSION}/{name}"``.
EXTENSION: Final = f"{CANONICAL}/StructureDefinition"
#: The identifier system of the record's ``id`` on the exported Patient.
RECORD_ID_SYSTEM: Final = f"{CANONICAL}/NamingSystem/record-id"
#: The identifier system of the knowledge version an assessment was made with (Provenance).
KNOWLEDGE_VERSION_SYSTEM: Final = f"{CANONICAL}/NamingSystem/knowledge-version"
#: ``meta.tag`` of every resource derived by the engine (the assessment): an import skips them,
#: because they are conclusions drawn from the record, not part of it.
ASSESSMENT_TAG: Final = {
    "system": CODE_SYSTEM,
    "code": "assessment",
    "display": "alscare assessment",
}


def extension_url(name: str) -> str:
    return f"{EXTENSION}/{name}"
