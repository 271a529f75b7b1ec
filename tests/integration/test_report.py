"""The clinic letter: HTML sections, numbered sources with full citations, escaping, the PDF
(WeasyPrint, checked with poppler when installed) and ``alscare report`` on the command line."""

from __future__ import annotations

import datetime as dt
import html
import re
import shutil
import subprocess

import pytest
from typer.testing import CliRunner

from alscare import Assessment, KnowledgeBase, assess
from alscare.cli.app import app
from alscare.plots import fvc_reference_lines
from alscare.report import render_html, render_pdf
from alscare.schemas.assessment import (
    Alert,
    AlsfrsScore,
    Criteria,
    DifferentialResult,
    EncalsInputs,
    EncalsPrognosis,
    GoldCoastResult,
    InvestigationPlanItem,
    KingsClinicalResult,
    KingsResult,
    MitosResult,
    Prognosis,
    Recommendation,
    RegionStatus,
    Scores,
    Staging,
)
from alscare.schemas.vocabulary import (
    Action,
    DifferentialLevel,
    InvestigationStatus,
    KingsClinicalStage,
    KingsStage,
    Region,
    Severity,
)
from tests.builders import make_record
from tests.conftest import RECORDS, example

AS_OF = dt.date(2025, 2, 1)
SECTIONS = (
    "summary",
    "alerts",
    "scores",
    "staging",
    "criteria",
    "prognosis",
    "differential",
    "investigations",
    "recommendations",
    "charts",
    "sources",
    "disclaimer",
)


def _full_assessment(kb: KnowledgeBase) -> Assessment:
    """A hand-written assessment with every part filled, citing real sources of the kb."""
    first, second, third = (source.id for source in kb.sources[:3])
    one, two = kb.treatment.groups[:2]
    return Assessment(
        patient_id="P-0001",
        as_of=AS_OF,
        knowledge_version=kb.version,
        scores=Scores(
            alsfrs_r=AlsfrsScore(
                date=dt.date(2024, 12, 20),
                total=33,
                bulbar=11,
                fine_motor=4,
                gross_motor=7,
                respiratory=11,
                item_5="5a",
            ),
            progression_rate=0.99,
            fvc_percent_predicted=77,
            because=("ALSFRS-R 33 on 2024-12-20",),
            sources=(second,),
        ),
        staging=Staging(
            kings=KingsResult(
                stage=KingsStage.STAGE_3, method="alsfrs_r", because=("three regions",)
            )
        ),
        criteria=Criteria(
            gold_coast=GoldCoastResult(met=True, because=("UMN and LMN signs in cervical",))
        ),
        prognosis=Prognosis(
            encals=EncalsPrognosis(
                linear_predictor=-4.68,
                median_survival_months=38.1,
                survival={"12": 0.98, "60": 0.18},
                inputs=EncalsInputs(age_at_onset_years=60.0, bulbar_onset=False),
                sources=(third,),
            )
        ),
        differentials=(
            DifferentialResult(
                id="multifocal_motor_neuropathy",
                level=DifferentialLevel.CONSIDER,
                tests=("anti_gm1_antibodies",),
                because=("conduction block <on NCS> & weakness",),
                sources=(first,),
            ),
        ),
        investigations=(
            InvestigationPlanItem(
                id="vitamin_b12",
                status=InvestigationStatus.DONE,
                reason="389 pg/mL on 2024-04-02",
                sources=(first,),
            ),
        ),
        recommendations=(
            Recommendation(
                id=one.steps[0].id,
                group=one.id,
                action=Action.CONTINUE,
                strength="strong",
                because=("riluzole since 2024-06-20",),
                sources=(third, first),
            ),
            Recommendation(
                id=two.steps[0].id,
                group=two.id,
                action=Action.CONSIDER,
                strength="conditional",
                because=("FVC 77 % predicted on 2024-12-20",),
                sources=(second,),
            ),
        ),
        alerts=(
            Alert(
                id="niv_indicated",
                severity=Severity.HIGH,
                because=("FVC 77 % predicted with orthopnoea",),
                sources=(first,),
            ),
        ),
        missing=("thoracic examination",),
        ignored=("alsfrs_r rating of 2025-03-01 is after as_of",),
    )


@pytest.fixture(scope="module")
def full_html(kb: KnowledgeBase) -> str:
    return render_html(example("P-0001-limb-onset"), _full_assessment(kb), kb)


def _section(page: str, name: str) -> str:
    """A top-level section's markup: from its opening tag to the next section, or the end."""
    match = re.search(
        rf'<(?:section|footer) id="{name}">(.*?)(?=<section id=|<footer id=|</main>|</body>)',
        page,
        re.S,
    )
    assert match, f"no section {name}"
    return match.group(1)


def _cited_ids(assessment: Assessment) -> set[str]:
    data = assessment.model_dump(mode="json")
    found: set[str] = set()

    def visit(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "sources" and isinstance(value, list):
                    found.update(value)
                else:
                    visit(value)
        elif isinstance(node, list):
            for item in node:
                visit(item)

    visit(data)
    return found


@pytest.mark.parametrize("path", sorted(RECORDS.glob("*.json")), ids=lambda p: p.stem)
def test_render_html_engine_assessment_has_every_section(kb, path):
    record = example(path.stem)
    page = render_html(record, assess(record, as_of=AS_OF, kb=kb), kb)
    for name in SECTIONS:
        assert f'id="{name}"' in page
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page
    assert page.count("<svg") == 2


def test_render_html_engine_assessment_cites_every_source_in_full(kb):
    record = example("P-0001-limb-onset")
    assessment = assess(record, as_of=AS_OF, kb=kb)
    sources = _section(render_html(record, assessment, kb), "sources")
    for source_id in _cited_ids(assessment):
        assert html.escape(kb.source(source_id).citation, quote=False) in sources


def test_render_html_header_names_patient_date_and_knowledge_version(kb, full_html):
    header = full_html.split("<main>")[0]
    for text in ("P-0001", "female", "63 years (born 1961-09-14)", "EU", "2025-02-01"):
        assert f"<dd>{text}</dd>" in header
    assert f"<dd>{kb.version}</dd>" in header


def test_render_html_summary_states_scores_stage_and_counts(full_html):
    summary = _section(full_html, "summary")
    assert "63-year-old woman" in summary
    assert "33/48" in summary
    assert "King&#39;s stage 3" in summary
    assert "Gold Coast criteria are met" in summary
    assert "1 alert (NIV indicated)" in summary


def test_render_html_alerts_come_before_scores(full_html):
    assert full_html.index('id="alerts"') < full_html.index('id="scores"')
    alerts = _section(full_html, "alerts")
    assert "NIV indicated" in alerts
    assert "high priority" in alerts
    assert "FVC 77 % predicted with orthopnoea" in alerts


def test_render_html_sources_numbered_in_order_of_first_citation(kb, full_html):
    first, second, third = (source.id for source in kb.sources[:3])
    listing = _section(full_html, "sources")
    numbers = dict(re.findall(r'<li id="source-(\d+)" value="\d+">(.*?)</li>', listing, re.S))
    expected = {"1": first, "2": second, "3": third}  # alert, scores, prognosis
    for number, source_id in expected.items():
        assert numbers[number].startswith(html.escape(kb.source(source_id).citation, quote=False))
    chart = {source for line in fvc_reference_lines(kb) for source in line.sources}
    assert len(numbers) == len({first, second, third} | chart)


def test_render_html_source_links_use_doi_pmid_or_url(kb, full_html):
    listing = _section(full_html, "sources")
    for source in kb.sources[:3]:
        if source.doi:
            assert f"https://doi.org/{source.doi}" in listing
        if source.pmid:
            assert f"https://pubmed.ncbi.nlm.nih.gov/{source.pmid}/" in listing
        if source.url:
            assert html.escape(source.url) in listing


def test_render_html_recommendations_grouped_with_action_strength_and_refs(kb, full_html):
    section = _section(full_html, "recommendations")
    one, two = kb.treatment.groups[:2]
    order = [section.index(f"<h3>{html.escape(text)}</h3>") for text in (one.label, two.label)] + [
        section.index(f"<h4>{html.escape(one.steps[0].label)} ")
    ]
    assert order[0] < order[2] < order[1]  # the first step sits under its group heading
    assert "continue" in section
    assert "strength: strong" in section
    assert "strength: conditional" in section
    first_item = section[order[2] : order[1]]
    assert re.search(r'href="#source-1".*href="#source-3"', first_item)  # sorted by number


def test_render_html_differential_and_plan_shown_with_tests(full_html):
    differential = _section(full_html, "differential")
    assert "Multifocal motor neuropathy" in differential
    assert "GM1 antibodies" in differential
    plan = _section(full_html, "investigations")
    assert "Vitamin B12" in plan
    assert "389 pg/mL on 2024-04-02" in plan


def test_render_html_prognosis_shows_median_survival_table_and_caveat(full_html):
    prognosis = _section(full_html, "prognosis")
    assert "median survival 38.1 months from symptom onset" in prognosis
    assert "98 %" in prognosis
    assert "18 %" in prognosis
    assert "Caveat" in prognosis
    assert "not available" in prognosis  # inputs that were not given


def test_render_html_escapes_assessment_text(full_html):
    assert "conduction block &lt;on NCS&gt; &amp; weakness" in full_html
    assert "<on NCS>" not in full_html


def test_render_html_lists_missing_and_ignored(full_html):
    data = _section(full_html, "data")
    assert "thoracic examination" in data
    assert "alsfrs_r rating of 2025-03-01 is after as_of" in data


def test_render_html_ends_with_disclaimer(kb, full_html):
    disclaimer = _section(full_html, "disclaimer")
    assert html.escape(kb.about.disclaimer, quote=False) in disclaimer
    assert full_html.index('id="sources"') < full_html.index('id="disclaimer"')


def test_render_html_charts_stop_at_as_of(kb):
    record = example("P-0001-limb-onset")
    early = dt.date(2024, 10, 1)
    page = render_html(record, assess(record, as_of=early, kb=kb), kb)
    charts = _section(page, "charts")
    assert "2024-09-18" in charts
    assert "2024-12-20" not in charts


def test_render_html_same_input_same_text(kb):
    record = example("P-0002-bulbar-onset")
    assessment = assess(record, as_of=AS_OF, kb=kb)
    assert render_html(record, assessment, kb) == render_html(record, assessment, kb)


def test_render_pdf_prints_a4_pages(tmp_path, full_html):
    pdf = render_pdf(full_html)
    assert pdf.startswith(b"%PDF")
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    if shutil.which("pdftoppm") is None or shutil.which("pdfinfo") is None:
        pytest.skip("poppler-utils (pdftoppm) is not installed: run scripts/system-deps")
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True)
    assert re.search(r"Page size:\s+595.* x 841.* pts \(A4\)", info.stdout)
    subprocess.run(
        ["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "1", str(path), str(tmp_path / "page")],
        check=True,
    )
    page = next(tmp_path.glob("page*.png"))
    assert page.read_bytes().startswith(b"\x89PNG")
    assert page.stat().st_size > 2000


def test_render_pdf_text_has_page_numbers_and_sources(tmp_path, kb, full_html):
    path = tmp_path / "report.pdf"
    path.write_bytes(render_pdf(full_html))
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: run scripts/system-deps")
    done = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    )
    text = " ".join(done.stdout.split())
    pages = re.findall(r"Page (\d+) of (\d+)", text)
    assert pages and pages[0] == ("1", pages[0][1])
    assert "P-0001" in text
    assert " ".join(kb.about.disclaimer.split())[:60] in text


def test_render_html_empty_assessment_says_what_is_not_available(kb):
    empty = Assessment(patient_id="T-1", as_of=AS_OF, knowledge_version=kb.version)
    page = render_html(make_record(), empty, kb)
    header = page.split("<main>")[0]
    assert header.count("<dd>not recorded</dd>") == 3  # sex, age, jurisdiction
    summary = _section(page, "summary")
    assert "T-1 is a person." in summary
    assert "cannot be decided" in summary
    assert "There are no alerts and no recommendations." in summary
    assert "No alerts." in _section(page, "alerts")
    assert "not available" in _section(page, "scores")
    assert "not computed" in _section(page, "prognosis")
    assert "No ALSFRS-R ratings recorded" in page
    assert "No FVC measurements recorded" in page
    assert "No recommendations." in page
    assert 'id="data"' not in page


def test_render_html_summary_counts_alerts_and_unknown_source_named(kb):
    record = make_record(sex="male", age_years=70, symptom_onset={"date": "2026-01-01"})
    assessment = Assessment(
        patient_id="T-1",
        as_of=AS_OF,
        knowledge_version=kb.version,
        criteria=Criteria(gold_coast=GoldCoastResult(met=False)),
        staging=Staging(
            kings_clinical=KingsClinicalResult(stage=KingsClinicalStage.STAGE_2A),
            mitos=MitosResult(stage=1),
        ),
        regions={Region.BULBAR: RegionStatus(umn=None, lmn=False)},
        alerts=(
            Alert(id="rapid_progression", severity=Severity.MEDIUM, sources=("no_such_source",)),
            Alert(id="mimic_suspected", severity=Severity.LOW),
        ),
        recommendations=(
            Recommendation(id="dietitian", group="nutrition", action=Action.REFER, strength="x"),
        ),
    )
    page = render_html(record, assessment, kb)
    summary = _section(page, "summary")
    assert "T-1 is a 70-year-old man." in summary
    assert "MiToS stage 1." in summary
    assert "Gold Coast criteria are not met" in summary
    assert "There are 2 alerts (" in summary
    assert "1 recommendation follows." in summary
    assert "no_such_source (not in the knowledge base)" in _section(page, "sources")
    staging = _section(page, "staging")
    assert "2A" in staging
    assert "not known" in _section(page, "criteria")


# The command line ------------------------------------------------------------------------------

runner = CliRunner()
RECORD = str(RECORDS / "P-0001-limb-onset.json")


def test_cli_report_html_written(tmp_path):
    out = tmp_path / "report.html"
    result = runner.invoke(app, ["report", RECORD, "--as-of", "2025-02-01", "-o", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert "P-0001" in page
    assert 'id="sources"' in page


def test_cli_report_as_of_today_accepted(tmp_path):
    out = tmp_path / "report.html"
    result = runner.invoke(app, ["report", RECORD, "--as-of", "today", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "<dd>P-0001</dd>" in out.read_text(encoding="utf-8")


def test_cli_report_pdf_chosen_by_suffix(tmp_path):
    out = tmp_path / "report.PDF"
    result = runner.invoke(app, ["report", RECORD, "--as-of", "2025-02-01", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")


def test_cli_report_bad_record_one_line_per_problem_exit_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"id": "no spaces", "sex": "robot"}', encoding="utf-8")
    out = tmp_path / "report.html"
    result = runner.invoke(app, ["report", str(bad), "--as-of", "2025-02-01", "-o", str(out)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2
    assert any(line.startswith(f"{bad}: /id: ") for line in lines)
    assert any(line.startswith(f"{bad}: /sex: unknown id 'robot'") for line in lines)
    assert not out.exists()


def test_cli_report_malformed_json_exit_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    result = runner.invoke(
        app, ["report", str(bad), "--as-of", "2025-02-01", "-o", str(tmp_path / "r.html")]
    )
    assert result.exit_code == 2
    assert "malformed JSON" in result.stderr


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--as-of", "2025-02-01", "-o", "report.txt"], "must end in .html or .pdf"),
        (["--as-of", "2025-02-30", "-o", "report.html"], "is not a date"),
        (["--as-of", "yesterday", "-o", "report.html"], "is not a date"),
    ],
)
def test_cli_report_bad_option_exit_2(tmp_path, arguments, message):
    result = runner.invoke(app, ["report", RECORD, *arguments])
    assert result.exit_code == 2
    assert message in result.output


def test_cli_report_missing_record_file_exit_2(tmp_path):
    missing = tmp_path / "none.json"
    result = runner.invoke(
        app, ["report", str(missing), "--as-of", "2025-02-01", "-o", str(tmp_path / "r.html")]
    )
    assert result.exit_code == 2
    assert f"{missing}: cannot read the record" in result.stderr


def test_cli_report_unwritable_output_exit_1(tmp_path):
    out = tmp_path / "no-such-folder" / "report.html"
    result = runner.invoke(app, ["report", RECORD, "--as-of", "2025-02-01", "-o", str(out)])
    assert result.exit_code == 1
    assert "cannot write" in result.stderr


def test_render_html_fvc_chart_draws_and_cites_the_kb_niv_thresholds(kb, full_html):
    lines = fvc_reference_lines(kb)
    charts = _section(full_html, "charts")
    assert lines
    assert charts.count('class="reference-line"') == len(lines)
    caption = charts.split("<figcaption>")[-1]
    assert "FVC thresholds for NIV" in caption
    assert 'href="#source-' in caption
