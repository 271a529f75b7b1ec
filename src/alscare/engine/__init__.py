"""The pure core: ``assess(record, *, as_of, kb) -> Assessment``.

No I/O, no clock, no globals: the same record, date and knowledge version give the same
assessment, byte for byte. Each step is a function of the record cut at ``as_of`` (the
Timeline) and of what earlier steps concluded; data flow one way.
"""

from __future__ import annotations

import datetime as dt

from alscare.engine.alerts import alerts
from alscare.engine.criteria import criteria
from alscare.engine.differentials import differentials
from alscare.engine.factors import diagnostic_factors, risk_factors
from alscare.engine.investigations import investigation_plan
from alscare.engine.prognosis import prognosis
from alscare.engine.recommendations import recommendations
from alscare.engine.regions import regions
from alscare.engine.scores import scores
from alscare.engine.staging import staging
from alscare.engine.timeline import cut_off
from alscare.knowledge import KnowledgeBase
from alscare.schemas.assessment import Assessment
from alscare.schemas.patient import PatientRecord

__all__ = ["assess"]


def assess(record: PatientRecord, *, as_of: dt.date, kb: KnowledgeBase) -> Assessment:
    """Assess one patient record on one date against one knowledge base."""
    timeline = cut_off(record, as_of)
    involvement = regions(timeline, kb)
    differential = differentials(timeline, involvement, kb)
    met = criteria(timeline, involvement, differential, kb)
    findings = Assessment(
        patient_id=record.id,
        as_of=as_of,
        knowledge_version=kb.version,
        scores=scores(timeline, kb),
        staging=staging(timeline, kb),
        criteria=met,
        prognosis=prognosis(timeline, met, kb),
        regions=involvement,
        diagnostic_factors=diagnostic_factors(timeline, kb),
        risk_factors=risk_factors(timeline, kb),
        differentials=differential,
        investigations=investigation_plan(timeline, involvement, differential, met, kb),
        ignored=timeline.ignored,
    )
    advice = recommendations(timeline, findings, kb)
    with_advice = findings.model_copy(update={"recommendations": advice})
    return with_advice.model_copy(
        update={
            "alerts": alerts(timeline, with_advice, kb),
            "missing": _missing(with_advice),
        }
    )


def _missing(assessment: Assessment) -> tuple[str, ...]:
    """Everything any step said it lacked, once each, in a stable order."""
    parts = (
        assessment.scores.missing,
        assessment.staging.missing,
        assessment.criteria.gold_coast.missing,
        assessment.criteria.el_escorial.missing,
        assessment.criteria.awaji.missing,
        assessment.prognosis.encals.missing,
    )
    return tuple(sorted({item for part in parts for item in part}))
