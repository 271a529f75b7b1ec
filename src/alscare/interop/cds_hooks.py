"""CDS Hooks 2.0, the pure part: the services, their requests, and the engine's output as cards.

Two services (:data:`SERVICES`):

* ``alscare-patient-view`` (hook ``patient-view``): the record the EHR holds, assessed on the
  request's date; every alert, then the most actionable recommendations
  (:data:`MAX_RECOMMENDATION_CARDS`).
* ``alscare-order-select`` (hook ``order-select``): the draft MedicationRequests become
  medications of the record, taken from the request's date, and the cards are what the engine
  concludes differently because of them: the assessment of the record with the ordered drugs is
  compared with that of the record without them (any earlier entry of those drugs removed too,
  so a repeat order is answered like a first one). Riluzole's liver and neutrophil checks and a
  drug's standing in the jurisdiction come out of the engine's own rules that way; nothing here
  knows a drug, a threshold or a status.

FHIR is turned into a record by the FHIR import only (``interop.fhir.record_in``); the draft
orders go through it too, restated as MedicationStatements. Cards word the assessment through
``alscare.presentation``, as every view does: labels, the unverified mark and its meaning, the
engine's sentences in clinical English. Every optional element is left out rather than null.

Pure: the web adapter (``web/cds_hooks.py``) reads the request, fetches what the prefetch lacks
from the EHR's FHIR server, verifies the client (``interop/cds_auth.py``) and passes the date.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal
from urllib.parse import quote

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from alscare.assessment_dates import as_of_problem, clinic_latest
from alscare.engine import assess
from alscare.errors import NotFoundError, Problem, RecordError
from alscare.interop.fhir.assessment_out import recommendation_request
from alscare.interop.fhir.names import CANONICAL, CODE_SYSTEM
from alscare.interop.fhir.record_in import record_from_resources
from alscare.knowledge import KnowledgeBase
from alscare.presentation import (
    UNVERIFIED,
    UNVERIFIED_MEANING,
    Kind,
    Wording,
    clinical_text,
    wording,
)
from alscare.schemas.assessment import Alert, Assessment, DueItem, Recommendation
from alscare.schemas.patient import PatientRecord
from alscare.schemas.vocabulary import Action, Severity

__all__ = [
    "MAX_RECOMMENDATION_CARDS",
    "MAX_SUMMARY_LENGTH",
    "OVERRIDE_REASONS",
    "PREFETCH",
    "SERVICES",
    "Call",
    "CardFeedback",
    "FeedbackRequest",
    "HookRequest",
    "Plan",
    "Service",
    "answer",
    "assessment_cards",
    "discovery",
    "find_service",
    "plan",
]

#: What both services need of the patient, as CDS Hooks prefetch templates (also the queries
#: sent to the EHR's FHIR server for any key the prefetch lacks).
PREFETCH: Final = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "observations": "Observation?patient={{context.patientId}}",
    "medications": "MedicationStatement?patient={{context.patientId}}",
    "procedures": "Procedure?patient={{context.patientId}}",
    "family_history": "FamilyMemberHistory?patient={{context.patientId}}",
}
#: A card interrupts the clinician in the EHR; past a handful they are dismissed unread (alert
#: fatigue), so a hook shows every alert but only this many recommendations, the most
#: actionable first; the rest are one click away in the app (each card's link).
MAX_RECOMMENDATION_CARDS: Final = 3
#: CDS Hooks: a card's summary is under 140 characters.
MAX_SUMMARY_LENGTH: Final = 139
_OVERRIDE_SYSTEM: Final = f"{CANONICAL}/CodeSystem/cds-override-reason"
#: Why a clinician may set a card aside; offered on every card, reported back as feedback.
OVERRIDE_REASONS: Final = tuple(
    {"system": _OVERRIDE_SYSTEM, "code": code, "display": display}
    for code, display in (
        ("already-addressed", "Already addressed"),
        ("not-applicable", "Does not apply to this patient"),
        ("patient-declined", "The patient declined"),
        ("record-incomplete", "The record sent is incomplete or out of date"),
    )
)
# Recommendations that change what is done come before those that keep it going: stopping a
# drug first, continuing one last. Within an action, the engine's (the algorithm's) order.
_ACTION_ORDER: Final = (
    Action.STOP,
    Action.HOLD,
    Action.START,
    Action.REFER,
    Action.CONSIDER,
    Action.MONITOR,
    Action.CONTINUE,
)
_INDICATORS: Final = {Severity.HIGH: "critical", Severity.MEDIUM: "warning", Severity.LOW: "info"}
# Recommendations whose action is a request for a service: offered as a ServiceRequest.
_REQUESTED: Final = (Action.REFER, Action.MONITOR)
# Recommendations that say not to give a drug: an order of it may be withdrawn.
_WITHHELD: Final = (Action.STOP, Action.HOLD)
# Card and suggestion uuids: uuid5 in alscare's namespace of the hook call and the card's key,
# so the same call gets the same uuids and feedback can name them.
_UUIDS: Final = uuid.uuid5(uuid.NAMESPACE_URL, f"{CANONICAL}/cds-hooks")
# What markdown would read as markup inside a line: emphasis, code, links, HTML, tables.
_MARKDOWN: Final = re.compile(r"([\\`*_\[\]<>|~])")
_SMART_LAUNCH: Final = "/smart/launch"
_TOPIC_PAGE: Final = "/topic"


# --- the services ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Service:
    id: str
    hook: str
    title: str
    description: str

    def discovery(self) -> dict[str, Any]:
        return {
            "hook": self.hook,
            "title": self.title,
            "description": self.description,
            "id": self.id,
            "prefetch": dict(PREFETCH),
        }


SERVICES: Final = {
    service.id: service
    for service in (
        Service(
            "alscare-patient-view",
            "patient-view",
            "alscare: ALS decision support",
            "The ALS alerts and the most actionable recommendations for the patient's record "
            "on today's date, each with its reasons and sources.",
        ),
        Service(
            "alscare-order-select",
            "order-select",
            "alscare: ALS medication orders",
            "What the ALS knowledge base says about the drugs being ordered for this patient: "
            "monitoring (riluzole's liver tests and neutrophils), alerts, and the drug's "
            "standing where the patient is treated.",
        ),
    )
}


def discovery() -> dict[str, Any]:
    """The discovery document (``GET /cds-services``)."""
    return {"services": [service.discovery() for service in SERVICES.values()]}


def find_service(service_id: str) -> Service:
    service = SERVICES.get(service_id)
    if service is None:
        raise NotFoundError(f"no CDS service {service_id!r}; GET /cds-services lists them")
    return service


# --- requests --------------------------------------------------------------------------------


class _Wire(BaseModel):
    # A CDS client may send extensions and fields of later versions: they are ignored.
    model_config = ConfigDict(extra="ignore", frozen=True)


class FhirAuthorization(_Wire):
    access_token: Annotated[str, Field(min_length=1, max_length=8192)]
    token_type: Literal["Bearer"]
    expires_in: int | None = None
    scope: str | None = None
    subject: str | None = None


class HookRequest(_Wire):
    """A hook call (CDS Hooks 2.0 "HTTP request"); the context is checked by hook in
    :func:`plan`, so that its faults are named at ``/context/...``."""

    hook: Annotated[str, Field(min_length=1, max_length=100)]
    hookInstance: Annotated[str, Field(min_length=1, max_length=200)]
    fhirServer: Annotated[str, Field(pattern=r"^https?://[^\s?#]+$")] | None = None
    fhirAuthorization: FhirAuthorization | None = None
    context: dict[str, Any]
    prefetch: dict[str, dict[str, Any] | None] | None = None


_FHIR_ID: Final = r"^[A-Za-z0-9\-.]{1,64}$"


class _PatientContext(_Wire):
    patientId: Annotated[str, Field(pattern=_FHIR_ID)]
    userId: str | None = None
    encounterId: str | None = None


class _OrderContext(_PatientContext):
    draftOrders: dict[str, Any]
    selections: tuple[str, ...] = ()


_CONTEXTS: Final[Mapping[str, type[_PatientContext]]] = {
    "patient-view": _PatientContext,
    "order-select": _OrderContext,
}


@dataclass(frozen=True, slots=True)
class Plan:
    """A checked request: its context, and the FHIR queries for what its prefetch lacks."""

    service: Service
    request: HookRequest
    context: _PatientContext
    queries: Mapping[str, str]


def plan(service: Service, request: HookRequest) -> Plan:
    """Check the request against its service; RecordError naming each fault."""
    if request.hook != service.hook:
        raise RecordError([Problem("/hook", f"{service.id} answers the {service.hook} hook")])
    try:
        context = _CONTEXTS[service.hook].model_validate(request.context)
    except ValidationError as error:
        raise RecordError(_problems("/context", error)) from None
    given = request.prefetch or {}
    missing = [key for key in PREFETCH if given.get(key) is None]
    if missing and request.fhirServer is None:
        reason = "missing, and the request names no fhirServer to fetch it from"
        raise RecordError([Problem(f"/prefetch/{key}", reason) for key in missing])
    patient = quote(context.patientId, safe="")
    queries = {key: PREFETCH[key].replace("{{context.patientId}}", patient) for key in missing}
    return Plan(service, request, context, queries)


def _problems(base: str, error: ValidationError) -> list[Problem]:
    return [
        Problem(base + "".join(f"/{part}" for part in item["loc"]), item["msg"])
        for item in error.errors(include_url=False)
    ]


# --- feedback ---------------------------------------------------------------------------------


class _Coding(_Wire):
    system: Annotated[str, Field(max_length=500)] | None = None
    code: Annotated[str, Field(max_length=200)] | None = None
    display: Annotated[str, Field(max_length=500)] | None = None


class _OverrideReason(_Wire):
    reason: _Coding | None = None
    userComment: Annotated[str, Field(max_length=2000)] | None = None


class CardFeedback(_Wire):
    card: Annotated[str, Field(min_length=1, max_length=64)]
    outcome: Literal["accepted", "overridden"]
    overrideReason: _OverrideReason | None = None
    outcomeTimestamp: AwareDatetime


class FeedbackRequest(_Wire):
    feedback: Annotated[tuple[CardFeedback, ...], Field(min_length=1, max_length=100)]


# --- the answer -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Call:
    """What the cards of one call are built with besides the assessment."""

    hook_instance: str
    patient_id: str  # the EHR's Patient id, which suggested resources refer to
    base_url: str  # the app's URL as the EHR reaches it, for the cards' links
    kb: KnowledgeBase


def answer(
    checked: Plan,
    fetched: Mapping[str, dict[str, Any]],
    *,
    as_of: dt.date,
    base_url: str,
    kb: KnowledgeBase,
) -> list[dict[str, Any]]:
    """The cards of a checked request, with ``fetched`` holding what its queries returned."""
    context = checked.context
    values = {**(checked.request.prefetch or {}), **fetched}
    pointers = {key: "/fhirServer" if key in fetched else f"/prefetch/{key}" for key in PREFETCH}
    resources = _resources(values, pointers, context.patientId)
    call = Call(checked.request.hookInstance, context.patientId, base_url, kb)
    if isinstance(context, _OrderContext):
        return _order_cards(
            resources, _drafts(context.draftOrders, as_of, context.patientId), as_of, call
        )
    return assessment_cards(_assessed(_record(resources), as_of, kb), call)


def _resources(
    values: Mapping[str, Any], pointers: Mapping[str, str], patient_id: str
) -> list[dict[str, Any]]:
    """The resources of the prefetch keys: each a resource or a searchset Bundle of them."""
    found: list[dict[str, Any]] = []
    for key, pointer in pointers.items():
        value = values.get(key)
        if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
            raise RecordError([Problem(pointer, f"{key}: not a FHIR resource or Bundle")])
        found.extend(_unbundled(value, pointer))
    patient = values["patient"]
    if patient["resourceType"] != "Patient" or patient.get("id") != patient_id:
        reason = "patient: not the Patient of the context's patientId"
        raise RecordError([Problem(pointers["patient"], reason)])
    return found


def _unbundled(value: dict[str, Any], pointer: str) -> list[dict[str, Any]]:
    if value["resourceType"] != "Bundle":
        return [value]
    entries = value.get("entry", [])
    if not isinstance(entries, list):
        raise RecordError([Problem(f"{pointer}/entry", "not a list of entries")])
    resources = []
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            raise RecordError([Problem(f"{pointer}/entry/{index}/resource", "missing")])
        # A search may answer warnings as OperationOutcome entries: about the search, not
        # the patient.
        if resource.get("resourceType") != "OperationOutcome":
            resources.append(resource)
    return resources


def _record(resources: Sequence[Mapping[str, Any]]) -> PatientRecord:
    return record_from_resources(resources).record


def _assessed(record: PatientRecord, as_of: dt.date, kb: KnowledgeBase) -> Assessment:
    problem = as_of_problem(record, as_of, latest=clinic_latest(as_of))
    if problem is not None:
        raise RecordError([problem])
    return assess(record, as_of=as_of, kb=kb)


def assessment_cards(assessment: Assessment, call: Call) -> list[dict[str, Any]]:
    """The cards of the patient-view hook: every alert, then the top recommendations."""
    words = wording(call.kb)
    alerts = [_alert_card(alert, call, words) for alert in assessment.alerts]
    ranked = _ranked(assessment.recommendations)[:MAX_RECOMMENDATION_CARDS]
    return alerts + [_recommendation_card(item, assessment, call, words) for item in ranked]


def _ranked(recommendations: Iterable[Recommendation]) -> list[Recommendation]:
    return sorted(recommendations, key=lambda item: _ACTION_ORDER.index(item.action))


# --- order-select -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Draft:
    reference: str  # MedicationRequest/<id>, for a suggestion to withdraw it
    statement: dict[str, Any]  # the order restated as what the FHIR import reads


def _drafts(bundle: Mapping[str, Any], as_of: dt.date, patient_id: str) -> list[_Draft]:
    """The draft MedicationRequests of ``context.draftOrders`` (other orders say nothing of a
    drug), each taken by the context's patient from ``as_of`` on: the day it would be signed."""
    pointer = "/context/draftOrders"
    if bundle.get("resourceType") != "Bundle":
        raise RecordError([Problem(pointer, "not a FHIR Bundle")])
    orders = [
        (index, resource)
        for index, resource in enumerate(_unbundled(dict(bundle), pointer))
        if resource.get("resourceType") == "MedicationRequest"
    ]
    return [_draft(order, index, as_of, patient_id) for index, order in orders]


_MEDICATION_ELEMENTS: Final = ("medicationCodeableConcept", "medicationReference", "medication")


def _draft(order: Mapping[str, Any], index: int, as_of: dt.date, patient_id: str) -> _Draft:
    medication = {key: order[key] for key in _MEDICATION_ELEMENTS if key in order}
    if not medication:
        pointer = f"/context/draftOrders/entry/{index}/resource"
        raise RecordError([Problem(pointer, "the MedicationRequest names no medication")])
    order_id = str(order.get("id") or index)
    statement = {
        "resourceType": "MedicationStatement",
        "id": f"draft-{order_id}"[:64],
        "status": "active",
        **medication,
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectivePeriod": {"start": as_of.isoformat()},
    }
    return _Draft(f"MedicationRequest/{order_id}", statement)


def _order_cards(
    resources: list[dict[str, Any]], drafts: Sequence[_Draft], as_of: dt.date, call: Call
) -> list[dict[str, Any]]:
    ordered = _record([*resources, *(draft.statement for draft in drafts)])
    patient = [resource for resource in resources if resource["resourceType"] == "Patient"]
    drugs = {  # the drugs of each order, as the import and the knowledge base name them
        draft.reference: _drugs_named(_record([*patient, draft.statement]), call.kb)
        for draft in drafts
    }
    named = frozenset(drug for found in drugs.values() for drug in found)
    if not named:
        return []
    after = _assessed(ordered, as_of, call.kb)
    before = _assessed(_without(ordered, named, call.kb), as_of, call.kb)
    return _changed_cards(after, before, drugs, call)


def _without(record: PatientRecord, drugs: frozenset[str], kb: KnowledgeBase) -> PatientRecord:
    """The record with no entry of these drugs in its medication list."""
    named = [kb.treatment.drug(drug) for drug in drugs]
    kept = tuple(m for m in record.medications if not any(d.matches(m.name) for d in named))
    return record.model_copy(update={"medications": kept})


def _drugs_named(record: PatientRecord, kb: KnowledgeBase) -> frozenset[str]:
    return frozenset(
        drug.id
        for drug in kb.treatment.drugs
        for medication in record.medications
        if drug.matches(medication.name)
    )


def _changed_cards(
    after: Assessment, before: Assessment, drugs: Mapping[str, frozenset[str]], call: Call
) -> list[dict[str, Any]]:
    """What the engine concludes with the orders and did not conclude (or not so) without."""
    words = wording(call.kb)
    alerts = [_alert_card(a, call, words) for a in after.alerts if a not in before.alerts]
    due = [_due_card(item, call, words) for item in after.due if item not in before.due]
    changed = [r for r in after.recommendations if r not in before.recommendations]
    recommendations = [
        _recommendation_card(item, after, call, words, _withdrawals(item, drugs, call))
        for item in _ranked(changed)[:MAX_RECOMMENDATION_CARDS]
    ]
    return alerts + due + recommendations


def _withdrawals(
    recommendation: Recommendation, drugs: Mapping[str, frozenset[str]], call: Call
) -> list[dict[str, Any]]:
    """For a drug the engine says not to give: withdrawing the draft orders of it."""
    if recommendation.action not in _WITHHELD:
        return []
    orders = [order for order, named in drugs.items() if recommendation.id in named]
    if not orders:
        return []
    label = wording(call.kb).label(Kind.RECOMMENDATION, recommendation.id)
    action = {"type": "delete", "description": f"Remove the draft order of {label}"}
    key = f"recommendation/{recommendation.id}/withdraw"
    return [_suggestion(call, key, f"Remove the {label} order", {**action, "resourceId": orders})]


# --- cards ------------------------------------------------------------------------------------


def _alert_card(alert: Alert, call: Call, words: Wording) -> dict[str, Any]:
    label = words.label(Kind.ALERT, alert.id)
    head = [f"**{_md(label)}**: {words.label(Kind.SEVERITY, alert.severity).lower()}."]
    return _card(
        call,
        key=f"alert/{alert.id}",
        summary=_summary(label, alert.verified),
        indicator=_INDICATORS[alert.severity],
        detail=_detail(head, alert.because, alert.sources, alert.verified, call.kb),
        topic=(f"alert/{alert.id}", label),
        sources=alert.sources,
    )


def _due_card(item: DueItem, call: Call, words: Wording) -> dict[str, Any]:
    since = f" since {item.since.isoformat()}" if item.since else ""
    head = [f"**{_md(item.label)}**: due{since}."]
    return _card(
        call,
        key=f"due/{item.id}",
        summary=_summary(f"Due{since}: {item.label}", item.verified),
        indicator="info",
        detail=_detail(head, item.because, item.sources, item.verified, call.kb),
        topic=(f"due/{item.id}", item.label),
        sources=item.sources,
    )


def _recommendation_card(
    item: Recommendation,
    assessment: Assessment,
    call: Call,
    words: Wording,
    suggestions: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    label = words.label(Kind.RECOMMENDATION, item.id)
    action = words.label(Kind.ACTION, item.action)
    strength = words.label(Kind.STRENGTH, item.strength).lower()
    head = [
        f"**{action}: {_md(label)}** ({_md(words.label(Kind.GROUP, item.group))}; "
        f"strength: {strength})."
    ]
    if item.detail:
        head += ["", _md(clinical_text(item.detail))]
    key = f"recommendation/{item.id}"
    offered = list(suggestions) or _requests(item, assessment, key, label, call)
    return _card(
        call,
        key=key,
        summary=_summary(f"{action}: {label}", item.verified),
        indicator="info",
        detail=_detail(head, item.because, item.sources, item.verified, call.kb),
        topic=(key, label),
        sources=item.sources,
        suggestions=offered,
    )


def _requests(
    item: Recommendation, assessment: Assessment, key: str, label: str, call: Call
) -> list[dict[str, Any]]:
    """A referral or a test the recommendation asks for, as the FHIR export's ServiceRequest
    of it, to propose."""
    if item.action not in _REQUESTED:
        return []
    resource = recommendation_request(
        assessment, item, kb=call.kb, patient_reference=f"Patient/{call.patient_id}"
    )
    action = {"type": "create", "description": f"Propose: {label}", "resource": resource}
    return [_suggestion(call, f"{key}/request", f"Request: {label}", action)]


def _suggestion(call: Call, key: str, label: str, action: dict[str, Any]) -> dict[str, Any]:
    return {"label": _summary(label, True), "uuid": _uuid(call, key), "actions": [action]}


def _card(
    call: Call,
    *,
    key: str,
    summary: str,
    indicator: str,
    detail: str,
    topic: tuple[str, str],
    sources: Sequence[str],
    suggestions: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    card: dict[str, Any] = {
        "uuid": _uuid(call, key),
        "summary": summary,
        "detail": detail,
        "indicator": indicator,
        "source": _source(call, sources, topic),
        "overrideReasons": [dict(reason) for reason in OVERRIDE_REASONS],
        "links": [
            {
                "label": "Open the patient in alscare",
                "url": f"{call.base_url}{_SMART_LAUNCH}",
                "type": "smart",
            }
        ],
    }
    if suggestions:
        card["suggestions"] = list(suggestions)
        card["selectionBehavior"] = "at-most-one"
    return card


def _uuid(call: Call, key: str) -> str:
    return str(uuid.uuid5(_UUIDS, f"{call.hook_instance}\n{key}"))


def _summary(text: str, verified: bool) -> str:
    """At most :data:`MAX_SUMMARY_LENGTH` characters, the unverified mark kept whole."""
    mark = "" if verified else f" ({UNVERIFIED})"
    room = MAX_SUMMARY_LENGTH - len(mark)
    return (text if len(text) <= room else text[: room - 1].rstrip() + "…") + mark


def _source(call: Call, sources: Sequence[str], topic: tuple[str, str]) -> dict[str, Any]:
    """The topic, linked to the first cited source that has an address, or to its page."""
    code, display = topic
    return {
        "label": call.kb.about.title,
        "url": next(
            (url for url in (_address(call.kb, source) for source in sources) if url),
            f"{call.base_url}{_TOPIC_PAGE}",
        ),
        "topic": {"system": CODE_SYSTEM, "code": code, "display": display},
    }


def _address(kb: KnowledgeBase, source_id: str) -> str | None:
    source = kb.source(source_id)
    if source.doi:
        return f"https://doi.org/{source.doi}"
    if source.pmid:
        return f"https://pubmed.ncbi.nlm.nih.gov/{source.pmid}/"
    return source.url


def _detail(
    head: Sequence[str],
    because: Sequence[str],
    sources: Sequence[str],
    verified: bool,
    kb: KnowledgeBase,
) -> str:
    lines = list(head)
    if not verified:
        lines += ["", f"*{UNVERIFIED}*: {UNVERIFIED_MEANING}."]
    if because:
        lines += ["", "**Because**", *(f"- {_md(clinical_text(text))}" for text in because)]
    if sources:
        lines += ["", "**Sources**", *(f"- {_md(kb.source(s).citation)}" for s in sources)]
    return "\n".join(lines)


def _md(text: str) -> str:
    """Text of the knowledge base or the record, shown as itself in markdown."""
    return _MARKDOWN.sub(r"\\\1", text)
