"""The row columns the analytics read, typed as ``assessments.parquet`` types them, for tests
that build tiny cohorts by hand (every column of the row but the assessment itself)."""

from __future__ import annotations

import pyarrow as pa

from alscare.cohort.rows import ROW_SCHEMA

__all__ = ["ANALYTICS_SCHEMA"]

ANALYTICS_SCHEMA = pa.schema(
    [field.with_nullable(True) for field in ROW_SCHEMA if field.name != "assessment"]
)
