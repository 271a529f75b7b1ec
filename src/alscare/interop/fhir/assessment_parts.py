"""What every resource of the assessment shares: its id and tag, alscare's codes, the notes that
carry the reasons, the unverified mark and the cited sources.

One :class:`Export` holds the assessment, its knowledge base and the patient for one call of
``assessment_resources``; nothing here keeps state between calls.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from alscare.interop.fhir.names import ASSESSMENT_TAG, CANONICAL, CODE_SYSTEM, extension_url
from alscare.knowledge import KnowledgeBase
from alscare.knowledge.models import Source
from alscare.presentation import UNVERIFIED, UNVERIFIED_LEGEND, Wording
from alscare.schemas.assessment import Assessment

__all__ = ["Export", "Json", "coding", "compact", "concept", "marked", "notes", "reference"]

Json = dict[str, Any]

_FHIR_ID: Final = re.compile(r"[A-Za-z0-9.-]{1,64}")
# A readable id that is not a valid FHIR id (too long, or a record id with "_") becomes a
# name-based UUID of it: still the same for the same patient, date and conclusion.
_ID_NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, f"{CANONICAL}/assessment")
# The sub-extensions of a cited source, in the order written, and the value type of each.
_SOURCE_FIELDS: Final = (
    ("id", "valueString"),
    ("citation", "valueString"),
    ("doi", "valueString"),
    ("pmid", "valueString"),
    ("url", "valueUri"),
)


@dataclass(frozen=True, slots=True)
class Export:
    """One assessment on its way out: its knowledge base, wording and patient reference."""

    assessment: Assessment
    kb: KnowledgeBase
    patient_reference: str
    words: Wording

    @property
    def date(self) -> str:
        """The assessment date: every resource is effective on it."""
        return self.assessment.as_of.isoformat()

    def resource_id(self, part: str) -> str:
        """``<patient>-<yyyymmdd>-<part>``, the part's ``_`` turned into ``-`` (knowledge ids
        have no ``-``, so no two parts meet), or the UUID of it when that is no FHIR id."""
        as_of = self.assessment.as_of.strftime("%Y%m%d")
        readable = f"{self.assessment.patient_id}-{as_of}-{part.replace('_', '-')}"
        if _FHIR_ID.fullmatch(readable):
            return readable
        return str(uuid.uuid5(_ID_NAMESPACE, readable))

    def resource(self, resource_type: str, part: str) -> Json:
        """The start of a resource: its type, stable id and the assessment tag."""
        return {
            "resourceType": resource_type,
            "id": self.resource_id(part),
            "meta": {"tag": [dict(ASSESSMENT_TAG)]},
        }

    def subject(self) -> Json:
        return reference(self.patient_reference)

    def marks(self, verified: bool | None, sources: Iterable[str]) -> list[Json]:
        """The extensions of a conclusion: whether its rule was verified (when the assessment
        says), then one per cited source with the knowledge base's citation."""
        flag = [] if verified is None else [_verified(verified)]
        return [*flag, *(self._source(source_id) for source_id in dict.fromkeys(sources))]

    def _source(self, source_id: str) -> Json:
        try:
            source = self.kb.source(source_id)
        except KeyError:
            raise ValueError(
                f"source {source_id!r} is not in knowledge version {self.kb.version}"
            ) from None
        return {"url": extension_url("source"), "extension": _source_fields(source)}


def _source_fields(source: Source) -> list[Json]:
    fields = ((name, kind, getattr(source, name)) for name, kind in _SOURCE_FIELDS)
    return [{"url": name, kind: value} for name, kind, value in fields if value is not None]


def _verified(verified: bool) -> Json:
    return {"url": extension_url("verified"), "valueBoolean": verified}


def reference(target: str) -> Json:
    return {"reference": target}


def coding(code: str, display: str) -> Json:
    return {"system": CODE_SYSTEM, "code": code, "display": display}


def concept(code: str, display: str, text: str | None = None) -> Json:
    return {"coding": [coding(code, display)], "text": display if text is None else text}


def marked(text: str, verified: bool | None) -> str:
    """The text with the unverified mark, as every view writes it after a conclusion."""
    return text if verified is not False else f"{text} ({UNVERIFIED})"


def notes(
    *lines: str, because: Sequence[str] = (), missing: Sequence[str] = (), verified: bool | None
) -> list[Json]:
    """Annotations: the lines given (an empty one left out), each reason, what was missing,
    and what the unverified mark means when the conclusion carries it."""
    legend = [UNVERIFIED_LEGEND] if verified is False else []
    texts = [*lines, *because, *(f"Missing: {lack}" for lack in missing), *legend]
    return [{"text": text} for text in texts if text]


def compact(resource: Json) -> Json:
    """The resource without empty elements: FHIR allows no empty array or null."""
    return {key: value for key, value in resource.items() if value not in (None, [], {}, "")}
