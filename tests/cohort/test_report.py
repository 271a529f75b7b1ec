"""The cohort report rendered from a real summary (a small cohort in an in-memory DuckDB): every
section is there, the inline SVG charts parse and can share one page, text is escaped, and the
same summary gives the same bytes, in this process and in another one."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from alscare.cohort.analytics import fetch_survival, summarise, summary_json
from alscare.cohort.report import render_report
from alscare.knowledge import KnowledgeBase
from tests.cohort.analytics_rows import ANALYTICS_SCHEMA

_SECTIONS = (
    "cohort",
    "demographics",
    "diagnosis",
    "staging",
    "progression",
    "survival",
    "survival-onset_site",
    "survival-kings_stage_at_diagnosis",
    "survival-encals_quintile",
    "encals",
)
_CHARTS = (
    "histogram-progression_rate",
    "histogram-alsfrs_r_slope",
    "km-overall",
    "km-onset_site",
    "km-kings_stage_at_diagnosis",
    "km-encals_quintile",
    "calibration",
)
_SVG = re.compile(r"<svg\b.*?</svg>", re.DOTALL)


def _row(i: int) -> dict[str, Any]:
    """Patient ``i`` of a fixed cohort of 30: three onset sites, stages, ENCALS predictions
    that rise with i, and an endpoint for two patients of every three."""
    site = ("bulbar", "cervical", "lumbosacral")[i % 3]
    lp = -6.0 + i * 0.15
    return {
        "input_index": i,
        "knowledge_version": "test",
        "sex": ("female", "male")[i % 2],
        "onset_site": site,
        "age_at_onset_years": 45.0 + i,
        "diagnostic_delay_months": None if i % 5 == 0 else 6.0 + i % 7,
        "progression_rate": 0.1 * (i % 15),
        "alsfrs_r_slope": -0.1 * (i % 12),
        "kings_stage": ("1", "2", "3", "4A")[i % 4],
        "mitos_stage": i % 4,
        "kings_stage_at_diagnosis": ("1", "2", None)[i % 3],
        "mitos_stage_at_diagnosis": i % 2,
        "gold_coast_met": (True, False, None)[i % 3],
        "el_escorial_category": ("definite", "probable", "possible", None)[i % 4],
        "awaji_category": ("definite", "probable", "not_met")[i % 3],
        "encals_applicable": i % 6 != 5,
        "encals_linear_predictor": lp,
        "encals_survival_12": 0.99 - i * 0.004,
        "encals_survival_24": 0.9 - i * 0.015,
        "encals_survival_36": 0.75 - i * 0.02,
        "endpoint_reached": i % 3 != 2,
        "survival_months": 70.0 - i * 1.9 + (i % 4) * 3.0,
    }


def _summary(rows: list[dict[str, Any]], kb: KnowledgeBase) -> dict[str, Any]:
    connection = duckdb.connect(":memory:")
    try:
        connection.register("source", pa.Table.from_pylist(rows, schema=ANALYTICS_SCHEMA))
        connection.execute("CREATE TABLE assessments AS SELECT * FROM source")

        def query(sql: str) -> list[dict[str, Any]]:
            cursor = connection.execute(sql)
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

        return summarise(query, survival=fetch_survival(query), kb=kb)
    finally:
        connection.close()


@pytest.fixture(scope="module")
def summary(kb: KnowledgeBase) -> dict[str, Any]:
    return _summary([_row(i) for i in range(30)], kb)


@pytest.fixture(scope="module")
def html(summary: dict[str, Any]) -> str:
    return render_report(summary, title="Registry & cohort, as of 2025-02-01")


def test_render_report_has_every_section_with_n_and_missing(html: str) -> None:
    for section in _SECTIONS:
        assert f'<section id="{section}">' in html
    assert "<title>Registry &amp; cohort, as of 2025-02-01</title>" in html
    # King's stage at diagnosis is missing for every third patient: 20 used, 10 missing
    assert "n = 20 used, 10 missing" in html
    assert "Number at risk" in html
    assert "Log-rank test across the groups: χ² = " in html
    assert "Harrell&#39;s C-index" in html
    assert "could not be verified" in html


def test_render_report_marks_unverified_band_limits(
    html: str, summary: dict[str, Any], kb: KnowledgeBase
) -> None:
    assert summary["numbers"]["progression_rate"]["bands"]["verified"] is False
    assert not kb.scoring.progression_bands.verified
    assert "ΔFS bands [unverified]" in html
    assert "band limits (unverified)" in html


def test_render_report_words_vocabulary_values(html: str) -> None:
    assert '<th scope="row">Lumbosacral</th>' in html
    assert '<th scope="row">Clinically definite</th>' in html
    assert '<th scope="row">Met</th>' in html
    assert "lumbosacral</th>" not in html


def test_render_report_charts_are_svg_that_parse_and_share_a_page(html: str) -> None:
    svgs = _SVG.findall(html)

    assert len(svgs) == len(_CHARTS)
    for name, svg in zip(_CHARTS, svgs, strict=True):
        root = ET.fromstring(svg)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert root.get("aria-labelledby") == f"{name}-caption"
        texts = "".join(root.itertext())
        assert texts.strip()  # the labels are text, not glyph paths
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))
    references = set(re.findall(r"url\(#([^)]+)\)", html))
    assert references
    assert references <= set(ids)


def test_render_report_chart_labels_with_units(html: str) -> None:
    charts = dict(zip(_CHARTS, _SVG.findall(html), strict=True))

    def text(name: str) -> str:
        return "".join(ET.fromstring(charts[name]).itertext())

    assert "Months from symptom onset" in text("km-onset_site")
    assert "Bulbar" in text("km-onset_site")
    assert "ΔFS (points/month)" in text("histogram-progression_rate")
    assert "Predicted event-free survival" in text("calibration")


def test_render_report_self_contained(html: str) -> None:
    assert "<script" not in html
    assert "<link" not in html
    assert " src=" not in html
    outside = set(re.findall(r"https?://[^\"' )]+", html))
    assert outside <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


def test_render_report_escapes_text_from_the_rows(kb: KnowledgeBase) -> None:
    rows = [_row(i) | {"onset_site": "<script>x</script>"} for i in range(6)]
    html = render_report(_summary(rows, kb), title="<b>t</b>")

    assert "<script" not in html
    assert "<b>t</b>" not in html
    for svg in _SVG.findall(html):
        ET.fromstring(svg)


def test_render_report_same_bytes_in_another_process(summary: dict[str, Any], html: str) -> None:
    assert render_report(summary, title="Registry & cohort, as of 2025-02-01") == html
    program = (
        "import json, sys\n"
        "from alscare.cohort.report import render_report\n"
        "summary = json.loads(sys.stdin.read())\n"
        "sys.stdout.write(render_report(summary, title='Registry & cohort, as of 2025-02-01'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        input=summary_json(summary),
        capture_output=True,
        text=True,
        check=True,
        env=os.environ | {"PYTHONHASHSEED": "12345"},
    )
    assert done.stdout == html


def test_render_report_empty_cohort(kb: KnowledgeBase) -> None:
    html = render_report(_summary([], kb), title="Empty")

    for section in _SECTIONS:
        assert f'<section id="{section}">' in html
    assert "No patient has both a survival time and a known onset site" in html
    # the histograms stay, empty; no curve or calibration chart is drawn without patients
    assert len(_SVG.findall(html)) == 2


def test_render_report_summary_round_trip_through_json(summary: dict[str, Any], html: str) -> None:
    # the report reads summary.json as written: the same page from the parsed file
    title = "Registry & cohort, as of 2025-02-01"
    assert render_report(json.loads(summary_json(summary)), title=title) == html
