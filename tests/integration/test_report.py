"""The clinic letter: HTML sections, numbered sources with full citations, escaping, the fields
of the longitudinal record (dates and flags of the scores, the course, stage 5 after death, the
ENCALS event, applicability and survival from the assessment date, unverified tags, the
patient's identity in the header only), the PDF (WeasyPrint, checked with poppler when
installed) and ``alscare report`` on the command line."""

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
from alscare.presentation import ENCALS_CAVEAT, UNVERIFIED_LEGEND
from alscare.report import render_html, render_pdf
from alscare.schemas.assessment import (
    Alert,
    AlsfrsScore,
    Course,
    CourseRegion,
    Criteria,
    DifferentialResult,
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
from tests.builders import make_record_v2
from tests.conftest import RECORDS_V2, example
from tests.fixtures.assessments import ENCALS_EVENT, encals_from_as_of, encals_not_applicable

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
            bmi=9.1,
            because=("ALSFRS-R 33 on 2024-12-20",),
            sources=(second,),
            dates={
                "alsfrs_r": dt.date(2024, 12, 20),
                "progression_rate": dt.date(2024, 12, 20),
                "fvc_percent_predicted": dt.date(2024, 8, 1),
                "bmi": dt.date(2024, 12, 20),
            },
            stale=("fvc_percent_predicted",),
            implausible=("bmi",),
            notes={
                "fvc_percent_predicted": "respiratory function tests of 2024-08-01, 6 months "
                "old: stale, past the 3-month repeat window; a new one is due",
                "bmi": "implausible, not used for advice: a BMI this low is not credible",
            },
            verified=False,
        ),
        staging=Staging(
            kings=KingsResult(
                stage=KingsStage.STAGE_3,
                method="alsfrs_r",
                because=("three regions",),
                verified=False,
            )
        ),
        criteria=Criteria(
            gold_coast=GoldCoastResult(
                met=True, because=("UMN and LMN signs in cervical",), verified=False
            )
        ),
        prognosis=Prognosis(encals=encals_from_as_of(third)),
        regions={
            Region.CERVICAL: RegionStatus(umn=True, lmn=True, lmn_source="clinical+emg"),
            Region.BULBAR: RegionStatus(umn=False, lmn=False, verified=False),
        },
        course=Course(
            regions={
                Region.CERVICAL: CourseRegion(
                    first_umn=dt.date(2024, 6, 12), first_lmn=dt.date(2024, 4, 2)
                ),
                Region.BULBAR: CourseRegion(),
            }
        ),
        differentials=(
            DifferentialResult(
                id="multifocal_motor_neuropathy",
                level=DifferentialLevel.CONSIDER,
                tests=("anti_gm1_antibodies",),
                because=("conduction block <on NCS> & weakness",),
                sources=(first,),
                verified=False,
            ),
        ),
        investigations=(
            InvestigationPlanItem(
                id="vitamin_b12",
                status=InvestigationStatus.DONE,
                reason="389 pg/mL on 2024-04-02",
                sources=(first,),
                verified=False,
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
                verified=False,
            ),
        ),
        alerts=(
            Alert(
                id="niv_indicated",
                severity=Severity.HIGH,
                because=("FVC 77 % predicted with orthopnoea",),
                sources=(first,),
                verified=False,
            ),
        ),
        missing=("thoracic examination",),
        ignored=("alsfrs_r rating of 2025-03-01 is after as_of",),
    )


@pytest.fixture(scope="module")
def full_html(kb: KnowledgeBase) -> str:
    return render_html(example("P-0001-limb-onset", version=2), _full_assessment(kb), kb)


def _section(page: str, name: str) -> str:
    """A top-level section's markup: from its opening tag to the next section, or the end."""
    match = re.search(
        rf'<(?:section|footer) id="{name}">(.*?)(?=<section id=|<footer id=|</main>|</body>)',
        page,
        re.S,
    )
    assert match, f"no section {name}"
    return match.group(1)


def _escaped(text: str) -> str:
    """Text as the letter's template escapes it."""
    return html.escape(text, quote=False).replace("'", "&#39;")


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


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("path", sorted(RECORDS_V2.glob("*.json")), ids=lambda p: p.stem)
def test_render_html_engine_assessment_has_every_section(kb, path, version):
    record = example(path.stem, version)
    page = render_html(record, assess(record, as_of=AS_OF, kb=kb), kb)
    for name in SECTIONS:
        assert f'id="{name}"' in page
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page
    assert page.count("<svg") == 2


def test_render_html_engine_assessment_cites_every_source_in_full(kb):
    record = example("P-0004-sod1-late", version=2)
    assessment = assess(record, as_of=AS_OF, kb=kb)
    sources = _section(render_html(record, assessment, kb), "sources")
    for source_id in _cited_ids(assessment):
        assert html.escape(kb.source(source_id).citation, quote=False) in sources


def test_render_html_header_names_patient_date_and_knowledge_version(kb, full_html):
    header = full_html.split("<main>")[0]
    for text in ("P-0001", "Female", "63 years (born 1961-09-14)", "European Union", "2025-02-01"):
        assert f"<dd>{text}</dd>" in header
    assert f"<dd>{kb.version}</dd>" in header


def test_render_html_identity_in_the_header_only(full_html):
    header, main = full_html.split("<main>")
    assert "<dt>Name</dt><dd>Ada Example</dd>" in header
    assert "<dt>MRN</dt><dd>EX-100001</dd>" in header
    assert "Ada Example" not in main and "EX-100001" not in main
    assert "Ada Example" not in header.split("<header")[0]  # not in the page title either


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


UNVERIFIED_TAG = '<span class="tag unverified">unverified</span>'


@pytest.mark.parametrize(
    ("section", "title"),
    [
        ("alerts", "NIV indicated"),
        ("scores", "Scores"),
        ("staging", "King&#39;s stage"),
        ("criteria", "Gold Coast"),
        ("criteria", "Bulbar"),
        ("prognosis", "ENCALS survival model"),
        ("differential", "Multifocal motor neuropathy"),
        ("investigations", "Vitamin B12"),
        ("recommendations", "Tofersen"),
    ],
)
def test_render_html_unverified_conclusion_tagged(full_html, section, title):
    markup = _section(full_html, section)
    start = markup.index(title)
    line_end = markup.index("\n", start)
    assert UNVERIFIED_TAG in markup[start:line_end], markup[start:line_end]


def test_render_html_verified_conclusions_untagged(kb):
    record = example("P-0001-limb-onset", version=2)
    plain = Assessment(
        patient_id="P-0001",
        as_of=AS_OF,
        knowledge_version=kb.version,
        alerts=(Alert(id="niv_indicated", severity=Severity.HIGH),),
        regions={Region.BULBAR: RegionStatus(umn=False, lmn=False)},
    )
    main = render_html(record, plain, kb).split("<main>")[1]
    assert UNVERIFIED_TAG not in main
    assert f'<p class="legend">{_escaped(UNVERIFIED_LEGEND)}' in main  # the mark explained


def test_render_html_scores_dated_and_flagged_with_why(kb, full_html):
    scores = _section(full_html, "scores")
    assert "<td>measured 2024-08-01</td>" in scores
    assert '77 % predicted <span class="tag flag-stale">stale</span>' in scores
    assert '9.1 kg/m² <span class="tag flag-implausible">implausible</span>' in scores
    assert "from symptom onset to the rating of 2024-12-20" in scores
    assert "FVC: respiratory function tests of 2024-08-01, 6 months old: stale" in scores
    assert "BMI: implausible, not used for advice: a BMI this low is not credible." in scores


def test_render_html_regions_table_shows_the_course(full_html):
    criteria = _section(full_html, "criteria")
    assert (
        '<tr><th scope="row">Cervical</th><td>yes</td><td>yes</td><td>clinical signs and EMG</td>'
        "<td>2024-06-12</td><td>2024-04-02</td></tr>"
    ) in criteria
    assert '<th scope="col">First UMN</th>' in criteria
    assert "<td>no</td><td>no</td><td></td><td>not seen</td><td>not seen</td>" in criteria  # bulbar


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
    assert "<td>not known</td>" in prognosis  # inputs that were not given


def test_render_html_prognosis_names_the_event_and_survival_from_as_of(full_html):
    prognosis = _section(full_html, "prognosis")
    assert f"Event predicted:</span> {ENCALS_EVENT}." in prognosis
    assert _escaped(f"{ENCALS_CAVEAT} The event it predicts: {ENCALS_EVENT}.") in prognosis
    assert (
        "For a patient free of the event on 2025-02-01, 15 months after onset: median survival "
        "14.1 more months."
    ) in prognosis
    assert "months from the assessment date (2025-02-01)" in prognosis
    assert "<td>58 %</td><td>25 %</td>" in prognosis


def test_render_html_prognosis_not_applicable_gives_no_figures(kb):
    assessment = encals_not_applicable("T-1", AS_OF, kb.version)
    prognosis = _section(render_html(make_record_v2(), assessment, kb), "prognosis")
    assert "not applicable to this patient" in prognosis
    assert "not applicable: diagnostic delay 1.2 months, below 2.5 months" in prognosis
    assert '<table class="survival' not in prognosis
    assert "For a patient free of the event" not in prognosis


def test_render_html_after_death_says_so_with_stage_5(kb):
    data = example("P-0004-sod1-late", version=2).to_json_dict()
    record = make_record_v2(**{**data, "death": {"date": "2024-10-01"}})
    page = render_html(record, assess(record, as_of=AS_OF, kb=kb), kb)
    header = page.split("<main>")[0]
    assert "<dt>Age at death</dt><dd>45 years (born 1979-04-30)</dd>" in header
    assert "<dt>Died</dt><dd>2024-10-01</dd>" in header
    summary = _section(page, "summary")
    assert "P-0004 was a 45-year-old woman" in summary
    assert "Died on 2024-10-01." in summary
    assert "King&#39;s stage 5 (death) and MiToS stage 5 (death)." in summary
    staging = _section(page, "staging")
    assert staging.count('<span class="tag value">5 (death)</span>') == 3
    assert "No survival from 2025-02-01 is computed" in _section(page, "prognosis")


def test_render_html_escapes_assessment_text(full_html):
    assert "conduction block &lt;on NCS&gt; &amp; weakness" in full_html
    assert "<on NCS>" not in full_html


def test_render_html_lists_missing_and_ignored(full_html):
    data = _section(full_html, "data")
    assert "thoracic examination" in data
    assert "ALSFRS-R rating of 2025-03-01 is after the assessment date" in data
    assert "as_of" not in data


def test_render_html_ends_with_disclaimer(kb, full_html):
    disclaimer = _section(full_html, "disclaimer")
    assert html.escape(kb.about.disclaimer, quote=False) in disclaimer
    assert full_html.index('id="sources"') < full_html.index('id="disclaimer"')


def test_render_html_charts_stop_at_as_of(kb):
    record = example("P-0001-limb-onset", version=2)
    early = dt.date(2024, 10, 1)
    page = render_html(record, assess(record, as_of=early, kb=kb), kb)
    charts = _section(page, "charts")
    assert "2024-09-18" in charts
    assert "2024-12-20" not in charts


def test_render_html_same_input_same_text(kb):
    record = example("P-0002-bulbar-onset", version=2)
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


def test_render_pdf_of_a_v2_example_carries_the_new_fields(tmp_path, kb):
    record = example("P-0004-sod1-late", version=2)
    path = tmp_path / "letter.pdf"
    path.write_bytes(render_pdf(render_html(record, assess(record, as_of=AS_OF, kb=kb), kb)))
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: run scripts/system-deps")
    done = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    )
    text = " ".join(done.stdout.split())
    for expected in (
        "Dora Example",
        "EX-100004",
        "41 % predicted stale",
        "respiratory function tests of 2024-08-01, 6 months old: stale, past the 3-month",
        "Event predicted: death, tracheostomy or non-invasive ventilation over 23 hours a day.",
        "For a patient free of the event on 2025-02-01, 29 months after onset",
        "First UMN First LMN",
        "unverified",
    ):
        assert expected in text, expected


def test_render_html_empty_assessment_says_what_is_not_available(kb):
    empty = Assessment(patient_id="T-1", as_of=AS_OF, knowledge_version=kb.version)
    page = render_html(make_record_v2(), empty, kb)
    header = page.split("<main>")[0]
    assert header.count("<dd>not recorded</dd>") == 3  # sex, age, jurisdiction
    summary = _section(page, "summary")
    assert "T-1 is a person." in summary
    assert "cannot be decided" in summary
    assert "There are no alerts and no recommendations." in summary
    assert "No alerts." in _section(page, "alerts")
    assert "<td>not known</td>" in _section(page, "scores")
    assert "not computed" in _section(page, "prognosis")
    assert "No ALSFRS-R ratings recorded" in page
    assert "No FVC measurements recorded" in page
    assert "No recommendations." in page
    assert 'id="data"' not in page


def test_render_html_summary_counts_alerts_and_unknown_source_named(kb):
    record = make_record_v2(
        sex="male", age_years=70, age_on="2025-01-15", symptom_onset={"date": "2026-01-01"}
    )
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
RECORD = str(RECORDS_V2 / "P-0001-limb-onset.json")


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


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{", "/: malformed JSON: Expecting property name"),
        (b"[" * 100000, "/: malformed JSON: nested too deeply"),
        (b"\xff{}", "/: not UTF-8 text (byte 0)"),
    ],
)
def test_cli_report_malformed_json_exit_2(tmp_path, content, message):
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    out = tmp_path / "r.html"
    result = runner.invoke(app, ["report", str(bad), "--as-of", "2025-02-01", "-o", str(out)])
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"{bad}: {message}")
    assert not out.exists()


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
    assert f"{missing}: cannot read the file" in result.stderr


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
