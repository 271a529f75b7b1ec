"""``alscare validate``, ``schema``, ``upgrade`` and ``assess`` end to end: through the console
script's own entry point (``main(argv)``) and, where standard input or a closed pipe matters,
through a real ``python -m alscare`` process."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from alscare import assess, parse_record_json
from tests.conftest import RECORDS, RECORDS_V2

REPOSITORY = Path(__file__).parents[2]
EXAMPLES = sorted((REPOSITORY / "examples").glob("*.json"))
EXAMPLES_V1 = sorted(RECORDS.glob("*.json"))
AS_OF = "2025-03-01"
V1, V2 = "alscare.patient/v1", "alscare.patient/v2"
HUGE_INTEGER = "9" * 5000  # beyond Python's 4,300-digit limit for int() of a string


def _process(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "alscare", *args]
    return subprocess.run(
        command, input=stdin, capture_output=True, text=True, check=False, timeout=300
    )


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


# --- the examples ---------------------------------------------------------------------------


def test_examples_are_v2_and_identical_to_the_fixture_and_demo_copies():
    demo = REPOSITORY / "src" / "alscare" / "demo" / "records"
    names = [path.name for path in EXAMPLES]
    assert names == sorted(path.name for path in RECORDS_V2.glob("*.json"))
    assert names == sorted(path.name for path in demo.glob("*.json"))
    assert names == [path.name for path in EXAMPLES_V1]  # the same patients as release 1
    for path in EXAMPLES:
        content = path.read_bytes()
        assert json.loads(content)["schema"] == "alscare.patient/v2", path.name
        assert (RECORDS_V2 / path.name).read_bytes() == content, path.name
        assert (demo / path.name).read_bytes() == content, path.name


def test_examples_v1_fixtures_stay_v1():
    assert all(json.loads(p.read_text())["schema"] == "alscare.patient/v1" for p in EXAMPLES_V1)


def test_examples_keep_their_clinical_point(kb):
    on = dt.date(2025, 2, 1)
    records = (parse_record_json(path.read_text()) for path in EXAMPLES)
    limb, bulbar, block, sod1 = (assess(record, as_of=on, kb=kb) for record in records)
    assert limb.criteria.gold_coast.met is True
    assert bulbar.criteria.gold_coast.met is True
    assert "gastrostomy_indicated" in [alert.id for alert in bulbar.alerts]
    assert block.criteria.gold_coast.met is False
    assert ("multifocal_motor_neuropathy", "suspected") in [
        (d.id, d.level) for d in block.differentials
    ]
    assert sod1.staging.kings.stage == "4B"
    assert [r.action for r in sod1.recommendations if r.id == "tofersen"] == ["continue"]
    assert sod1.course.regions["lumbosacral"].first_umn == dt.date(2023, 2, 14)


# --- assess ---------------------------------------------------------------------------------


def test_cli_assess_single_file_is_exactly_to_json(cli, kb):
    result = cli("assess", str(EXAMPLES[0]), "--as-of", AS_OF)
    assert result.code == 0, result.stderr
    assert result.stdout == _expected(EXAMPLES[0], kb)


def test_cli_assess_v1_file_is_assessed_as_its_upgrade(cli, kb):
    result = cli("assess", str(EXAMPLES_V1[2]), "--as-of", AS_OF)
    assert result.code == 0, result.stderr
    assert result.stdout == _expected(EXAMPLES_V1[2], kb)
    assert json.loads(result.stdout)["patient_id"] == "P-0003"


def test_cli_assess_all_examples_one_document_per_file_in_order(cli, kb):
    result = cli("assess", *map(str, EXAMPLES), "--as-of", AS_OF)
    assert result.code == 0, result.stderr
    assert result.stdout == "".join(_expected(path, kb) for path in EXAMPLES)
    documents = [json.loads(part) for part in result.stdout.replace("}\n{", "}\n\0{").split("\0")]
    assert [d["patient_id"] for d in documents] == ["P-0001", "P-0002", "P-0003", "P-0004"]
    for document in documents:
        assert document["scores"]["because"] and document["scores"]["sources"]
        assert document["staging"]["kings"]["stage"] is not None
        assert document["prognosis"]["encals"]["sources"]
        assert "identity" not in json.dumps(document) and "Example" not in json.dumps(document)


def test_cli_assess_output_is_byte_identical_across_runs(cli):
    first = cli("assess", *map(str, EXAMPLES), "--as-of", AS_OF)
    second = cli("assess", *map(str, EXAMPLES), "--as-of", AS_OF)
    assert first.stdout == second.stdout


def test_cli_assess_text_renders_every_section(cli):
    result = cli("assess", str(EXAMPLES[3]), "--as-of", AS_OF, "--format", "text")
    assert result.code == 0, result.stderr
    text = result.stdout
    for heading in (
        "ALERTS",
        "SCORES",
        "STAGING",
        "DIAGNOSTIC CRITERIA",
        "PROGNOSIS (ENCALS MODEL)",
        "REGIONS",
        "COURSE",
        "DIFFERENTIAL DIAGNOSES",
        "INVESTIGATION PLAN",
        "RECOMMENDATIONS",
        "DIAGNOSTIC AND RISK FACTORS",
        "MISSING DATA",
        "LEFT OUT (DATED AFTER THE ASSESSMENT DATE)",
        "SOURCES",
    ):
        assert heading in text
    assert text.index("ALERTS") < text.index("SCORES")
    assert "King's stage" in text and "4B (estimated from the ALSFRS-R)" in text
    assert "balendra2014_kings_alsfrs: Balendra R" in text
    assert "ALS assessment of patient P-0004" in text
    assert "Dora Example" not in text and "EX-100004" not in text


def test_cli_assess_text_several_files(cli):
    result = cli("assess", *map(str, EXAMPLES[:2]), "--as-of", AS_OF, "--format", "text")
    assert result.code == 0
    assert "patient P-0001" in result.stdout and "patient P-0002" in result.stdout


def test_cli_assess_reads_stdin(kb):
    done = _process("assess", "-", "--as-of", AS_OF, stdin=EXAMPLES[1].read_text())
    assert done.returncode == 0, done.stderr
    assert done.stdout == _expected(EXAMPLES[1], kb)


def test_cli_assess_as_of_today_accepted(cli):
    result = cli("assess", str(EXAMPLES[0]), "--as-of", "today")
    assert result.code == 0
    assert json.loads(result.stdout)["as_of"] == dt.date.today().isoformat()


@pytest.mark.parametrize("value", ["2025-02-30", "yesterday", "2025-3-1", "20250301"])
def test_cli_assess_bad_as_of_exit_2(cli, value):
    result = cli("assess", str(EXAMPLES[0]), "--as-of", value)
    assert result.code == 2
    assert "is not a date" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_assess_as_of_required(cli):
    result = cli("assess", str(EXAMPLES[0]))
    assert result.code == 2
    assert "--as-of" in result.stderr


@pytest.mark.parametrize("args", [(), (str(EXAMPLES[0]), "--jsonl", str(EXAMPLES[0]))])
def test_cli_assess_needs_files_or_jsonl_not_both(cli, args):
    result = cli("assess", *args, "--as-of", AS_OF)
    assert result.code == 2
    assert "record files or --jsonl" in result.stderr


def test_cli_assess_bad_file_reported_others_go_on(cli, tmp_path, kb):
    bad = _write(tmp_path, "bad.json", '{"id": "P-9", "colour": "blue", "sex": "robot"}')
    result = cli("assess", bad, str(EXAMPLES[0]), "--as-of", AS_OF)
    assert result.code == 2
    assert result.stdout == _expected(EXAMPLES[0], kb)
    assert result.errors == [
        f"{bad}: /colour: unknown field (not in alscare.patient/v1)",
        f"{bad}: /sex: unknown id 'robot'",
    ]


def test_cli_assess_missing_file_exit_2(cli, tmp_path):
    result = cli("assess", str(tmp_path / "nope.json"), "--as-of", AS_OF)
    assert result.code == 2
    assert "cannot read the file" in result.stderr


# --- JSON Lines ---------------------------------------------------------------------------


def _cohort(tmp_path: Path, size: int = 40) -> tuple[str, list[str]]:
    """``size`` records made from the v1 and v2 examples with distinct ids, a blank line and
    three bad lines."""
    sources = [*EXAMPLES, *EXAMPLES_V1]
    lines = []
    for n in range(size):
        data = json.loads(sources[n % len(sources)].read_text())
        data["id"] = f"C-{n:04d}"
        lines.append(json.dumps(data))
    lines.insert(5, "")
    lines.insert(10, '{"id": "C-bad", "alsfrs_r": [{"date": "2024-01-01", "items": {}}]}')
    lines.insert(15, '{"schema": "alscare.patient/v2", "id": "C-v1", "exam": {}}')
    lines.insert(20, "{not json")
    return _write(tmp_path, "cohort.jsonl", "\n".join(lines) + "\n"), lines


def test_cli_assess_jsonl_many_records(cli, tmp_path, kb):
    path, lines = _cohort(tmp_path)
    result = cli("assess", "--jsonl", path, "--as-of", AS_OF)
    assert result.code == 2
    out = result.stdout.splitlines()
    assert len(out) == 40
    assert [json.loads(line)["patient_id"] for line in out] == [f"C-{n:04d}" for n in range(40)]
    expected = assess(parse_record_json(lines[0]), as_of=dt.date(2025, 3, 1), kb=kb)
    assert out[0] == expected.to_json_line()
    assert result.errors[0].startswith(f"{path}:11: /alsfrs_r/0: every ALSFRS-R item must be")
    assert result.errors[1].startswith(f"{path}:16: /exam: unknown field (not in {V2})")
    assert result.errors[2].startswith(f"{path}:21: /: malformed JSON")
    assert len(result.errors) == 3


@pytest.mark.parametrize("jobs", ["2", "3", "0"])
def test_cli_assess_jsonl_jobs_same_bytes_and_errors_as_one_job(cli, tmp_path, jobs):
    path, _ = _cohort(tmp_path, size=90)
    one = cli("assess", "--jsonl", path, "--as-of", AS_OF, "--jobs", "1")
    many = cli("assess", "--jsonl", path, "--as-of", AS_OF, "--jobs", jobs)
    assert many.code == one.code == 2
    assert many.stdout == one.stdout
    assert many.stderr == one.stderr
    assert len(many.stdout.splitlines()) == 90


def test_cli_assess_jsonl_jobs_text_output_in_order(cli, tmp_path):
    path, _ = _cohort(tmp_path, size=12)
    one = cli("assess", "--jsonl", path, "--as-of", AS_OF, "--format", "text")
    two = cli("assess", "--jsonl", path, "--as-of", AS_OF, "--format", "text", "--jobs", "2")
    assert two.stdout == one.stdout
    patients = [line for line in two.stdout.splitlines() if line.startswith("ALS assessment")]
    assert patients == [f"ALS assessment of patient C-{n:04d}" for n in range(12)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--jsonl", "x.jsonl", "--jobs", "-1"), "--jobs"),
        (("--jsonl", "x.jsonl", "--jobs", "many"), "--jobs"),
        ((str(EXAMPLES[0]), "--jobs", "2"), "--jobs needs --jsonl FILE"),
    ],
)
def test_cli_assess_bad_jobs_exit_2(cli, args, message):
    result = cli("assess", *args, "--as-of", AS_OF)
    assert result.code == 2
    assert message in result.usage_error
    assert result.stdout == ""


def test_cli_assess_jsonl_all_good_exit_0(cli, tmp_path):
    text = "\n".join(json.dumps(json.loads(p.read_text())) for p in EXAMPLES) + "\n"
    result = cli("assess", "--jsonl", _write(tmp_path, "ok.jsonl", text), "--as-of", AS_OF)
    assert result.code == 0
    assert len(result.stdout.splitlines()) == len(EXAMPLES)


def test_cli_assess_jsonl_from_stdin_on_two_jobs_as_text():
    text = json.dumps(json.loads(EXAMPLES[0].read_text())) + "\n\n"
    done = _process(
        "assess", "--jsonl", "-", "--as-of", AS_OF, "--format", "text", "--jobs", "2", stdin=text
    )
    assert done.returncode == 0, done.stderr
    assert "ALS assessment of patient P-0001" in done.stdout


def test_cli_assess_jsonl_non_utf8_line_reported(cli, tmp_path):
    path = _write(tmp_path, "bin.jsonl", b'{"id": "\xff"}\n')
    result = cli("assess", "--jsonl", path, "--as-of", AS_OF)
    assert result.code == 2
    assert result.stderr.startswith(f"{path}:1: /: not UTF-8 text")


def test_cli_assess_jsonl_missing_file(cli, tmp_path):
    missing = str(tmp_path / "none.jsonl")
    for jobs in ("1", "2"):
        result = cli("assess", "--jsonl", missing, "--as-of", AS_OF, "--jobs", jobs)
        assert result.code == 2
        assert "cannot read the file" in result.stderr


def test_cli_assess_jsonl_deeply_nested_line(cli, tmp_path):
    path = _write(tmp_path, "deep.jsonl", "[" * 100000 + "\n")
    result = cli("assess", "--jsonl", path, "--as-of", AS_OF)
    assert result.code == 2
    assert result.errors == [f"{path}:1: /: malformed JSON: nested too deeply"]


# --- integers beyond Python's digit limit, on every path that parses JSON -------------------


def _huge(tmp_path: Path) -> str:
    return _write(tmp_path, "huge.json", '{"id": "P-1", "height_cm": ' + HUGE_INTEGER + "}")


@pytest.mark.parametrize(
    "command",
    [
        ("validate", "{path}"),
        ("upgrade", "{path}"),
        ("assess", "{path}", "--as-of", AS_OF),
        ("assess", "--jsonl", "{path}", "--as-of", AS_OF),
        ("assess", "--jsonl", "{path}", "--as-of", AS_OF, "--jobs", "2"),
        ("report", "{path}", "--as-of", AS_OF, "-o", "{out}"),
    ],
    ids=lambda command: " ".join(part for part in command if not part.startswith("{")),
)
def test_cli_huge_integer_literal_clean_error_exit_2(cli, tmp_path, command):
    path, out = _huge(tmp_path), str(tmp_path / "letter.html")
    result = cli(*(part.format(path=path, out=out) for part in command))
    assert result.code == 2
    problems = [line for line in result.errors if "malformed JSON" in line]
    assert len(problems) == 1
    assert problems[0].endswith("/: malformed JSON: a number with too many digits")
    assert problems[0].startswith(f"{path}")
    assert "Traceback" not in result.stderr + result.stdout
    assert not Path(out).exists()


# --- validate -------------------------------------------------------------------------------


def test_cli_validate_examples_of_both_versions_say_the_schema_read(cli):
    result = cli("validate", str(EXAMPLES[0]), str(EXAMPLES_V1[0]))
    assert result.code == 0
    assert result.stdout.splitlines() == [
        f"{EXAMPLES[0]}: valid record P-0001 (alscare.patient/v2)",
        f"{EXAMPLES_V1[0]}: valid record P-0001 (alscare.patient/v1, upgraded to "
        "alscare.patient/v2 on read)",
    ]
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("content", "line", "verdict"),
    [
        (
            "{",
            "/: malformed JSON: Expecting property name enclosed in double quotes",
            "invalid: not read as alscare.patient/v1 or alscare.patient/v2 (1 problem)",
        ),
        (
            '{"id": "P-1", "colour": 1}',
            "/colour: unknown field (not in alscare.patient/v1)",
            "invalid alscare.patient/v1 record (1 problem)",
        ),
        (
            '{"schema": "alscare.patient/v2", "id": "P-1", "colour": 1}',
            "/colour: unknown field (not in alscare.patient/v2)",
            "invalid alscare.patient/v2 record (1 problem)",
        ),
        (
            '{"schema": "alscare.patient/v2", "id": "P-1", "exam": {}}',
            "/exam: unknown field (not in alscare.patient/v2); version 2 records 'exam' as "
            "'examinations'",
            "invalid alscare.patient/v2 record (1 problem)",
        ),
        (
            '{"id": "P-1", "examinations": []}',
            "/examinations: unknown field (not in alscare.patient/v1); a record with "
            "'examinations' is version 2",
            "invalid alscare.patient/v1 record (1 problem)",
        ),
        (
            '{"schema": "alscare.patient/v3", "id": "P-1"}',
            "/schema: unknown schema 'alscare.patient/v3'; expected one of alscare.patient/v1, "
            "alscare.patient/v2",
            "invalid: not read as alscare.patient/v1 or alscare.patient/v2 (1 problem)",
        ),
        (
            '{"id": "P-1", "findings": [{"id": "nope", "present": true}]}',
            "/findings/0/id",
            "invalid alscare.patient/v1 record (1 problem)",
        ),
        (
            '{"id": "P-1", "birth_date": "1960-01-01", "symptom_onset": {"date": "1959-01-01"}}',
            "/symptom_onset/date: symptom onset is before the birth date",
            "invalid alscare.patient/v1 record (1 problem)",
        ),
        (
            '{"schema": "alscare.patient/v2", "id": "P-1", "findings": [{"id": "falls", '
            '"present": true}]}',
            "/findings/0/date: ",
            "invalid alscare.patient/v2 record (1 problem)",
        ),
        ('{"id": "P-1", "diagnosis_date": "2025-02-30"}', "/diagnosis_date: ", "invalid"),
        (
            "[1, 2]",
            "/: a patient record must be a JSON object",
            "invalid: not read as alscare.patient/v1 or alscare.patient/v2 (1 problem)",
        ),
        ('{"id": "P-1", "height_cm": NaN}', "/height_cm: ", "invalid alscare.patient/v1"),
    ],
)
def test_cli_validate_invalid_exit_2_one_line_per_problem(cli, tmp_path, content, line, verdict):
    path = _write(tmp_path, "r.json", content)
    result = cli("validate", path)
    assert result.code == 2
    assert result.stdout.startswith(f"{path}: {verdict}")
    assert any(err.startswith(f"{path}: {line}") for err in result.errors), result.errors
    assert "Traceback" not in result.stderr


def test_cli_validate_out_of_range_score(cli, tmp_path):
    data = json.loads(EXAMPLES[0].read_text())
    data["alsfrs_r"][0]["items"]["walking"] = 5
    data["alsfrs_r"][1]["items"]["speech"] = -1
    path = _write(tmp_path, "r.json", json.dumps(data))
    result = cli("validate", path)
    assert result.code == 2
    pointers = [line.split(": ")[1] for line in result.errors]
    assert pointers == ["/alsfrs_r/0/items/walking", "/alsfrs_r/1/items/speech"]
    assert result.stdout == f"{path}: invalid alscare.patient/v2 record (2 problems)\n"


def test_cli_validate_non_utf8_and_missing_file(cli, tmp_path):
    binary = _write(tmp_path, "b.json", b"\xff\xfe\x00")
    result = cli("validate", binary, str(tmp_path / "missing.json"))
    assert result.code == 2
    assert result.errors[0] == f"{binary}: /: not UTF-8 text (byte 0)"
    assert "cannot read the file" in result.errors[1]
    missing = tmp_path / "missing.json"
    assert result.stdout.splitlines()[1] == f"{missing}: invalid: the file cannot be read"


def test_cli_validate_deeply_nested_json(cli, tmp_path):
    path = _write(tmp_path, "deep.json", "[" * 100000)
    result = cli("validate", path)
    assert result.code == 2
    assert result.errors == [f"{path}: /: malformed JSON: nested too deeply"]


# --- schema ---------------------------------------------------------------------------------


def test_cli_schema_patient_is_record_v2(cli):
    result = cli("schema", "patient")
    assert result.code == 0
    document = json.loads(result.stdout)
    assert document["properties"]["schema"]["const"] == "alscare.patient/v2"
    assert {"examinations", "emg_studies", "interventions", "identity"} <= set(
        document["properties"]
    )
    assert "exam" not in document["properties"]
    assert document["additionalProperties"] is False
    assert result.stdout == cli("schema", "patient", "--version", "2").stdout


def test_cli_schema_patient_version_1(cli):
    document = json.loads(cli("schema", "patient", "--version", "1").stdout)
    assert document["properties"]["schema"]["const"] == "alscare.patient/v1"
    assert {"exam", "emg", "alsfrs_r"} <= set(document["properties"])
    assert "examinations" not in document["properties"]


def test_cli_schema_assessment(cli):
    document = json.loads(cli("schema", "assessment").stdout)
    assert {"scores", "staging", "prognosis", "course", "missing", "ignored"} <= set(
        document["properties"]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("cohort",), "cohort"),
        (("patient", "--version", "3"), "versions 1 (alscare.patient/v1) and 2"),
        (("assessment", "--version", "2"), "one version, 1"),
    ],
)
def test_cli_schema_unknown_name_or_version_exit_2(cli, args, message):
    result = cli("schema", *args)
    assert result.code == 2
    assert message in result.usage_error
    assert result.stdout == ""


# --- upgrade --------------------------------------------------------------------------------


def test_cli_upgrade_v1_prints_the_v2_record_read(cli):
    result = cli("upgrade", str(EXAMPLES_V1[0]))
    assert result.code == 0, result.stderr
    record = parse_record_json(EXAMPLES_V1[0].read_text())
    assert result.stdout == json.dumps(record.to_json_dict(), indent=2, ensure_ascii=False) + "\n"
    upgraded = json.loads(result.stdout)
    assert upgraded["schema"] == "alscare.patient/v2"
    assert upgraded["examinations"][0]["date_inferred"] is True  # v1 exam had no date
    assert "exam" not in upgraded


def test_cli_upgrade_output_reads_back_as_the_same_record(cli, tmp_path, kb):
    for path in EXAMPLES_V1:
        upgraded = cli("upgrade", str(path)).stdout
        assert parse_record_json(upgraded) == parse_record_json(path.read_text())
        again = cli("upgrade", _write(tmp_path, "u.json", upgraded)).stdout
        assert again == upgraded  # upgrading a v2 record changes nothing
        on = dt.date(2025, 2, 1)
        assert (
            assess(parse_record_json(upgraded), as_of=on, kb=kb).to_json()
            == assess(parse_record_json(path.read_text()), as_of=on, kb=kb).to_json()
        )


def test_cli_upgrade_v2_example_printed_as_it_is(cli):
    result = cli("upgrade", *map(str, EXAMPLES))
    assert result.code == 0
    documents = result.stdout.replace("}\n{", "}\n\0{").split("\0")
    assert [json.loads(text) for text in documents] == [json.loads(p.read_text()) for p in EXAMPLES]


def test_cli_upgrade_to_a_file(cli, tmp_path):
    out = tmp_path / "P-0001.json"
    result = cli("upgrade", str(EXAMPLES_V1[0]), "-o", str(out))
    assert result.code == 0
    assert result.stdout == f"wrote {out}\n"
    assert out.read_text(encoding="utf-8") == cli("upgrade", str(EXAMPLES_V1[0])).stdout


def test_cli_upgrade_reads_stdin():
    done = _process("upgrade", "-", stdin=EXAMPLES_V1[3].read_text())
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["interventions"][0] == {
        "kind": "niv",
        "event": "started",
        "date": "2024-05-10",
        "hours_per_day": 12.0,
    }


def test_cli_upgrade_invalid_record_one_line_per_problem_others_go_on(cli, tmp_path):
    bad = _write(tmp_path, "bad.json", '{"id": "P 1", "emg_studies": []}')
    result = cli("upgrade", bad, str(EXAMPLES_V1[1]))
    assert result.code == 2
    assert json.loads(result.stdout)["id"] == "P-0002"
    assert result.errors[0].startswith(f"{bad}: /emg_studies: unknown field (not in {V1})")
    assert result.errors[1].startswith(f"{bad}: /id: ")
    assert len(result.errors) == 2


def test_cli_upgrade_invalid_record_writes_nothing(cli, tmp_path):
    bad = _write(tmp_path, "bad.json", '{"id": "P-1", "sex": "robot"}')
    out = tmp_path / "out.json"
    result = cli("upgrade", bad, "-o", str(out))
    assert result.code == 2
    assert result.errors == [f"{bad}: /sex: unknown id 'robot'"]
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ((str(EXAMPLES[0]), str(EXAMPLES[1]), "-o", "x.json"), 2, "-o takes one record file"),
        ((str(EXAMPLES[0]), "-o", "/no/such/folder/x.json"), 1, "cannot write"),
        ((), 2, "Missing argument"),
    ],
)
def test_cli_upgrade_bad_output_or_arguments(cli, args, code, message):
    result = cli("upgrade", *args)
    assert result.code == code
    assert message in result.usage_error


# --- a real process -------------------------------------------------------------------------


def test_cli_process_exit_codes_and_no_traceback(tmp_path):
    bad = _write(tmp_path, "bad.json", '{"id": "P-1", "symptom_onset": {"date": "x"}}')
    done = _process("assess", str(EXAMPLES[0]), bad, "--as-of", AS_OF)
    assert done.returncode == 2
    assert json.loads(done.stdout)["patient_id"] == "P-0001"
    assert done.stderr.startswith(f"{bad}: /symptom_onset/date: ")
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_cli_process_reader_closing_the_pipe_ends_quietly(tmp_path, jobs):
    _, lines = _cohort(tmp_path, size=60)
    bad = ("C-bad", "C-v1")
    good = [line for line in lines if line.startswith('{"') and not any(b in line for b in bad)]
    path = _write(tmp_path, "good.jsonl", "\n".join(good) + "\n")
    command = [sys.executable, "-m", "alscare", "assess", "--jsonl", path, "--as-of", AS_OF]
    with subprocess.Popen(
        [*command, "--jobs", jobs], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        assert json.loads(process.stdout.readline())["patient_id"] == "C-0000"
        process.stdout.close()
        errors = process.stderr.read()
        assert process.wait(timeout=120) == 0
    assert "Traceback" not in errors and "Broken pipe" not in errors
