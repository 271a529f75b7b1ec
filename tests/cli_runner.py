"""``cli``: a fixture that runs ``alscare ARGS...`` as the console script does, in this process,
and ``Run``, what it gives back; for the command-line tests of every module."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from alscare.cli import main

__all__ = ["Run", "cli"]


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def errors(self) -> list[str]:
        return self.stderr.splitlines()

    @property
    def usage_error(self) -> str:
        """A usage error's text without the box rich draws around it, on one line."""
        return " ".join(self.stderr.replace("│", " ").split())


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    """Runs ``alscare ARGS...`` as the console script does, in this process."""

    def run(*args: str) -> Run:
        with pytest.raises(SystemExit) as exit_:
            main(args)
        out, err = capsys.readouterr()
        code = exit_.value.code
        return Run(code if isinstance(code, int) else 1, out, err)

    return run
