"""The SVG charts of a record v2: well-formed, accessible, escaped, deterministic, and cut at
as_of; a rating with unrated items has no total and is named, not plotted."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st

from alscare.plots import (
    FVC_REFERENCE_THRESHOLDS,
    ReferenceLine,
    alsfrs_r_chart,
    fvc_chart,
    fvc_reference_lines,
)
from tests.builders import make_record_v2, rating
from tests.conftest import example

SVG = "{http://www.w3.org/2000/svg}"
AS_OF = dt.date(2025, 2, 1)
LINES = (ReferenceLine(80, "eighty line"), ReferenceLine(50, "fifty line"))


def _example(name: str = "P-0001-limb-onset"):
    return example(name, version=2)


def _rated(date: str | dt.date, *, gastrostomy: bool = False, **items: int | None):
    """An ALSFRS-R rating of record v2 (every item 4 unless given)."""
    return rating(date, gastrostomy=gastrostomy, **items)


def _parsed(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def _desc(svg: str) -> str:
    element = _parsed(svg).find(f"{SVG}desc")
    assert element is not None and element.text
    return element.text


def _circle_titles(svg: str) -> list[str]:
    return [title.text or "" for title in _parsed(svg).iter(f"{SVG}title")][1:]


def test_alsfrs_r_chart_example_lists_every_total_in_desc():
    svg = alsfrs_r_chart(_example(), AS_OF)
    desc = _desc(svg)
    assert "3 ratings up to 2025-02-01" in desc
    assert "2024-06-12: 41 of 48" in desc
    assert "2024-12-20: 33 of 48" in desc


def test_alsfrs_r_chart_is_accessible_image_with_title_and_desc():
    root = _parsed(alsfrs_r_chart(_example(), AS_OF))
    assert root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and desc is not None
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert title.text == "ALSFRS-R total over time, patient P-0001"


def test_alsfrs_r_chart_axis_labelled_0_to_48():
    svg = alsfrs_r_chart(_example(), AS_OF)
    texts = [t.text for t in _parsed(svg).iter(f"{SVG}text")]
    ticks = ["0", "12", "24", "36", "48"]
    assert [t for t in texts if t in ticks] == ticks
    assert "ALSFRS-R total" in texts
    assert "Date" in texts


def test_alsfrs_r_chart_rating_after_as_of_not_plotted():
    svg = alsfrs_r_chart(_example(), dt.date(2024, 10, 1))
    assert "2024-12-20" not in svg
    assert len(_circle_titles(svg)) == 2


def test_alsfrs_r_chart_no_ratings_says_so():
    svg = alsfrs_r_chart(make_record_v2(), AS_OF)
    assert "No ALSFRS-R ratings recorded up to 2025-02-01." in _desc(svg)
    assert "<circle" not in svg


def test_alsfrs_r_chart_all_ratings_after_as_of_says_none_recorded():
    svg = alsfrs_r_chart(_example(), dt.date(2024, 1, 1))
    assert "No ALSFRS-R ratings recorded" in svg


def test_alsfrs_r_chart_same_input_same_string():
    record = _example("P-0002-bulbar-onset")
    assert alsfrs_r_chart(record, AS_OF) == alsfrs_r_chart(record, AS_OF)


def test_alsfrs_r_chart_record_order_changes_nothing():
    ratings = [_rated("2024-01-10", walking=2), _rated("2024-04-10", walking=1)]
    forward = make_record_v2(alsfrs_r=ratings)
    backward = make_record_v2(alsfrs_r=list(reversed(ratings)))
    assert alsfrs_r_chart(forward, AS_OF) == alsfrs_r_chart(backward, AS_OF)


def test_alsfrs_r_chart_points_run_left_to_right_in_date_order():
    record = make_record_v2(alsfrs_r=[_rated("2024-06-01", speech=0), _rated("2024-01-01")])
    points = _parsed(alsfrs_r_chart(record, AS_OF)).find(f".//{SVG}polyline")
    assert points is not None
    xs = [float(pair.split(",")[0]) for pair in (points.get("points") or "").split()]
    ys = [float(pair.split(",")[1]) for pair in (points.get("points") or "").split()]
    assert xs == sorted(xs)
    assert ys[0] < ys[1]  # 48 is drawn higher (smaller y) than 44


def test_alsfrs_r_chart_gastrostomy_rating_noted_as_item_5b():
    record = make_record_v2(alsfrs_r=[_rated("2024-06-01", gastrostomy=True)])
    assert "2024-06-01: 48 (item 5b)" in _circle_titles(alsfrs_r_chart(record, AS_OF))


def test_alsfrs_r_chart_rating_with_unrated_items_named_not_plotted():
    ratings = [_rated("2024-03-01", walking=3), _rated("2024-06-01", orthopnea=None, dyspnea=None)]
    svg = alsfrs_r_chart(make_record_v2(alsfrs_r=ratings), AS_OF)
    assert _circle_titles(svg) == ["2024-03-01: 47"]
    assert "Not plotted, items not rated: 2024-06-01 (dyspnea, orthopnea)." in _desc(svg)


def test_alsfrs_r_chart_only_unrated_ratings_says_none_complete():
    record = make_record_v2(alsfrs_r=[_rated("2024-06-01", speech=None)])
    svg = alsfrs_r_chart(record, AS_OF)
    assert "<circle" not in svg
    assert _desc(svg) == (
        "No ALSFRS-R rating with every item rated up to 2025-02-01. Not plotted, items not "
        "rated: 2024-06-01 (speech)."
    )


def _milestone_labels(svg: str) -> list[str]:
    return [
        text.text or ""
        for group in _parsed(svg).iter(f"{SVG}g")
        if group.get("class") == "milestone"
        for text in group.iter(f"{SVG}text")
    ]


def test_charts_mark_interventions_started_or_stopped_and_death_up_to_as_of():
    """An offer is no milestone; what comes after as_of is not drawn."""
    record = make_record_v2(
        alsfrs_r=[_rated("2024-01-10"), _rated("2024-09-10", walking=1)],
        respiratory=[{"date": "2024-01-10", "fvc_percent_predicted": 70}],
        interventions=[
            {"kind": "niv", "event": "offered", "date": "2024-02-01"},
            {"kind": "niv", "event": "started", "date": "2024-03-01", "hours_per_day": 8},
            {"kind": "cough_assist", "event": "started", "date": "2024-04-01"},
            {"kind": "niv", "event": "stopped", "date": "2024-08-01"},
            {"kind": "gastrostomy", "event": "started", "date": "2024-09-20"},
        ],
        death={"date": "2024-10-01"},
    )
    on = dt.date(2024, 9, 30)  # before death and after the gastrostomy: both would count
    expected = ["NIV started", "cough assist started", "NIV stopped", "gastrostomy started"]
    for svg in (alsfrs_r_chart(record, on), fvc_chart(record, on, reference_lines=())):
        assert _milestone_labels(svg) == expected
        assert _desc(svg).endswith(
            " Events: 2024-03-01: NIV started; 2024-04-01: cough assist started; 2024-08-01: "
            "NIV stopped; 2024-09-20: gastrostomy started."
        )
    after_death = alsfrs_r_chart(record, dt.date(2024, 10, 1))
    assert _milestone_labels(after_death) == [*expected, "death"]


def test_charts_milestone_drawn_at_its_date_inside_the_axis():
    example_record = _example("P-0004-sod1-late")
    svg = alsfrs_r_chart(example_record, AS_OF)
    assert _milestone_labels(svg) == ["NIV started", "gastrostomy started"]
    points = _parsed(svg).find(f".//{SVG}polyline")
    assert points is not None
    xs = [float(pair.split(",")[0]) for pair in (points.get("points") or "").split()]
    lines = [
        float(line.get("x1") or 0)
        for group in _parsed(svg).iter(f"{SVG}g")
        if group.get("class") == "milestone"
        for line in group.iter(f"{SVG}line")
    ]
    assert xs[2] < lines[0] < lines[1] < xs[3]  # between the ratings of 2024-02 and 2024-08


def test_charts_milestone_before_the_first_measurement_widens_the_axis():
    record = make_record_v2(
        respiratory=[{"date": "2024-06-01", "fvc_percent_predicted": 60}],
        interventions=[{"kind": "niv", "event": "started", "date": "2023-01-01"}],
    )
    texts = [t.text for t in _parsed(fvc_chart(record, AS_OF, reference_lines=())).iter()]
    assert "Jan 2023" in texts


def test_charts_without_milestones_draw_and_list_none():
    svg = fvc_chart(_example(), AS_OF, reference_lines=())
    assert 'class="milestone"' not in svg
    assert "Events:" not in _desc(svg)


def test_alsfrs_r_chart_many_ratings_drop_value_labels():
    ratings = [_rated(dt.date(2023, 1, 1) + dt.timedelta(days=30 * i)) for i in range(20)]
    svg = alsfrs_r_chart(make_record_v2(alsfrs_r=ratings), AS_OF)
    assert len(_circle_titles(svg)) == 20
    assert not re.search(r">48</text>", svg.split('class="series"')[1])


def test_alsfrs_r_chart_long_course_ticks_years():
    ratings = [_rated("2019-03-01"), _rated("2024-03-01")]
    texts = [
        t.text for t in _parsed(alsfrs_r_chart(make_record_v2(alsfrs_r=ratings), AS_OF)).iter()
    ]
    assert "2020" in texts
    assert not any(text and text.startswith("Jan ") for text in texts)


def test_alsfrs_r_chart_single_rating_on_as_of_has_readable_axis():
    svg = alsfrs_r_chart(make_record_v2(alsfrs_r=[_rated("2025-02-01")]), AS_OF)
    ET.fromstring(svg)
    assert "1 rating up to" in _desc(svg)
    assert re.search(r">(Dec 2024|Jan 2025|Feb 2025)</text>", svg)


def test_fvc_chart_draws_reference_lines_with_labels():
    svg = fvc_chart(_example(), AS_OF, reference_lines=LINES)
    assert "80 %: eighty line" in svg
    assert "50 %: fifty line" in svg
    assert "Reference line at 50 %: fifty line." in _desc(svg)


def test_fvc_chart_reference_line_drawn_at_its_value():
    svg = fvc_chart(_example(), AS_OF, reference_lines=LINES)
    root = _parsed(svg)
    grid = {t.text: float(t.get("y") or 0) - 4 for t in root.iter(f"{SVG}text") if t.text == "80"}
    lines = [
        g.find(f"{SVG}line") for g in root.iter(f"{SVG}g") if g.get("class") == "reference-line"
    ]
    assert lines[0] is not None
    assert float(lines[0].get("y1") or 0) == grid["80"]


def test_fvc_chart_without_reference_lines_draws_none():
    svg = fvc_chart(_example(), AS_OF, reference_lines=())
    assert "reference-line" not in svg
    assert "2024-12-20: 77 %" in _desc(svg)


def test_fvc_chart_axis_0_to_120():
    svg = fvc_chart(_example(), AS_OF, reference_lines=())
    texts = {t.text for t in _parsed(svg).iter(f"{SVG}text")}
    assert {"0", "20", "40", "60", "80", "100", "120", "FVC % predicted"} <= texts
    assert "140" not in texts


def test_fvc_chart_value_above_120_extends_axis():
    record = make_record_v2(respiratory=[{"date": "2024-05-01", "fvc_percent_predicted": 131}])
    texts = {t.text for t in _parsed(fvc_chart(record, AS_OF, reference_lines=())).iter()}
    assert "140" in texts


def test_fvc_chart_supine_series_dashed_with_legend():
    record = make_record_v2(
        respiratory=[
            {"date": "2024-05-01", "fvc_percent_predicted": 82, "supine_fvc_percent_predicted": 70}
        ]
    )
    svg = fvc_chart(record, AS_OF, reference_lines=())
    assert 'class="legend"' in svg
    assert "Supine FVC in % of predicted at 1 measurement" in _desc(svg)
    assert "2024-05-01: Supine FVC 70 (supine)" in _circle_titles(svg)


def test_fvc_chart_measurement_after_as_of_not_plotted():
    svg = fvc_chart(_example(), dt.date(2024, 7, 1), reference_lines=())
    assert "2024-09-18" not in svg
    assert "1 measurement up to 2024-07-01" in _desc(svg)


def test_fvc_chart_no_fvc_values_says_so():
    record = make_record_v2(respiratory=[{"date": "2024-05-01", "snip_cmh2o": 50}])
    svg = fvc_chart(record, AS_OF, reference_lines=LINES)
    assert "No FVC measurements recorded up to 2025-02-01." in svg
    assert "reference-line" not in svg


def test_fvc_chart_escapes_caller_text():
    lines = (ReferenceLine(50, '<script>alert("x")</script> & more'),)
    svg = fvc_chart(_example(), AS_OF, reference_lines=lines)
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    ET.fromstring(svg)


def test_charts_fractional_value_printed_with_one_decimal():
    record = make_record_v2(respiratory=[{"date": "2024-05-01", "fvc_percent_predicted": 77.25}])
    assert "2024-05-01: 77.2 %" in _desc(fvc_chart(record, AS_OF, reference_lines=()))


def test_charts_ids_differ_between_charts_and_patients():
    one, two = _example(), _example("P-0002-bulbar-onset")
    ids = [
        _parsed(svg).get("aria-labelledby")
        for svg in (
            alsfrs_r_chart(one, AS_OF),
            fvc_chart(one, AS_OF, reference_lines=()),
            alsfrs_r_chart(two, AS_OF),
        )
    ]
    assert len(set(ids)) == 3


_dates = st.dates(min_value=dt.date(2015, 1, 1), max_value=dt.date(2026, 12, 31))


def _plotted_dates(svg: str) -> list[dt.date]:
    return [
        dt.date.fromisoformat((title.text or "")[:10])
        for circle in ET.fromstring(svg).iter(f"{SVG}circle")
        for title in circle.iter(f"{SVG}title")
    ]


@given(
    ratings=st.lists(st.tuples(_dates, st.booleans()), max_size=8),
    fvc=st.lists(st.tuples(_dates, st.floats(min_value=0, max_value=200)), max_size=8),
    as_of=_dates,
)
def test_charts_any_series_plot_exactly_the_complete_entries_up_to_as_of(ratings, fvc, as_of):
    record = make_record_v2(
        alsfrs_r=[_rated(day, speech=4 if complete else None) for day, complete in ratings],
        respiratory=[{"date": str(day), "fvc_percent_predicted": value} for day, value in fvc],
    )
    alsfrs = alsfrs_r_chart(record, as_of)
    fvc_svg = fvc_chart(record, as_of, reference_lines=LINES)
    complete_dates = sorted(day for day, complete in ratings if complete and day <= as_of)
    assert sorted(_plotted_dates(alsfrs)) == complete_dates
    assert sorted(_plotted_dates(fvc_svg)) == sorted(d for d, _ in fvc if d <= as_of)
    assert alsfrs == alsfrs_r_chart(record, as_of)
    assert fvc_svg == fvc_chart(record, as_of, reference_lines=LINES)


def test_fvc_reference_lines_are_the_kb_niv_thresholds(kb):
    lines = fvc_reference_lines(kb)
    expected = [kb.rules.threshold_by_id[item] for item in FVC_REFERENCE_THRESHOLDS]
    assert [line.value for line in lines] == [threshold.value for threshold in expected]
    assert [line.sources for line in lines] == [threshold.source_ids for threshold in expected]
    assert all(
        threshold.label in line.label for line, threshold in zip(lines, expected, strict=True)
    )


def test_fvc_reference_lines_missing_or_other_unit_left_out(kb):
    kept = kb.rules.threshold_by_id[FVC_REFERENCE_THRESHOLDS[0]]
    other_unit = kb.rules.threshold_by_id[FVC_REFERENCE_THRESHOLDS[1]].model_copy(
        update={"unit": "L"}
    )
    rules = kb.rules.model_copy(update={"thresholds": (kept, other_unit)})
    lines = fvc_reference_lines(kb.model_copy(update={"rules": rules}))
    assert [line.value for line in lines] == [kept.value]


def test_charts_of_dates_at_the_ends_of_the_calendar_stay_on_it():
    # The schema accepts any calendar date; the chart's margins must not fall off it.
    early = make_record_v2(
        alsfrs_r=[rating("0001-01-05", gastrostomy=False)],
        respiratory=[{"date": "0001-01-05", "fvc_percent_predicted": 80}],
    )
    late = make_record_v2(respiratory=[{"date": "9999-12-30", "fvc_percent_predicted": 80}])
    for chart in (
        alsfrs_r_chart(early, dt.date(1900, 1, 1)),
        fvc_chart(early, dt.date(1900, 1, 1), reference_lines=()),
        fvc_chart(late, dt.date(9999, 12, 31), reference_lines=()),
    ):
        ET.fromstring(chart)  # a whole, well-formed SVG
