"""Engine benchmark: assessments per second on one core, against a plain JSON round trip.

    .venv/bin/python bench/engine.py                      # 10,000 records (a few minutes)
    .venv/bin/python bench/engine.py --records 2000 --profile
    .venv/bin/python bench/engine.py --skip-cli

It generates the synthetic cohort of bench/cohort.py, pins the process to one CPU (where the
OS allows it), and times, over the same records:

* ``json``: ``json.dumps(json.loads(line))`` per record: the floor any JSON service pays;
* ``parse``: ``parse_record_json(line)``: record v1 validation alone;
* ``assess``: ``assess(record, as_of=..., kb=kb)`` on already parsed records (the engine);
* ``api``: ``assess(parse_record_json(line), ...).to_json_line()``: text in, text out, through
  the public API;
* ``cli``: ``alscare assess --jsonl FILE --as-of DATE`` in a subprocess (one core too),
  with and without its start-up time (measured on a one-record file).

Each line prints the time, records per second and the cost relative to ``json``. The target
is 2,000 assessments per second on one core, for ``assess`` and ``api``. ``--profile`` adds
the cProfile hot spots of ``assess`` (by own time, and summed per alscare module). Whatever
the engine does when this runs is what gets measured: the script only calls the public API.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: make ``bench.cohort`` importable

from bench.cohort import AS_OF, SEED, cohort_records  # noqa: E402

from alscare import assess, load_knowledge, parse_record_json  # noqa: E402

TARGET_PER_SECOND = 2000
WARM_UP = 50


def _pin_to_one_core() -> str:
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity on this OS)"
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return f"pinned to CPU {core}"


def _best_time(work: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def _line(name: str, seconds: float, count: int, baseline: float | None, note: str = "") -> None:
    rate = count / seconds if seconds > 0 else float("inf")
    relative = f"{seconds / baseline:8.1f}x" if baseline else "    1.0x"
    print(f"  {name:<26} {seconds:9.3f} s {rate:12,.0f} /s {relative}  {note}")


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


# The steps assess() runs (engine/__init__.py); their cumulative times show where it goes.
ENGINE_STEPS = (
    "assess",
    "cut_off",
    "regions",
    "criteria",
    "differentials",
    "scores",
    "staging",
    "prognosis",
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=AS_OF)
    parser.add_argument("--repeat", type=int, default=3, help="best of N for the fast steps")
    parser.add_argument("--skip-cli", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile assess() afterwards")
    parser.add_argument("--profile-records", type=int, default=2000)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)

    print(f"alscare engine benchmark: {args.records:,} records, as of {args.as_of}")
    print(f"  Python {sys.version.split()[0]}, {_pin_to_one_core()}")
    start = time.perf_counter()
    data = cohort_records(args.records, seed=args.seed, as_of=args.as_of)
    lines = [json.dumps(record, separators=(",", ":")) for record in data]
    size = sum(len(line) for line in lines) / len(lines)
    print(f"  cohort generated in {time.perf_counter() - start:.1f} s, {size:,.0f} bytes/record")
    start = time.perf_counter()
    kb = load_knowledge()
    print(f"  knowledge base {kb.version} loaded in {time.perf_counter() - start:.2f} s\n")

    count = len(lines)
    baseline = _best_time(lambda: [json.dumps(json.loads(line)) for line in lines], args.repeat)
    _line("json (loads + dumps)", baseline, count, None)
    parse_seconds = _best_time(lambda: [parse_record_json(line) for line in lines], args.repeat)
    _line("parse (record v1)", parse_seconds, count, baseline)
    records = [parse_record_json(line) for line in lines]
    for record in records[:WARM_UP]:
        assess(record, as_of=args.as_of, kb=kb)
    assess_seconds = _best_time(
        lambda: [assess(record, as_of=args.as_of, kb=kb) for record in records], 1
    )
    _line("assess (engine)", assess_seconds, count, baseline, _verdict(count, assess_seconds))
    api_seconds = _best_time(
        lambda: [
            assess(parse_record_json(line), as_of=args.as_of, kb=kb).to_json_line()
            for line in lines
        ],
        1,
    )
    _line("api (text in, text out)", api_seconds, count, baseline, _verdict(count, api_seconds))

    if not args.skip_cli:
        with tempfile.TemporaryDirectory() as folder:
            cohort_file, one_file = Path(folder) / "cohort.jsonl", Path(folder) / "one.jsonl"
            cohort_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
            one_file.write_text(lines[0] + "\n", encoding="utf-8")
            startup, _, _ = _cli_seconds(one_file, args.as_of)
            seconds, written, code = _cli_seconds(cohort_file, args.as_of)
        note = f"exit {code}, {written:,} lines out"
        _line("cli --jsonl (wall)", seconds, count, baseline, note)
        _line(
            "cli --jsonl (less start-up)",
            max(seconds - startup, 1e-9),
            count,
            baseline,
            f"start-up {startup:.2f} s",
        )

    if args.profile:
        _profile(records[: args.profile_records], args.as_of, args.top)
    return 0


def _verdict(count: int, seconds: float) -> str:
    rate = count / seconds if seconds > 0 else float("inf")
    met = "meets" if rate >= TARGET_PER_SECOND else "BELOW"
    return f"{met} the {TARGET_PER_SECOND:,}/s target"


if __name__ == "__main__":
    raise SystemExit(main())
