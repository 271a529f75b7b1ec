"""``alscare topic`` on the command line: text, markdown and JSON, one section or the whole
topic, the review status only with --as-of, one-line errors with exit codes."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest
from click.testing import Result
from typer.testing import CliRunner

from alscare.cli.app import app
from alscare.knowledge.document import TOPIC_SECTIONS
from alscare.schemas.vocabulary import FindingId, RiskFactorId


def _run(*args: str) -> Result:
    return CliRunner().invoke(app, ["topic", *args])


def _json(*args: str) -> dict:
    result = _run("--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_cli_topic_json_lists_every_seed_item_by_vocabulary_id_with_sources():
    document = _json()
    sections = document["sections"]
    findings = {item["id"]: item for item in sections["factors"]["items"]}
    assert list(findings) == [member.value for member in FindingId]
    risks = {item["id"]: item for item in sections["risk-factors"]["items"]}
    assert list(risks) == [member.value for member in RiskFactorId]
    for item in [*findings.values(), *risks.values()]:
        assert item["label"] and item["sources"]
    seed = [item["title"] for item in sections["guidelines"]["items"] if item["seed"]]
    assert len(seed) == 2


def test_cli_topic_json_has_editorial_metadata_and_null_review_without_date():
    document = _json()
    assert {"last_reviewed", "last_updated", "review_overdue"} <= set(document)
    assert document["review_overdue"] is None
    assert document["as_of"] is None


def test_cli_topic_json_review_overdue_on_given_date():
    due = dt.date.fromisoformat(_json()["review_due"])
    assert _json("--as-of", due.isoformat())["review_overdue"] is False
    late = (due + dt.timedelta(days=1)).isoformat()
    assert _json("--as-of", late)["review_overdue"] is True


def test_cli_topic_as_of_today_computes_review_status():
    document = _json("about", "--as-of", "today")
    assert document["as_of"] is not None
    assert isinstance(document["review_overdue"], bool)


@pytest.mark.parametrize("section", TOPIC_SECTIONS)
def test_cli_topic_json_one_section(section):
    document = _json(section)
    assert list(document["sections"]) == [section]


@pytest.mark.parametrize("section", TOPIC_SECTIONS)
def test_cli_topic_text_each_section_renders(section):
    result = _run(section)
    assert result.exit_code == 0, result.output
    assert "Amyotrophic lateral sclerosis" in result.stdout


def test_cli_topic_text_reads_like_a_topic_page():
    result = _run("--as-of", "2000-01-01")
    assert result.exit_code == 0
    out = result.stdout
    for text in (
        "Key diagnostic factors",
        "Head drop",
        "HP:0000467 Neck muscle weakness",
        "Risk factors",
        "OR 1.34 (2023 meta-analysis)",
        "Guidelines",
        "References",
        "review up to date on 2000-01-01",
    ):
        assert text in out
    assert "Traceback" not in out


def test_cli_topic_text_review_overdue_is_shown():
    result = _run("about", "--as-of", "2099-01-01")
    assert "REVIEW OVERDUE on 2099-01-01" in result.stdout


def test_cli_topic_markdown():
    result = _run("risk-factors", "--format", "markdown")
    assert result.exit_code == 0
    assert result.stdout.startswith("# Amyotrophic lateral sclerosis")
    assert "\n## Risk factors\n" in result.stdout
    assert "\n## References\n" in result.stdout


def test_cli_topic_unknown_section_exit_2_one_line():
    result = _run("nonsense")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.strip().count("\n") == 0
    assert "no topic section 'nonsense'" in result.stderr


def test_cli_topic_unknown_section_markdown_exit_2():
    result = _run("nonsense", "--format", "markdown")
    assert result.exit_code == 2


def test_cli_topic_bad_date_exit_2():
    result = _run("--as-of", "01/02/2025")
    assert result.exit_code == 2
    assert "is not a date" in result.stderr


def test_cli_topic_bad_format_exit_2():
    assert _run("--format", "pdf").exit_code == 2


def test_cli_topic_console_script_runs():
    completed = subprocess.run(
        [sys.executable, "-m", "alscare", "topic", "guidelines", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["sections"]["guidelines"]["items"]
