"""``assess --jsonl``: one record per line in, one result per line out, on one or more processes.

Each non-blank line is read, assessed and serialised by :meth:`LineJob.result`, in this process
(one job) or in a pool of worker processes (:func:`results_in_order`, which any :class:`Job`
uses: the cohort run too). Either way the results come back in input order and only this
process writes them, so the output bytes and the stderr lines are the same whatever the number
of workers. Tasks go to the workers in batches, one batch in flight while the one before is
written, so memory stays bounded however long the input is.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import signal
import sys
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from multiprocessing.context import BaseContext
from multiprocessing.pool import AsyncResult
from pathlib import Path
from typing import Any, Protocol, TypeVar

from alscare.cli.inputs import Fault, assessed, read_record, unchanged
from alscare.knowledge import KnowledgeBase, default_knowledge
from alscare.schemas.assessment import Assessment

__all__ = [
    "Job",
    "LineJob",
    "LineResult",
    "numbered_lines",
    "results_in_order",
    "usable_cores",
]

TaskT = TypeVar("TaskT", contravariant=True)
ResultT = TypeVar("ResultT", covariant=True)


class Job(Protocol[TaskT, ResultT]):
    """What a worker does with one task; pickled once per worker, so it holds only plain data."""

    def result(self, kb: KnowledgeBase, task: TaskT) -> ResultT: ...


# Lines per worker in one batch, and per task sent to a worker: a task of a few dozen records
# amortises the pickling of a task, and a batch of a few hundred keeps every worker busy while
# the batch before it is written.
_BATCH_PER_WORKER = 256
_LINES_PER_TASK = 16


@dataclass(frozen=True, slots=True)
class LineResult:
    """What one line gave: its faults, or its assessment as a JSON line (JSON output) or as the
    model itself (text output, which the parent renders for its own terminal)."""

    faults: tuple[Fault, ...] = ()
    line: str | None = None
    assessment: Assessment | None = None


@dataclass(frozen=True, slots=True)
class LineJob:
    """How to treat each line of one JSON Lines file."""

    path: str
    as_of: dt.date
    text: bool

    def result(self, kb: KnowledgeBase, task: tuple[int, bytes]) -> LineResult:
        number, raw = task
        label = f"{self.path}:{number}"
        read = read_record(raw, label)
        if read.record is None:
            return LineResult(read.faults)
        if self.text:
            done = assessed(read.record, self.as_of, kb, label, unchanged)
            return LineResult((done,)) if isinstance(done, Fault) else LineResult(assessment=done)
        line = assessed(read.record, self.as_of, kb, label, Assessment.to_json_line)
        return LineResult((line,)) if isinstance(line, Fault) else LineResult(line=line)


def usable_cores() -> int:
    """The CPUs this process may run on (its affinity mask, which a container or ``taskset``
    narrows), or the machine's count where the OS does not say."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity call
        return os.cpu_count() or 1


def numbered_lines(path: str) -> Iterator[tuple[int, bytes]]:
    """The non-blank lines of a file (standard input for ``-``) with their line numbers."""
    if path == "-":
        yield from _non_blank(sys.stdin.buffer)
        return
    with Path(path).open("rb") as lines:
        yield from _non_blank(lines)


def _non_blank(lines: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    return ((number, raw) for number, raw in enumerate(lines, start=1) if raw.strip())


T = TypeVar("T")
R = TypeVar("R")


def results_in_order(
    job: Job[T, R], tasks: Iterator[T], kb: KnowledgeBase, workers: int
) -> Generator[R, None, None]:
    """The result of every task, in input order, computed on ``workers`` processes.

    Close the iterator (``contextlib.closing``) when stopping early: that ends the workers.
    """
    if workers == 1:
        for task in tasks:
            yield job.result(kb, task)
        return
    with _context().Pool(workers, initializer=_start_worker, initargs=(job,)) as pool:
        pending: AsyncResult[list[R]] | None = None
        while batch := list(islice(tasks, workers * _BATCH_PER_WORKER)):
            submitted = pool.map_async(_worker_result, batch, chunksize=_LINES_PER_TASK)
            if pending is not None:
                yield from pending.get()
            pending = submitted
        if pending is not None:
            yield from pending.get()


def _context() -> BaseContext:
    """Fork where the OS has it: the workers inherit the loaded knowledge base instead of each
    loading it again (a second apiece), and the command line runs no threads that a fork could
    catch holding a lock. Elsewhere the default start method, and each worker loads it."""
    if "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


# The job and knowledge base of a worker process, set once when the worker starts: the pool
# calls a plain function per task, so they cannot travel as arguments without being pickled
# each time (and the knowledge base, holding compiled rules, cannot be pickled at all).
_worker: tuple[Job[Any, Any], KnowledgeBase] | None = None


def _start_worker(job: Job[Any, Any]) -> None:
    global _worker
    # Ctrl-C reaches the whole process group; the parent alone answers it (and ends the pool),
    # so that the workers do not each print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker = (job, default_knowledge())


def _worker_result(task: Any) -> Any:
    assert _worker is not None, "the pool starts every worker with _start_worker"
    job, kb = _worker
    return job.result(kb, task)
