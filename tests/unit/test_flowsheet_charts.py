"""The flowsheet's SVG charts (plots.flowsheet_chart): accessible images whose description
lists every value and every threshold, value axes fitted to the values and the thresholds,
unverified thresholds and stale values marked, and the same bytes for the same flowsheet."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

import pytest

from alscare import KnowledgeBase
from alscare.engine.flowsheet import flowsheet
from alscare.plots import FLOWSHEET_MEASURES, flowsheet_chart, threshold_lines
from alscare.schemas.flowsheet import Flowsheet
from tests.builders import make_record_v2
from tests.builders_v2 import ALS_BASE, rated, respiratory
from tests.conftest import example

SVG = "{http://www.w3.org/2000/svg}"
AS_OF = dt.date(2025, 2, 1)


@pytest.fixture(scope="module")
def sheet(kb: KnowledgeBase) -> Flowsheet:
    """P-0004 on AS_OF: four visits, the last six months old (stale)."""
    return flowsheet(example("P-0004-sod1-late", version=2), as_of=AS_OF, kb=kb)


def _root(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def _desc(svg: str) -> str:
    desc = _root(svg).find(f"{SVG}desc")
    assert desc is not None and desc.text
    return desc.text


def _ticks(svg: str) -> list[float]:
    axis = _root(svg).find(f"{SVG}g[@class='value-axis']")
    assert axis is not None
    labels = [text.text or "" for text in axis.iter(f"{SVG}text")][:-1]  # the last: axis name
    return [float(label) for label in labels]


@pytest.mark.parametrize("measure", FLOWSHEET_MEASURES)
def test_flowsheet_chart_is_an_accessible_image_named_by_measure_and_patient(
    sheet: Flowsheet, measure: str
) -> None:
    root = _root(flowsheet_chart(sheet, measure))
    assert root.get("role") == "img"
    title = root.find(f"{SVG}title")
    assert title is not None and title.text and title.text.endswith("over time, patient P-0004")
    ids = {element.get("id") for element in root if element.get("id")}
    assert set((root.get("aria-labelledby") or "").split()) == ids


def test_flowsheet_chart_description_lists_every_visit_value_and_threshold(
    sheet: Flowsheet,
) -> None:
    desc = _desc(flowsheet_chart(sheet, "fvc_percent_predicted"))
    for row in sheet.rows:
        assert f"{row.date}: {row.fvc_percent_predicted:g} % predicted" in desc
    for threshold in sheet.thresholds["fvc_percent_predicted"]:
        assert threshold.label in desc
    gastrostomy = "gastrostomy before breathing weakens further: below 50 % predicted"
    assert f"{gastrostomy} (placement risk rises) (unverified)" in desc
    assert "NIV, on FVC alone: below 50 % predicted." in desc  # verified: no mark


def test_flowsheet_chart_draws_unverified_thresholds_finer_and_says_so_in_the_key(
    sheet: Flowsheet,
) -> None:
    lines = threshold_lines(sheet, "fvc_percent_predicted")
    assert [line.verified for line in lines] == [False, True, False, True]  # unverified first
    groups = _root(flowsheet_chart(sheet, "fvc_percent_predicted")).iter(f"{SVG}g")
    drawn = [group for group in groups if group.get("class") == "reference-line"]
    assert len(drawn) == len(lines)
    for line, group in zip(lines, drawn, strict=True):
        dashes = {element.get("stroke-dasharray") for element in group.iter(f"{SVG}line")}
        assert dashes == ({"6 4"} if line.verified else {"2 3"})
        key = [text.text for text in group.iter(f"{SVG}text")][-1]
        assert key == line.key_text
        assert key is not None and key.endswith("(unverified)") is not line.verified


def test_flowsheet_chart_value_axis_fits_the_values_and_the_thresholds(sheet: Flowsheet) -> None:
    weight = _ticks(flowsheet_chart(sheet, "weight_kg"))  # 63 to 55 kg, no threshold
    assert weight[0] < 55 and weight[-1] > 63 and weight[0] >= 50 and weight[-1] <= 66
    fvc = _ticks(flowsheet_chart(sheet, "fvc_percent_predicted"))  # 86 to 41, lines at 80, 50
    assert fvc[0] < 41 and fvc[-1] > 86 and fvc[-1] <= 120
    snip = _ticks(flowsheet_chart(sheet, "snip_cmh2o"))  # 55 and 38, a line at 40
    assert snip[0] < 38 and snip[-1] > 55
    alsfrs_r = _ticks(flowsheet_chart(sheet, "alsfrs_r"))  # 41 to 20, never above 48
    assert alsfrs_r[0] < 20 and alsfrs_r[-1] <= 48


def test_flowsheet_chart_marks_the_latest_value_stale_only_when_the_assessment_does(
    sheet: Flowsheet, kb: KnowledgeBase
) -> None:
    stale = flowsheet_chart(sheet, "fvc_percent_predicted")
    assert stale.count('<circle class="stale"') == 1
    assert "The latest value is stale: respiratory function tests of 2024-08-01" in _desc(stale)
    snip = flowsheet_chart(sheet, "snip_cmh2o")  # last measured at an earlier visit: stale too
    assert snip.count('<circle class="stale"') == ("snip_cmh2o" in sheet.stale)
    record = example("P-0004-sod1-late", version=2)
    fresh = flowsheet(record, as_of=dt.date(2024, 9, 1), kb=kb)
    assert "stale" not in flowsheet_chart(fresh, "fvc_percent_predicted")


def test_flowsheet_chart_marks_the_record_s_milestones_when_given_the_record(
    sheet: Flowsheet,
) -> None:
    record = example("P-0004-sod1-late", version=2)
    desc = _desc(flowsheet_chart(sheet, "fvc_percent_predicted", record=record))
    assert re.search(r"Events: \d{4}-\d\d-\d\d: NIV started", desc)
    assert "Events:" not in _desc(flowsheet_chart(sheet, "fvc_percent_predicted"))


def test_flowsheet_chart_without_values_says_so(kb: KnowledgeBase) -> None:
    record = make_record_v2(**ALS_BASE, alsfrs_r=[rated("2024-06-01")])
    sheet = flowsheet(record, as_of=AS_OF, kb=kb)
    desc = _desc(flowsheet_chart(sheet, "snip_cmh2o"))
    assert desc == "No SNIP recorded up to 2025-02-01."


def test_flowsheet_chart_progression_rate_keeps_two_decimals(kb: KnowledgeBase) -> None:
    record = make_record_v2(
        **ALS_BASE,
        alsfrs_r=[rated("2024-06-01", walking=3), rated("2024-09-01", walking=2, speech=3)],
        respiratory=[respiratory("2024-06-01", fvc_percent_predicted=90)],
    )
    sheet = flowsheet(record, as_of=AS_OF, kb=kb)
    rates = [row.progression_rate for row in sheet.rows if row.progression_rate is not None]
    desc = _desc(flowsheet_chart(sheet, "progression_rate"))
    assert len(rates) == 2 and any(round(rate, 1) != rate for rate in rates)
    assert all(f"{rate:.2f}".rstrip("0").rstrip(".") + " points/month" in desc for rate in rates)


def test_flowsheet_chart_same_flowsheet_same_bytes(sheet: Flowsheet) -> None:
    assert flowsheet_chart(sheet, "bmi") == flowsheet_chart(sheet, "bmi")
