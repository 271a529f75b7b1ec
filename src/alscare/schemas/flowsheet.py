"""The flowsheet (``alscare.flowsheet/v1``): the patient's course visit by visit, for the table
and the charts of the clinic app and its API.

One row per date on which the record holds an ALSFRS-R rating, a breathing test or a weight, up
to ``as_of``. A row gives what was measured that day and what the engine derived from it that
day (the ALSFRS-R total and domains, ΔFS, BMI, King's and MiToS stages as of that date); a value
measured on another day is not repeated. ``thresholds`` are the knowledge base's thresholds
that the rules compare each charted measure with, for marking the charts; ``stale`` names the
columns whose latest value is older than its repeat window on ``as_of`` and ``notes`` says why,
by the assessment's own test (a score the assessment calls stale is a stale column here).
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from alscare.schemas.assessment import AlsfrsScore
from alscare.schemas.vocabulary import KingsStage

__all__ = ["FLOWSHEET_SCHEMA", "ChartThreshold", "Flowsheet", "FlowsheetRow"]

FLOWSHEET_SCHEMA: Final = "alscare.flowsheet/v1"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class FlowsheetRow(_Model):
    date: dt.date
    alsfrs_r: AlsfrsScore | None = None
    items: dict[str, int | None] = Field(default_factory=dict)
    progression_rate: float | None = None
    fvc_percent_predicted: float | None = None
    snip_cmh2o: float | None = None
    mip_cmh2o: float | None = None
    spo2_percent: float | None = None
    weight_kg: float | None = None
    bmi: float | None = None
    kings: KingsStage | None = None
    mitos: int | None = None


class ChartThreshold(_Model):
    """A threshold a rule compares a charted measure with."""

    id: str
    value: float
    unit: str
    label: str
    purpose: str
    verified: bool = True


class Flowsheet(_Model):
    schema_: str = Field(default=FLOWSHEET_SCHEMA, alias="schema")
    patient_id: str
    as_of: dt.date
    knowledge_version: str
    rows: tuple[FlowsheetRow, ...] = ()
    thresholds: dict[str, tuple[ChartThreshold, ...]] = Field(default_factory=dict)
    stale: tuple[str, ...] = ()
    notes: dict[str, str] = Field(default_factory=dict)

    model_config = ConfigDict(
        frozen=True, extra="forbid", populate_by_name=True, allow_inf_nan=False
    )

    def to_json(self) -> str:
        """The canonical JSON text, as for the assessment."""
        return self.model_dump_json(indent=2, by_alias=True) + "\n"
