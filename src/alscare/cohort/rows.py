"""The per-patient function of a cohort run: one record in, one row out.

Every engine (DuckDB, local processes, Spark) calls :func:`patient_row`, so a patient's row is
the same whichever runs it. The row holds the full assessment as its JSON line plus the values a
registry queries as typed columns (:data:`ROW_SCHEMA`). Those values are read from the
assessment as it is on the wire, and from the engine's patient state for what the assessment
does not carry (the composite endpoint with its date, how long the record follows the patient):
no clinical rule is worked out here a second time.

Survival runs from symptom onset to the first part of the ENCALS composite endpoint the record
shows (death, tracheostomy, NIV over 23 hours a day), else to the last dated entry of the record
on or before ``as_of``, where the patient is censored: a patient who left the registry's
follow-up is not counted as event-free up to the assessment date. ``entry_months`` is when the
registry first knew the patient (diagnosis or first entry): survival from onset in a registry
is left-truncated there, and the analysis enters each patient into the risk set at that time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from alscare.engine import assessed_state, staging_on
from alscare.engine.prognosis import Endpoint, endpoints_reached
from alscare.engine.state import PatientState, months_between
from alscare.knowledge import KnowledgeBase
from alscare.schemas.assessment import Assessment, Staging
from alscare.schemas.patient import PatientRecord

__all__ = ["ROW_SCHEMA", "SURVIVAL_HORIZONS", "patient_row", "rows_table"]

#: The horizons (months from onset) of the predicted survival columns, for calibration.
SURVIVAL_HORIZONS = (12, 24, 36)

ROW_SCHEMA = pa.schema(
    [
        pa.field("patient_id", pa.string(), nullable=False),
        pa.field("input_index", pa.int64(), nullable=False),
        pa.field("as_of", pa.date32()),
        pa.field("knowledge_version", pa.string()),
        pa.field("sex", pa.string()),
        pa.field("onset_site", pa.string()),
        pa.field("onset_date", pa.date32()),
        pa.field("diagnosis_date", pa.date32()),
        pa.field("age_at_onset_years", pa.float64()),
        pa.field("diagnostic_delay_months", pa.float64()),
        pa.field("months_since_onset", pa.float64()),
        pa.field("alsfrs_r_total", pa.int64()),
        pa.field("alsfrs_r_ratings", pa.int64()),
        pa.field("progression_rate", pa.float64()),
        pa.field("alsfrs_r_slope", pa.float64()),
        pa.field("fvc_percent_predicted", pa.float64()),
        pa.field("bmi", pa.float64()),
        pa.field("kings_stage", pa.string()),
        pa.field("mitos_stage", pa.int64()),
        pa.field("kings_stage_at_diagnosis", pa.string()),
        pa.field("mitos_stage_at_diagnosis", pa.int64()),
        pa.field("gold_coast_met", pa.bool_()),
        pa.field("el_escorial_category", pa.string()),
        pa.field("awaji_category", pa.string()),
        pa.field("encals_applicable", pa.bool_()),
        pa.field("encals_linear_predictor", pa.float64()),
        pa.field("encals_median_months", pa.float64()),
        *(pa.field(f"encals_survival_{months}", pa.float64()) for months in SURVIVAL_HORIZONS),
        pa.field("endpoint_reached", pa.bool_(), nullable=False),
        pa.field("endpoint_kind", pa.string()),
        pa.field("endpoint_date", pa.date32()),
        pa.field("followed_until", pa.date32()),
        pa.field("entry_months", pa.float64()),
        pa.field("survival_months", pa.float64()),
        pa.field("alert_ids", pa.list_(pa.string())),
        pa.field("recommendation_ids", pa.list_(pa.string())),
        pa.field("assessment", pa.string(), nullable=False),
    ]
)


def patient_row(
    record: PatientRecord, index: int, *, as_of: dt.date, kb: KnowledgeBase
) -> dict[str, Any]:
    """The row of one patient (the columns of :data:`ROW_SCHEMA`)."""
    assessment, state = assessed_state(record, as_of=as_of, kb=kb)
    return {
        "patient_id": record.id,
        "input_index": index,
        "as_of": as_of,
        "knowledge_version": kb.version,
        "sex": record.sex.value if record.sex else None,
        "onset_site": state.onset_site.value if state.onset_site else None,
        "onset_date": state.onset,
        "diagnosis_date": state.diagnosis_date,
        "months_since_onset": _months(state.onset, as_of),
        **_score_columns(assessment, state),
        **_stage_columns(assessment.staging, ""),
        **_stage_columns(_staging_at_diagnosis(record, state, kb), "_at_diagnosis"),
        **_criteria_columns(assessment),
        **_encals_columns(assessment),
        **_survival_columns(state),
        "alert_ids": [alert.id for alert in assessment.alerts],
        "recommendation_ids": [step.id for step in assessment.recommendations],
        "assessment": assessment.to_json_line(),
    }


def rows_table(rows: Sequence[dict[str, Any]]) -> pa.Table:
    """Rows as an Arrow table of :data:`ROW_SCHEMA`."""
    return pa.Table.from_pylist(list(rows), schema=ROW_SCHEMA)


def _months(start: dt.date | None, end: dt.date | None) -> float | None:
    if start is None or end is None or end < start:
        return None
    return round(months_between(start, end), 2)


def _score_columns(assessment: Assessment, state: PatientState) -> dict[str, Any]:
    scores, inputs = assessment.scores, assessment.prognosis.encals.inputs
    return {
        "age_at_onset_years": inputs.age_at_onset_years,
        "diagnostic_delay_months": inputs.diagnostic_delay_months,
        "alsfrs_r_total": scores.alsfrs_r.total if scores.alsfrs_r else None,
        "alsfrs_r_ratings": len(state.complete),
        "progression_rate": scores.progression_rate,
        "alsfrs_r_slope": scores.alsfrs_r_slope,
        "fvc_percent_predicted": scores.fvc_percent_predicted,
        "bmi": scores.bmi,
    }


def _stage_columns(staged: Staging | None, suffix: str) -> dict[str, Any]:
    kings = staged.kings.stage if staged else None
    mitos = staged.mitos.stage if staged and staged.mitos else None
    return {
        f"kings_stage{suffix}": kings.value if kings else None,
        f"mitos_stage{suffix}": mitos,
    }


def _staging_at_diagnosis(
    record: PatientRecord, state: PatientState, kb: KnowledgeBase
) -> Staging | None:
    if state.diagnosis_date is None:
        return None
    return staging_on(record, as_of=state.diagnosis_date, kb=kb)


def _criteria_columns(assessment: Assessment) -> dict[str, Any]:
    met = assessment.criteria
    el_escorial, awaji = met.el_escorial.category, met.awaji.category
    return {
        "gold_coast_met": met.gold_coast.met,
        "el_escorial_category": el_escorial.value if el_escorial else None,
        "awaji_category": awaji.value if awaji else None,
    }


def _encals_columns(assessment: Assessment) -> dict[str, Any]:
    encals = assessment.prognosis.encals
    survival = encals.survival or {}
    return {
        "encals_applicable": encals.applicable,
        "encals_linear_predictor": encals.linear_predictor,
        "encals_median_months": encals.median_survival_months,
        **{f"encals_survival_{months}": survival.get(str(months)) for months in SURVIVAL_HORIZONS},
    }


def _survival_columns(state: PatientState) -> dict[str, Any]:
    reached = endpoints_reached(state)
    first = _first_dated(reached)
    # Reached on a day nobody recorded: no survival time can be measured for this patient.
    until = first.date if first else (None if reached else state.followed_until)
    return {
        "endpoint_reached": bool(reached),
        "endpoint_kind": (first or reached[0]).kind if reached else None,
        "endpoint_date": first.date if first else None,
        "followed_until": until,
        "entry_months": _months(state.onset, _entry(state)),
        "survival_months": _months(state.onset, until),
    }


def _entry(state: PatientState) -> dt.date | None:
    """When the registry first knew the patient: the diagnosis or the first dated entry,
    whichever came first (a patient seen years after onset enters the risk set late)."""
    known = [day for day in (state.diagnosis_date, state.followed_from) if day is not None]
    return min(known, default=None)


def _first_dated(reached: tuple[Endpoint, ...]) -> Endpoint | None:
    """The earliest part of the endpoint that has a real date (an undated v1 event, given the
    day the upgrade could not know, cannot start or end a survival time)."""
    dated = [part for part in reached if part.date is not None and not part.inferred]
    return min(dated, key=lambda part: part.date or dt.date.min, default=None)
