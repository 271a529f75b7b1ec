"""Registry cohorts: the engine over a whole registry or EHR extract.

``alscare cohort run`` reads records (JSON Lines, Parquet, or an OMOP CDM 5.4 database), runs
the per-patient function of :mod:`alscare.cohort.rows` on each (the pure engine plus the
columns a registry queries), and writes ``assessments.parquet``, ``summary.json`` and
``report.html``. The engines differ only in where that function runs and where the rows are
aggregated: DuckDB in this process (the default), a pool of local processes, or Spark.
"""
