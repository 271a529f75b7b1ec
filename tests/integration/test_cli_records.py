"""``alscare validate``, ``schema`` and ``assess`` end to end, through the real Typer app and,
once, through a real ``python -m alscare`` process."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alscare import assess, parse_record_json
from alscare.cli.app import app
from tests.conftest import RECORDS

EXAMPLES = sorted(RECORDS.glob("*.json"))
AS_OF = "2025-03-01"


def _run(*args: str, stdin: str | bytes | None = None):
    return CliRunner().invoke(app, list(args), input=stdin)


def _expected(path: Path, kb, as_of: str = AS_OF) -> str:
    record = parse_record_json(path.read_text(encoding="utf-8"))
    return assess(record, as_of=dt.date.fromisoformat(as_of), kb=kb).to_json()


def _write(tmp_path: Path, name: str, content: str | bytes) -> str:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return str(path)


# --- assess ---------------------------------------------------------------------------------


def test_cli_assess_single_file_is_exactly_to_json(kb):
    result = _run("assess", str(EXAMPLES[0]), "--as-of", AS_OF)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == _expected(EXAMPLES[0], kb)


def test_cli_assess_all_examples_one_document_per_file_in_order(kb):
    result = _run("assess", *map(str, EXAMPLES), "--as-of", AS_OF)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "".join(_expected(path, kb) for path in EXAMPLES)
    documents = [json.loads(part) for part in result.stdout.replace("}\n{", "}\n\0{").split("\0")]
    assert [d["patient_id"] for d in documents] == ["P-0001", "P-0002", "P-0003", "P-0004"]
    for document in documents:
        assert document["scores"]["because"] and document["scores"]["sources"]
        assert document["staging"]["kings"]["stage"] is not None
        assert document["prognosis"]["encals"]["sources"]


def test_cli_assess_output_is_byte_identical_across_runs():
    first = _run("assess", *map(str, EXAMPLES), "--as-of", AS_OF)
    second = _run("assess", *map(str, EXAMPLES), "--as-of", AS_OF)
    assert first.stdout_bytes == second.stdout_bytes


def test_cli_assess_text_renders_every_section(kb):
    result = _run("assess", str(EXAMPLES[3]), "--as-of", AS_OF, "--format", "text")
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    for heading in (
        "ALERTS",
        "SCORES",
        "STAGING",
        "DIAGNOSTIC CRITERIA",
        "PROGNOSIS (ENCALS MODEL)",
        "REGIONS",
        "DIFFERENTIAL DIAGNOSES",
        "INVESTIGATION PLAN",
        "RECOMMENDATIONS",
        "DIAGNOSTIC AND RISK FACTORS",
        "MISSING DATA",
        "IGNORED",
        "SOURCES",
    ):
        assert heading in text
    assert text.index("ALERTS") < text.index("SCORES")
    assert "King's stage" in text and "4B (from ALSFRS-R)" in text
    assert "balendra2014_kings_alsfrs: Balendra R" in text
    assert "P-0004" in text


def test_cli_assess_text_several_files(kb):
    result = _run("assess", *map(str, EXAMPLES[:2]), "--as-of", AS_OF, "--format", "text")
    assert result.exit_code == 0
    assert "patient P-0001" in result.stdout and "patient P-0002" in result.stdout


def test_cli_assess_reads_stdin(kb):
    result = _run("assess", "-", "--as-of", AS_OF, stdin=EXAMPLES[1].read_text())
    assert result.stdout == _expected(EXAMPLES[1], kb)


def test_cli_assess_as_of_today_accepted(kb):
    result = _run("assess", str(EXAMPLES[0]), "--as-of", "today")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["as_of"] == dt.date.today().isoformat()


@pytest.mark.parametrize("value", ["2025-02-30", "yesterday", "2025-3-1", "20250301"])
def test_cli_assess_bad_as_of_exit_2(value):
    result = _run("assess", str(EXAMPLES[0]), "--as-of", value)
    assert result.exit_code == 2
    assert "is not a date" in result.stderr
    assert "Traceback" not in result.output


def test_cli_assess_as_of_required():
    result = _run("assess", str(EXAMPLES[0]))
    assert result.exit_code == 2
    assert "--as-of" in result.stderr


@pytest.mark.parametrize("args", [(), (str(EXAMPLES[0]), "--jsonl", str(EXAMPLES[0]))])
def test_cli_assess_needs_files_or_jsonl_not_both(args):
    result = _run("assess", *args, "--as-of", AS_OF)
    assert result.exit_code == 2
    assert "record files or --jsonl" in result.stderr


def test_cli_assess_bad_file_reported_others_go_on(tmp_path, kb):
    bad = _write(tmp_path, "bad.json", '{"id": "P-9", "colour": "blue", "sex": "robot"}')
    result = _run("assess", bad, str(EXAMPLES[0]), "--as-of", AS_OF)
    assert result.exit_code == 2
    assert result.stdout == _expected(EXAMPLES[0], kb)
    assert result.stderr.splitlines() == [
        f"{bad}: /colour: unknown field",
        f"{bad}: /sex: unknown id 'robot'",
    ]


def test_cli_assess_missing_file_exit_2(tmp_path):
    result = _run("assess", str(tmp_path / "nope.json"), "--as-of", AS_OF)
    assert result.exit_code == 2
    assert "cannot read the file" in result.stderr


# --- JSON Lines ---------------------------------------------------------------------------


def _cohort(tmp_path: Path, size: int = 40) -> tuple[str, list[str]]:
    """``size`` records made from the examples with distinct ids, a blank line, a bad line."""
    lines = []
    for n in range(size):
        data = json.loads(EXAMPLES[n % len(EXAMPLES)].read_text())
        data["id"] = f"C-{n:04d}"
        lines.append(json.dumps(data))
    lines.insert(5, "")
    lines.insert(10, '{"id": "C-bad", "alsfrs_r": [{"date": "2024-01-01", "items": {}}]}')
    lines.insert(20, "{not json")
    return _write(tmp_path, "cohort.jsonl", "\n".join(lines) + "\n"), lines


def test_cli_assess_jsonl_many_records(tmp_path, kb):
    path, lines = _cohort(tmp_path)
    result = _run("assess", "--jsonl", path, "--as-of", AS_OF)
    assert result.exit_code == 2
    out = result.stdout.splitlines()
    assert len(out) == 40
    assert [json.loads(line)["patient_id"] for line in out] == [f"C-{n:04d}" for n in range(40)]
    expected = assess(parse_record_json(lines[0]), as_of=dt.date(2025, 3, 1), kb=kb)
    assert out[0] == expected.to_json_line()
    errors = result.stderr.splitlines()
    assert errors[0].startswith(f"{path}:11: /alsfrs_r/0: every ALSFRS-R item must be rated")
    assert errors[-1].startswith(f"{path}:21: /: malformed JSON")
    assert len(errors) == 2


def test_cli_assess_jsonl_all_good_exit_0(tmp_path):
    text = "\n".join(json.dumps(json.loads(p.read_text())) for p in EXAMPLES) + "\n"
    result = _run("assess", "--jsonl", _write(tmp_path, "ok.jsonl", text), "--as-of", AS_OF)
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == len(EXAMPLES)


def test_cli_assess_jsonl_from_stdin_and_as_text(tmp_path):
    text = json.dumps(json.loads(EXAMPLES[0].read_text())) + "\n\n"
    result = _run("assess", "--jsonl", "-", "--as-of", AS_OF, "--format", "text", stdin=text)
    assert result.exit_code == 0
    assert "ALS assessment of patient P-0001" in result.stdout


def test_cli_assess_jsonl_non_utf8_line_reported(tmp_path):
    path = _write(tmp_path, "bin.jsonl", b'{"id": "\xff"}\n')
    result = _run("assess", "--jsonl", path, "--as-of", AS_OF)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{path}:1: /: not UTF-8 text")


def test_cli_assess_jsonl_missing_file(tmp_path):
    result = _run("assess", "--jsonl", str(tmp_path / "none.jsonl"), "--as-of", AS_OF)
    assert result.exit_code == 2
    assert "cannot read the file" in result.stderr


def test_cli_assess_jsonl_deeply_nested_line(tmp_path):
    path = _write(tmp_path, "deep.jsonl", "[" * 100000 + "\n")
    result = _run("assess", "--jsonl", path, "--as-of", AS_OF)
    assert result.exit_code == 2
    assert "Traceback" not in result.output


# --- validate -------------------------------------------------------------------------------


def test_cli_validate_examples_ok():
    result = _run("validate", *map(str, EXAMPLES))
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == f"{EXAMPLES[0]}: valid record P-0001"


@pytest.mark.parametrize(
    ("content", "line"),
    [
        ("{", "/: malformed JSON: Expecting property name enclosed in double quotes"),
        ('{"id": "P-1", "colour": 1}', "/colour: unknown field"),
        ('{"id": "P-1", "findings": [{"id": "nope", "present": true}]}', "/findings/0/id"),
        (
            '{"id": "P-1", "birth_date": "1960-01-01", "symptom_onset": {"date": "1959-01-01"}}',
            "/symptom_onset/date: symptom onset is before the birth date",
        ),
        ('{"id": "P-1", "diagnosis_date": "2025-02-30"}', "/diagnosis_date: "),
        ("[1, 2]", "/: a patient record must be a JSON object"),
        ('{"id": "P-1", "height_cm": NaN}', "/height_cm: "),
    ],
)
def test_cli_validate_invalid_exit_2_one_line_per_problem(tmp_path, content, line):
    path = _write(tmp_path, "r.json", content)
    result = _run("validate", path)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert any(err.startswith(f"{path}: {line}") for err in result.stderr.splitlines())
    assert "Traceback" not in result.output


def test_cli_validate_out_of_range_score(tmp_path):
    data = json.loads(EXAMPLES[0].read_text())
    data["alsfrs_r"][0]["items"]["walking"] = 5
    data["alsfrs_r"][1]["items"]["speech"] = -1
    path = _write(tmp_path, "r.json", json.dumps(data))
    result = _run("validate", path)
    assert result.exit_code == 2
    pointers = [line.split(": ")[1] for line in result.stderr.splitlines()]
    assert pointers == ["/alsfrs_r/0/items/walking", "/alsfrs_r/1/items/speech"]


def test_cli_validate_non_utf8_and_missing_file(tmp_path):
    binary = _write(tmp_path, "b.json", b"\xff\xfe\x00")
    result = _run("validate", binary, str(tmp_path / "missing.json"))
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0] == f"{binary}: /: not UTF-8 text (byte 0)"
    assert "cannot read the file" in lines[1]


def test_cli_validate_deeply_nested_json(tmp_path):
    path = _write(tmp_path, "deep.json", "[" * 100000)
    result = _run("validate", path)
    assert result.exit_code == 2
    assert "Traceback" not in result.output


# --- schema ---------------------------------------------------------------------------------


def test_cli_schema_patient():
    result = _run("schema", "patient")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert "alsfrs_r" in document["properties"] and "schema" in document["properties"]
    assert document["additionalProperties"] is False


def test_cli_schema_assessment():
    document = json.loads(_run("schema", "assessment").stdout)
    assert {"scores", "staging", "prognosis", "missing", "ignored"} <= set(document["properties"])


def test_cli_schema_unknown_name_exit_2():
    assert _run("schema", "cohort").exit_code == 2


# --- a real process -------------------------------------------------------------------------


def test_cli_process_exit_codes_and_no_traceback(tmp_path):
    bad = _write(tmp_path, "bad.json", '{"id": "P-1", "symptom_onset": {"date": "x"}}')
    command = [sys.executable, "-m", "alscare", "assess", str(EXAMPLES[0]), bad, "--as-of", AS_OF]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 2
    assert json.loads(done.stdout)["patient_id"] == "P-0001"
    assert done.stderr.startswith(f"{bad}: /symptom_onset/date: ")
    assert "Traceback" not in done.stderr


def test_cli_process_reader_closing_the_pipe_ends_quietly(tmp_path):
    _, lines = _cohort(tmp_path, size=60)
    good = [line for line in lines if line.startswith('{"') and "C-bad" not in line]
    path = _write(tmp_path, "good.jsonl", "\n".join(good) + "\n")
    command = [sys.executable, "-m", "alscare", "assess", "--jsonl", path, "--as-of", AS_OF]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        assert json.loads(process.stdout.readline())["patient_id"] == "C-0000"
        process.stdout.close()
        errors = process.stderr.read()
        assert process.wait(timeout=120) == 0
    assert "Traceback" not in errors and "Broken pipe" not in errors
