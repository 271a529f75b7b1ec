"""``alscare cohort``: the engine over a registry.

* ``run INPUT... --as-of DATE -o OUTDIR [--engine duckdb|local|spark] [--jobs N]``: every
  record assessed into OUTDIR (``assessments.parquet``, ``summary.json``, ``report.html``,
  ``problems.jsonl``), which appears whole or not at all (:mod:`alscare.cohort.run`). A record
  that cannot be read or assessed is reported on stderr with its reference and skipped; the run
  goes on, and exits 2 at the end if any was, as ``assess --jsonl`` does.
* ``screen INPUT... --trial TRIAL.yaml --as-of DATE``: each patient eligible, not eligible or
  unknown for a trial, with every criterion met, failed or unknown.
* ``synth N --seed S -o FILE.jsonl``: a synthetic cohort of records v2, for tests and
  benchmarks.

An INPUT is a JSON Lines file of records v1 or v2, a Parquet file with a ``record`` column, or
an OMOP CDM 5.4 database (a DuckDB file, a folder of CSV or Parquet tables, a PostgreSQL URL).
"""

from __future__ import annotations

import datetime as dt
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from alscare.cli.app import app
from alscare.cli.batch import usable_cores
from alscare.cli.dates import parse_as_of
from alscare.cli.inputs import INVALID_INPUT, Fault, Outcome, assessed
from alscare.cli.outputs import knowledge
from alscare.cohort.inputs import InputError, SourceItem, record_count, source_items
from alscare.cohort.synth import AS_OF, SEED, synthetic_cohort, write_jsonl
from alscare.errors import AlscareError
from alscare.knowledge import KnowledgeBase

if TYPE_CHECKING:  # the cohort stack (Arrow, DuckDB, lifelines) loads only when a command runs
    from alscare.cohort.run import CohortEngine, RowResult
    from alscare.cohort.trials import Screening
    from alscare.knowledge.trials import Trial

__all__ = ["cohort_app", "run", "screen", "synth"]

cohort_app = typer.Typer(
    name="cohort",
    help="Registry cohorts: assess, summarise and screen a whole registry.",
    no_args_is_help=True,
)
app.add_typer(cohort_app)

_INPUTS = "JSON Lines or Parquet files of records, or an OMOP CDM 5.4 database."
_AS_OF = typer.Option("--as-of", help="Assessment date, YYYY-MM-DD (or 'today').")


class EngineName(StrEnum):
    DUCKDB = "duckdb"
    LOCAL = "local"
    SPARK = "spark"


@cohort_app.command()
def run(
    inputs: Annotated[list[str], typer.Argument(help=_INPUTS)],
    as_of: Annotated[str, _AS_OF],
    out_dir: Annotated[Path, typer.Option("-o", "--output", help="New output folder.")],
    engine: Annotated[
        EngineName, typer.Option("--engine", help="Where the engine runs.")
    ] = EngineName.DUCKDB,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs", min=0, help="Processes (0: every CPU; default: 1 for duckdb, all for local)."
        ),
    ] = None,
    master: Annotated[
        str, typer.Option("--master", help="With --engine spark: the Spark master URL.")
    ] = "",
) -> None:
    """Assess every record of a cohort on --as-of and write OUTDIR."""
    from alscare.cohort.run import OutputExists, run_cohort

    date = parse_as_of(as_of)
    kb = knowledge()
    chosen = _engine(engine, kb, _jobs(jobs), master)
    outcome = Outcome()
    try:
        with _progress(lambda: record_count(inputs)) as advance:

            def reported(result: RowResult) -> None:
                outcome.report(result.faults)
                advance()

            counts = run_cohort(
                source_items(inputs),
                as_of=date,
                out_dir=out_dir,
                engine=chosen,
                kb=kb,
                on_result=reported,
            )
    except (InputError, OutputExists) as error:
        typer.echo(f"alscare: {error}", err=True)
        raise typer.Exit(INVALID_INPUT) from None
    left_out = f", {counts.bad:,} left out (see {out_dir / 'problems.jsonl'})" if counts.bad else ""
    typer.echo(f"assessed {counts.assessed:,} of {counts.read:,} records{left_out}", err=True)
    typer.echo(f"wrote {out_dir}")
    raise typer.Exit(outcome.code)


def _jobs(jobs: int | None) -> int | None:
    """None: the engine's own default; 0: every CPU."""
    if jobs is None:
        return None
    return jobs or usable_cores()


def _engine(name: EngineName, kb: KnowledgeBase, jobs: int | None, master: str) -> CohortEngine:
    if master and name is not EngineName.SPARK:
        raise typer.BadParameter("--master needs --engine spark", param_hint="'--master'")
    if name is EngineName.SPARK:
        from alscare.cohort.spark import spark_engine

        return spark_engine(kb, master=master or None, jobs=jobs)
    from alscare.cohort.engines import duckdb_engine, local_engine

    return (duckdb_engine if name is EngineName.DUCKDB else local_engine)(kb, jobs)


class _RateColumn(ProgressColumn):
    """Records per second, as rich measures them over the last seconds."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:,.0f} records/s" if task.speed else "")


@contextmanager
def _progress(total: Callable[[], int | None]) -> Iterator[Callable[[], None]]:
    """A progress bar on stderr (records done, records per second, time to go) when stderr is a
    terminal; nothing otherwise, so logs and pipes get only the reported lines (and the inputs
    are not read an extra time to count them)."""
    shown = sys.stderr.isatty()
    bar = Progress(
        TextColumn("assessing"),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not shown,
    )
    task = bar.add_task("assess", total=total() if shown else None)
    with bar:
        yield lambda: bar.advance(task)


@cohort_app.command()
def synth(
    count: Annotated[int, typer.Argument(min=1, help="How many patients.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The JSON Lines file to write.")],
    seed: Annotated[int, typer.Option("--seed", help="The same seed gives the same bytes.")] = (
        SEED
    ),
    as_of: Annotated[
        str, typer.Option("--as-of", help="The day the cohort is followed to, YYYY-MM-DD.")
    ] = AS_OF.isoformat(),
) -> None:
    """Write a synthetic cohort of records v2 (ids SYN-..., no identity), for tests and bench."""
    written = write_jsonl(synthetic_cohort(count, seed=seed, as_of=parse_as_of(as_of)), output)
    typer.echo(f"wrote {written:,} synthetic records to {output}")


class ScreenFormat(StrEnum):
    JSONL = "jsonl"
    TEXT = "text"


@cohort_app.command()
def screen(
    inputs: Annotated[list[str], typer.Argument(help=_INPUTS)],
    trial: Annotated[Path, typer.Option("--trial", help="A trial file (YAML, docs/trials.md).")],
    as_of: Annotated[str, _AS_OF],
    output: Annotated[
        ScreenFormat, typer.Option("--format", help="jsonl (one screening a line) or text.")
    ] = ScreenFormat.JSONL,
) -> None:
    """Screen every patient of a cohort for a trial on --as-of: eligible, not eligible or
    unknown, with each criterion met, failed or unknown. Counts go to stderr; a record that
    cannot be read or assessed is reported there and skipped (exit 2 at the end)."""
    from alscare.cohort.trials import load_trial

    date = parse_as_of(as_of)
    kb = knowledge()
    try:
        chosen = load_trial(trial, kb=kb)
    except AlscareError as error:
        typer.echo(f"alscare: {error}", err=True)
        raise typer.Exit(INVALID_INPUT) from None
    outcome = Outcome()
    statuses: Counter[str] = Counter()
    try:
        for item in source_items(inputs):
            done = _screened(item, chosen, date, kb)
            if isinstance(done, tuple):
                outcome.report(done)
                continue
            statuses[done.status.value] += 1
            typer.echo(done.to_json_line() if output is ScreenFormat.JSONL else _text(done))
    except InputError as error:
        typer.echo(f"alscare: {error}", err=True)
        raise typer.Exit(INVALID_INPUT) from None
    counts = ", ".join(f"{statuses[status]:,} {status}" for status in _STATUS_ORDER)
    typer.echo(f"{chosen.id}: {counts}", err=True)
    raise typer.Exit(outcome.code)


_STATUS_ORDER = ("eligible", "unknown", "not_eligible")


def _screened(
    item: SourceItem, trial: Trial, as_of: dt.date, kb: KnowledgeBase
) -> Screening | tuple[Fault, ...]:
    """The screening of one record, or the faults that keep it out."""
    from alscare.cohort.run import item_record
    from alscare.cohort.trials import screen as screened

    record = item_record(item)
    if isinstance(record, tuple):
        return record
    done = assessed(
        record, as_of, kb, item.ref, lambda assessment: screened(record, assessment, trial, kb=kb)
    )
    return (done,) if isinstance(done, Fault) else done


def _text(screening: Screening) -> str:
    """One patient's screening for a terminal: the status, then each criterion's outcome."""
    lines = [f"{screening.patient_id}: {screening.status.value} ({screening.status_text})"]
    lines += [f"  {result.outcome.value:<7} {result.reason}" for result in screening.criteria]
    return "\n".join(lines)
