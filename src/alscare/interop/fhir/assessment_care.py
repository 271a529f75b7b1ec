"""Alerts as DetectedIssues; recommendations as ServiceRequests, gathered in one CarePlan.

A clinician acts on both, so each must cite a source: an alert or a recommendation without one
is refused (``ValueError``), never shipped. Requests and plan are ``draft`` proposals: alscare
proposes, a clinician decides. The unverified mark is in the text and the ``verified`` extension,
never in ``status``, so a client that lists requests by status hides none of them. A "stop" or
"hold" sets ``doNotPerform``: its code names what is not to be done, and a client that reads
only the code must not take it for an order to do it.
"""

from __future__ import annotations

from typing import Final

from alscare.interop.fhir.assessment_parts import (
    Export,
    Json,
    coding,
    compact,
    concept,
    marked,
    notes,
    reference,
)
from alscare.interop.fhir.names import extension_url
from alscare.presentation import Kind
from alscare.schemas.assessment import Alert, Recommendation
from alscare.schemas.vocabulary import Action, Severity

__all__ = ["care_resources", "service_request"]

# DetectedIssue.severity has its own three values (high | moderate | low).
_SEVERITY: Final = {Severity.HIGH: "high", Severity.MEDIUM: "moderate", Severity.LOW: "low"}
_NOT_TO_DO: Final = frozenset({Action.STOP, Action.HOLD})


def care_resources(export: Export) -> list[Json]:
    """The alerts, then one ServiceRequest per recommendation and the CarePlan that lists them
    (no plan when there is no recommendation)."""
    assessment = export.assessment
    issues = [_detected_issue(alert, export) for alert in assessment.alerts]
    requests = [service_request(item, export) for item in assessment.recommendations]
    plan = [_care_plan(requests, export)] if requests else []
    return [*issues, *requests, *plan]


def _cited(kind: str, identifier: str, sources: tuple[str, ...]) -> None:
    if not sources:
        raise ValueError(f"{kind} {identifier!r} cites no source: it is not exported")


def _detected_issue(alert: Alert, export: Export) -> Json:
    _cited("alert", alert.id, alert.sources)
    words = export.words
    label = words.label(Kind.ALERT, alert.id)
    title = marked(label, alert.verified)
    # DetectedIssue has no notes: the reasons are its evidence and, in words, its detail.
    lines = notes(
        f"{words.label(Kind.SEVERITY, alert.severity)}: {title}",
        because=alert.because,
        verified=alert.verified,
    )
    resource = {
        **export.resource("DetectedIssue", f"alert-{alert.id}"),
        "extension": export.marks(alert.verified, alert.sources),
        "status": "final",
        "code": concept(f"alert.{alert.id}", label, title),
        "severity": _SEVERITY[alert.severity],
        "patient": export.subject(),
        "identifiedDateTime": export.date,
        "evidence": [{"code": [{"text": line}]} for line in alert.because],
        "detail": "\n".join(line["text"] for line in lines),
    }
    return compact(resource)


def service_request(item: Recommendation, export: Export) -> Json:
    """A recommendation as a proposed ServiceRequest, with its reasons and sources."""
    _cited("recommendation", item.id, item.sources)
    words = export.words
    label = words.label(Kind.RECOMMENDATION, item.id)
    action = words.label(Kind.ACTION, item.action)
    strength = {
        "url": extension_url("strength"),
        "valueCoding": coding(
            f"strength.{item.strength}", words.label(Kind.STRENGTH, item.strength)
        ),
    }
    resource = {
        **export.resource("ServiceRequest", f"recommendation-{item.id}"),
        "extension": [*export.marks(item.verified, item.sources), strength],
        "status": "draft",
        "intent": "proposal",
        "category": [concept(f"group.{item.group}", words.label(Kind.GROUP, item.group))],
        "doNotPerform": item.action in _NOT_TO_DO,
        "code": concept(
            f"recommendation.{item.id}", label, marked(f"{action} {label}", item.verified)
        ),
        "orderDetail": [concept(f"action.{item.action.value}", action)],
        "subject": export.subject(),
        "authoredOn": export.date,
        "note": notes(item.detail or "", because=item.because, verified=item.verified),
    }
    return compact(resource)


def _care_plan(requests: list[Json], export: Export) -> Json:
    return {
        **export.resource("CarePlan", "care-plan"),
        "status": "draft",
        "intent": "proposal",
        "title": f"Recommendations of the alscare assessment on {export.date}",
        "subject": export.subject(),
        "created": export.date,
        "activity": [
            {"reference": reference(f"ServiceRequest/{request['id']}")} for request in requests
        ],
    }
