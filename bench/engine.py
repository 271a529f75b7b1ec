"""Engine benchmark: assessments per second on one core, against a plain JSON round trip.

    .venv/bin/python bench/engine.py                        # 10,000 records v2 (a few minutes)
    .venv/bin/python bench/engine.py --records 2000 --profile
    .venv/bin/python bench/engine.py --baseline 0f5e9ef     # and release 1's engine, same run
    .venv/bin/python bench/engine.py --skip-cli --version 1

It generates the synthetic cohort of alscare.cohort.synth (longitudinal records v2 by default, v1
with ``--version 1``), pins the process to one CPU (where the OS allows it), and times, over the
same records:

* ``json``: ``json.dumps(json.loads(line))`` per record: the floor any JSON service pays;
* ``parse``: ``parse_record_json(line)``: record validation (and the v1 upgrade) alone;
* ``assess``: ``assess(record, as_of=..., kb=kb)`` on already parsed records (the engine);
* ``api``: ``assess(parse_record_json(line), ...).to_json_line()``: text in, text out;
* ``cli``: ``alscare assess --jsonl FILE --as-of DATE`` in a subprocess (one core too), with
  and without its start-up time (measured on a one-record file);
* with ``--baseline REV``: the engine of git revision REV (checked out in a temporary
  worktree, run in a subprocess on the same core) on the same cohort as records v1, beside
  this engine on those records, so the speed-up is measured in one run.

Nothing is kept while a line is timed: each result is dropped as soon as it is made, so the
figures measure the work and not the garbage collector walking thousands of live results. Each
line prints the time, records per second and the cost relative to ``json``. The target is 2,000
assessments per second on one core for ``assess``. ``--profile`` adds the cProfile hot spots of
``assess`` (by own time, and summed per alscare module).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from alscare import assess, load_knowledge, parse_record_json
from alscare.cohort.synth import AS_OF, SEED, cohort_records, cohort_records_v2

ROOT = Path(__file__).resolve().parent.parent

TARGET_PER_SECOND = 2000
WARM_UP = 50

# Run by the baseline's own interpreter and sources: time its engine on the JSON Lines given.
_BASELINE_TIMER = """
import datetime as dt, gc, sys, time
from alscare import assess, load_knowledge, parse_record_json
kb = load_knowledge()
records = [parse_record_json(line) for line in open(sys.argv[1], encoding="utf-8")]
as_of = dt.date.fromisoformat(sys.argv[2])
for record in records[:50]:
    assess(record, as_of=as_of, kb=kb)
gc.collect()
start = time.perf_counter()
for record in records:
    assess(record, as_of=as_of, kb=kb)
print(time.perf_counter() - start)
"""


def _pin_to_one_core() -> str:
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity on this OS)"
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return f"pinned to CPU {core}"


def _each(work: Callable[[Any], object], items: Iterable[Any]) -> None:
    """Run ``work`` on every item, dropping each result at once."""
    for item in items:
        work(item)


def _best_time(work: Callable[[], None], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def _line(name: str, seconds: float, count: int, baseline: float | None, note: str = "") -> None:
    rate = count / seconds if seconds > 0 else float("inf")
    relative = f"{seconds / baseline:8.1f}x" if baseline else "    1.0x"
    print(f"  {name:<30} {seconds:9.3f} s {rate:12,.0f} /s {relative}  {note}")


def _verdict(count: int, seconds: float) -> str:
    rate = count / seconds if seconds > 0 else float("inf")
    met = "meets" if rate >= TARGET_PER_SECOND else "BELOW"
    return f"{met} the {TARGET_PER_SECOND:,}/s target"


def _cli_seconds(path: Path, as_of: dt.date) -> tuple[float, int, int]:
    """Wall time of ``alscare assess --jsonl``, lines written, exit code."""
    command = [sys.executable, "-m", "alscare", "assess", "--jsonl", str(path)]
    command += ["--as-of", str(as_of)]
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        done = subprocess.run(command, stdout=out, stderr=subprocess.PIPE, check=False)
        seconds = time.perf_counter() - start
        out.seek(0)
        lines = sum(1 for line in out if line.strip())
    if done.returncode != 0:
        print(f"  cli stderr: {done.stderr.decode('utf-8', 'replace').strip()[:500]}")
    return seconds, lines, done.returncode


def _cli(lines: Sequence[str], as_of: dt.date, baseline: float) -> None:
    with tempfile.TemporaryDirectory() as folder:
        cohort_file, one_file = Path(folder) / "cohort.jsonl", Path(folder) / "one.jsonl"
        cohort_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
        one_file.write_text(lines[0] + "\n", encoding="utf-8")
        startup, _, _ = _cli_seconds(one_file, as_of)
        seconds, written, code = _cli_seconds(cohort_file, as_of)
    count = len(lines)
    _line("cli --jsonl (wall)", seconds, count, baseline, f"exit {code}, {written:,} lines out")
    _line("cli --jsonl (less start-up)", max(seconds - startup, 1e-9), count, baseline,
          f"start-up {startup:.2f} s")  # fmt: skip


def _baseline_seconds(revision: str, lines_v1: Sequence[str], as_of: dt.date) -> float:
    """The engine of ``revision`` timed on the records, in its own worktree and process."""
    with tempfile.TemporaryDirectory() as folder:
        tree = Path(folder) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree),
                        revision], check=True)  # fmt: skip
        try:
            data = Path(folder) / "records.jsonl"
            data.write_text("\n".join(lines_v1) + "\n", encoding="utf-8")
            environment = {**os.environ, "PYTHONPATH": str(tree / "src")}
            done = subprocess.run(
                [sys.executable, "-c", _BASELINE_TIMER, str(data), str(as_of)],
                capture_output=True, text=True, env=environment, check=True,
            )  # fmt: skip
            return float(done.stdout.strip().splitlines()[-1])
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                           check=False)  # fmt: skip


def _compare(revision: str, args: argparse.Namespace, kb: Any) -> None:
    cohort = cohort_records(args.records, seed=args.seed, as_of=args.as_of)
    lines = [json.dumps(record, separators=(",", ":")) for record in cohort]
    records = [parse_record_json(line) for line in lines]
    _each(lambda record: assess(record, as_of=args.as_of, kb=kb), records[:WARM_UP])
    ours = _best_time(lambda: _each(lambda r: assess(r, as_of=args.as_of, kb=kb), records), 1)
    theirs = _baseline_seconds(revision, lines, args.as_of)
    count = len(records)
    print(f"\nThe same {count:,} records v1, this engine beside {revision}'s (one core each):")
    _line(f"assess ({revision})", theirs, count, None)
    _line("assess (this engine)", ours, count, None, f"{theirs / ours:.1f}x faster")


# The steps assess() runs (engine/__init__.py); their cumulative times show where it goes.
ENGINE_STEPS = (
    "assess",
    "patient_state",
    "regions",
    "differentials",
    "criteria",
    "derived_scores",
    "staging",
    "encals",
    "course",
    "diagnostic_factors",
    "risk_factors",
    "investigation_plan",
    "recommendations",
    "alerts",
)


def _module_of(filename: str) -> str:
    if filename == "~":
        return "(built-in functions)"
    for marker, prefix in (("/alscare/", "alscare/"), ("site-packages/", "")):
        if marker in filename:
            rest = filename.split(marker, 1)[1]
            return prefix + (rest if prefix else rest.split("/", 1)[0])
    if "/lib/python3" in filename:
        return "stdlib " + filename.split("/lib/python3", 1)[1].split("/", 1)[1]
    return filename


def _profile(records: Sequence[object], as_of: dt.date, top: int) -> None:
    kb = load_knowledge()
    profiler = cProfile.Profile()
    profiler.enable()
    for record in records:
        assess(record, as_of=as_of, kb=kb)  # type: ignore[arg-type]
    profiler.disable()
    stats = pstats.Stats(profiler)
    entries = stats.stats.items()  # type: ignore[attr-defined]
    print(f"\nProfile of assess() over {len(records):,} records (cProfile adds overhead).")
    print(f"  {stats.total_calls / len(records):,.0f} Python calls per assessment")  # type: ignore[attr-defined]
    print("Cumulative time per engine step:")
    for (filename, line, name), (_, _, _, cumulative, _) in sorted(entries, key=lambda e: -e[1][3]):
        if "/alscare/engine/" in filename and name in ENGINE_STEPS:
            where = f"engine/{filename.split('/alscare/engine/', 1)[1]}:{line}"
            print(f"  {cumulative:8.3f} s  {name:<20} {where}")
    print("\nOwn time summed per module:")
    per_module: dict[str, float] = defaultdict(float)
    for (filename, _, _), (_, _, own, _, _) in entries:
        per_module[_module_of(filename)] += own
    total = sum(per_module.values())
    for module, own in sorted(per_module.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {own:8.3f} s {100 * own / total:5.1f} %  {module}")
    print(f"\nFunctions by own time (top {top}):")
    stats.sort_stats(pstats.SortKey.TIME).print_stats(top)


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=AS_OF)
    parser.add_argument("--version", type=int, choices=(1, 2), default=2, help="record version")
    parser.add_argument("--repeat", type=int, default=3, help="best of N for every line")
    parser.add_argument("--skip-cli", action="store_true")
    parser.add_argument("--baseline", metavar="REV", help="also time the engine of git REV")
    parser.add_argument("--profile", action="store_true", help="cProfile assess() afterwards")
    parser.add_argument("--profile-records", type=int, default=2000)
    parser.add_argument("--top", type=int, default=25)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    cohort = cohort_records_v2 if args.version == 2 else cohort_records
    print(f"alscare engine benchmark: {args.records:,} records v{args.version}, as of {args.as_of}")
    print(f"  Python {sys.version.split()[0]}, {_pin_to_one_core()}")
    start = time.perf_counter()
    data = cohort(args.records, seed=args.seed, as_of=args.as_of)
    lines = [json.dumps(record, separators=(",", ":")) for record in data]
    del data
    size = sum(len(line) for line in lines) / len(lines)
    print(f"  cohort generated in {time.perf_counter() - start:.1f} s, {size:,.0f} bytes/record")
    start = time.perf_counter()
    kb = load_knowledge()
    print(f"  knowledge base {kb.version} loaded in {time.perf_counter() - start:.2f} s\n")

    count, as_of, repeat = len(lines), args.as_of, args.repeat
    baseline = _best_time(lambda: _each(lambda line: json.dumps(json.loads(line)), lines), repeat)
    _line("json (loads + dumps)", baseline, count, None)
    seconds = _best_time(lambda: _each(parse_record_json, lines), repeat)
    _line(f"parse (record v{args.version})", seconds, count, baseline)
    records = [parse_record_json(line) for line in lines]
    _each(lambda record: assess(record, as_of=as_of, kb=kb), records[:WARM_UP])
    seconds = _best_time(lambda: _each(lambda r: assess(r, as_of=as_of, kb=kb), records), repeat)
    _line("assess (engine)", seconds, count, baseline, _verdict(count, seconds))
    seconds = _best_time(
        lambda: _each(
            lambda line: assess(parse_record_json(line), as_of=as_of, kb=kb).to_json_line(), lines
        ),
        repeat,
    )
    _line("api (text in, text out)", seconds, count, baseline)
    if not args.skip_cli:
        _cli(lines, as_of, baseline)
    if args.baseline:
        _compare(args.baseline, args, kb)
    if args.profile:
        _profile(records[: args.profile_records], as_of, args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
