"""Cohort benchmark: ``alscare cohort run`` on synthetic cohorts, engine by engine.

    .venv/bin/python bench/cohort.py                          # 10,000 and 100,000 records
    .venv/bin/python bench/cohort.py --sizes 10000 --engines duckdb,local
    .venv/bin/python bench/cohort.py --sizes 1000000 --engines local   # about half an hour

For each size it writes one synthetic cohort (``alscare cohort synth``, records v2) and runs
``alscare cohort run`` on it once per engine, each in a fresh process, as a user would: input
read, every record assessed, ``assessments.parquet``, ``summary.json`` and ``report.html``
written. Each line prints the wall time, records per second, records per second per core (the
run's processes or Spark's local[N] cores), and the peak memory of the largest process of the
run (the CLI, a worker, or Spark's JVM), with the run's start-up time measured on a 100-record
cohort. At the end, the time a cluster of N cores would take for 1,000,000 records, projected
from the best per-core rate (the per-patient function is independent per record, so it scales
with cores; start-up and the aggregation are added once).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from alscare.cohort.synth import AS_OF, SEED, synthetic_cohort, write_jsonl

# Each run as a child of this small program, so that its peak memory is that run's alone.
_MEASURED = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
if done.returncode not in (0, 2):
    sys.stderr.write(done.stderr.decode("utf-8", "replace")[-2000:])
    raise SystemExit(done.returncode)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""
_ENGINES = {  # name: (engine, jobs, cores used)
    "duckdb": ("duckdb", 1, 1),
    "local[2]": ("local", 2, 2),
    "spark local[1]": ("spark", 1, 1),
    "spark local[2]": ("spark", 2, 2),
}
_STARTUP_RECORDS = 100
_PROJECTED_RECORDS = 1_000_000
_CLUSTER_CORES = (16, 64, 256)


@dataclass(frozen=True)
class Timing:
    engine: str
    records: int
    seconds: float
    cores: int
    peak_mb: float
    startup: float

    @property
    def per_core(self) -> float:
        """Records per second per core, less the run's fixed start-up."""
        return self.records / max(self.seconds - self.startup, 1e-9) / self.cores


def _run(engine: str, source: Path, out: Path, as_of: dt.date) -> tuple[float, float]:
    """Wall seconds and peak megabytes of one ``alscare cohort run``."""
    name, jobs, _ = _ENGINES[engine]
    command = [sys.executable, "-m", "alscare", "cohort", "run", str(source)]
    command += ["--as-of", as_of.isoformat(), "-o", str(out), "--engine", name]
    command += ["--jobs", str(jobs)]
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _MEASURED, *command], capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{engine} failed: {done.stderr.strip()}")
    shutil.rmtree(out)
    return seconds, int(done.stdout.strip()) / 1024  # ru_maxrss is in kilobytes on Linux


def _cohort(folder: Path, records: int, seed: int, as_of: dt.date) -> Path:
    path = folder / f"cohort-{records}.jsonl"
    start = time.perf_counter()
    write_jsonl(synthetic_cohort(records, seed=seed, as_of=as_of), path)
    size = path.stat().st_size / 1e6
    print(
        f"  {records:,} records v2 written in {time.perf_counter() - start:.1f} s ({size:,.0f} MB)"
    )
    return path


def _line(timing: Timing) -> None:
    rate = timing.records / timing.seconds
    print(
        f"  {timing.engine:<16} {timing.records:>9,} {timing.seconds:9.1f} s {rate:9,.0f} /s"
        f" {timing.per_core:9,.0f} /s/core {timing.peak_mb:8,.0f} MB"
        f"   start-up {timing.startup:.1f} s"
    )


def _projection(timings: Sequence[Timing]) -> None:
    best = max(timings, key=lambda timing: timing.per_core)
    spark = [timing for timing in timings if timing.engine.startswith("spark")]
    fixed = max((timing.startup for timing in spark), default=best.startup)
    print(f"\n{_PROJECTED_RECORDS:,} records, from {best.engine}'s {best.per_core:,.0f} /s/core")
    print(f"  this machine, 2 cores: {_minutes(_PROJECTED_RECORDS / best.per_core / 2)}")
    for cores in _CLUSTER_CORES:
        seconds = fixed + _PROJECTED_RECORDS / best.per_core / cores
        print(f"  a cluster of {cores} cores (Spark start-up {fixed:.0f} s): {_minutes(seconds)}")


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min ({seconds:,.0f} s)"


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="cohort sizes, comma-separated")
    parser.add_argument("--engines", default=",".join(_ENGINES), help=f"of {', '.join(_ENGINES)}")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=AS_OF)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    engines = [name.strip() for name in args.engines.split(",")]
    unknown = [name for name in engines if name not in _ENGINES]
    if unknown:
        raise SystemExit(f"unknown engines {unknown}: choose from {list(_ENGINES)}")
    print(f"alscare cohort benchmark, as of {args.as_of}, {os.cpu_count()} CPUs")
    timings: list[Timing] = []
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        small = _cohort(folder, _STARTUP_RECORDS, args.seed, args.as_of)
        startup = {name: _run(name, small, folder / "out", args.as_of)[0] for name in engines}
        for size in (int(text) for text in args.sizes.split(",")):
            source = _cohort(folder, size, args.seed, args.as_of)
            print(f"  {'engine':<16} {'records':>9} {'wall':>11} {'rate':>12} {'per core':>15}"
                  f" {'peak':>11}")  # fmt: skip
            for name in engines:
                seconds, peak = _run(name, source, folder / "out", args.as_of)
                timing = Timing(name, size, seconds, _ENGINES[name][2], peak, startup[name])
                timings.append(timing)
                _line(timing)
            source.unlink()
    _projection(timings)
    if args.json:
        figures = [{**timing.__dict__, "per_core": timing.per_core} for timing in timings]
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
