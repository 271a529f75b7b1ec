"""The pure core: ``assess(record, *, as_of, kb) -> Assessment``.

No I/O, no clock, no globals: the same record, date and knowledge version give the same
assessment, byte for byte. The record is cut at ``as_of`` into one patient state
(``engine/state.py``); every step reads the same facts of it by the same names
(``engine/facts.py``), unrounded, and adds what it concludes for the steps after it. Data flow
one way: regions, differentials, criteria, scores, then staging, prognosis, factors, the
investigation plan, the recommendations, the alerts and what falls due. Numbers are rounded
only when the wire
``Assessment`` is built, at the end.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from alscare.engine.criteria import criteria
from alscare.engine.derived_facts import DERIVED_FACTS
from alscare.engine.differentials import differentials
from alscare.engine.factors import diagnostic_factors, risk_factors
from alscare.engine.facts import Facts
from alscare.engine.follow_up import follow_up
from alscare.engine.investigations import investigation_plan
from alscare.engine.prognosis import encals
from alscare.engine.recommendations import alerts, recommendations
from alscare.engine.record_facts import RECORD_FACTS
from alscare.engine.regions import course, regions
from alscare.engine.scores import derived_scores
from alscare.engine.staging import staging
from alscare.engine.state import PatientState, patient_state
from alscare.knowledge import KnowledgeBase
from alscare.schemas.assessment import Assessment, Staging
from alscare.schemas.patient import PatientRecord

__all__ = ["FACT_FUNCTIONS", "assess", "assessed_state", "patient_facts", "staging_on"]

#: The function of every fact of the catalogue (a test checks none is missing).
FACT_FUNCTIONS = RECORD_FACTS.merged(DERIVED_FACTS)


def patient_facts(record: PatientRecord, *, as_of: dt.date, kb: KnowledgeBase) -> Facts:
    """The facts of a record on ``as_of``, before any stage has run (for tests and tools)."""
    return Facts(patient_state(record, as_of), kb, FACT_FUNCTIONS)


def assess(record: PatientRecord, *, as_of: dt.date, kb: KnowledgeBase) -> Assessment:
    """Assess one patient record on one date against one knowledge base."""
    return assessed_state(record, as_of=as_of, kb=kb)[0]


def assessed_state(
    record: PatientRecord, *, as_of: dt.date, kb: KnowledgeBase
) -> tuple[Assessment, PatientState]:
    """The assessment and the patient state it was made from (for an adapter that reports what
    the assessment does not carry, such as a registry's follow-up time)."""
    facts = patient_facts(record, as_of=as_of, kb=kb)
    staged = _stages(facts)
    stages = facts.stages
    involvement, differential, met = stages["regions"], stages["differentials"], stages["criteria"]
    scores = stages["scores"].wire()
    prognosis = {"encals": encals(facts, met["el_escorial"].get("category"))}
    data: dict[str, Any] = {
        "schema": "alscare.assessment/v1",
        "patient_id": record.id,
        "as_of": as_of,
        "knowledge_version": kb.version,
        "scores": scores,
        "staging": staged,
        "criteria": met,
        "prognosis": prognosis,
        "regions": involvement,
        "course": course(facts),
        "diagnostic_factors": diagnostic_factors(facts),
        "risk_factors": risk_factors(facts),
        "differentials": differential,
        "investigations": investigation_plan(facts, differential),
        "recommendations": recommendations(facts),
        "alerts": (raised := alerts(facts)),  # after the recommendations: rules read them
        "due": follow_up(facts, raised),
        "ignored": facts.state.ignored,
    }
    data["missing"] = _missing(scores, staged, met, prognosis["encals"])
    return Assessment.model_validate(data), facts.state


def staging_on(record: PatientRecord, *, as_of: dt.date, kb: KnowledgeBase) -> Staging:
    """The King's and MiToS stages alone, exactly as ``assess`` gives them on ``as_of`` (a
    registry's stage at diagnosis). Staging reads only the regions and the scores, so the
    differentials and criteria are not worked out; a staging rule that read them would raise
    :class:`~alscare.engine.facts.StageNotReached`, never give another answer."""
    facts = patient_facts(record, as_of=as_of, kb=kb)
    facts.stages["regions"] = regions(facts)
    facts.stages["scores"] = derived_scores(facts)
    return Staging.model_validate(staging(facts))


def _stages(facts: Facts) -> dict[str, Any]:
    """The steps up to staging, each adding what it concludes to ``facts.stages``; the
    staging itself is returned (wire data)."""
    stages = facts.stages
    stages["regions"] = involvement = regions(facts)
    stages["differentials"] = differential = differentials(facts)
    stages["criteria"] = criteria(facts, involvement, differential)
    stages["scores"] = derived_scores(facts)
    return staging(facts)


def _missing(
    scores: dict[str, Any],
    staged: dict[str, Any],
    met: dict[str, dict[str, Any]],
    prognosis: dict[str, Any],
) -> tuple[str, ...]:
    """Everything any step said it lacked, once each, in a stable order."""
    parts = (
        scores["missing"],
        staged["missing"],
        *(result.get("missing", ()) for result in met.values()),
        prognosis.get("missing", ()),
    )
    return tuple(sorted({item for part in parts for item in part}))
