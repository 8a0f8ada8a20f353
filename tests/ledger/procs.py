"""Other processes for the many-processes tests, started without paying the imports each time.

A writer script used to run as ``python -c SCRIPT``: every process imported pandas, geopandas,
SQLAlchemy and the ledger first (~2 CPU-s each, 24 processes in tests/ledger), mostly while the
other writers were already running. Here each script runs in a child forked from a
``multiprocessing`` fork server that imported those modules once per test worker. The child is
still a separate OS process with its own connections (the fork server holds no connection, no
store and no thread), it can be killed with SIGKILL, and ``communicate``/``returncode``/``poll``/
``pid`` behave as :class:`subprocess.Popen`'s: stdout and stderr are the child's file descriptors
1 and 2, written to files that ``communicate`` reads.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

# What the scripts import: loaded once, in the fork server.
PRELOAD = [
    "parcelwatch.errors",
    "parcelwatch.ledger.model",
    "parcelwatch.ledger.store",
    "parcelwatch.ledger.pgstore",
    "parcelwatch.ledger.workspace",
    "parcelwatch.ledger.xlsx",
    "parcelwatch.pipeline",
    "tests.ledger.conftest",
]

_CTX = multiprocessing.get_context("forkserver")
_CTX.set_forkserver_preload(PRELOAD)


def _run_script(code: str, argv: list[str], out: str, err: str) -> None:
    """In the child: fds 1 and 2 to the files, then the script as ``python -c`` runs it."""
    for fd, path in ((1, out), (2, err)):
        f = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(f, fd)
        os.close(f)
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False, buffering=1)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", closefd=False, buffering=1)  # noqa: SIM115
    sys.argv = ["-c", *argv]
    exec(compile(code, "<script>", "exec"), {"__name__": "__main__"})  # noqa: S102
    sys.stdout.flush()
    sys.stderr.flush()


class ScriptProcess:
    """A running script, with the part of :class:`subprocess.Popen` the tests use."""

    def __init__(self, code: str, *args: str) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="pw-proc-"))
        self._out, self._err = self._dir / "stdout", self._dir / "stderr"
        self._proc = _CTX.Process(
            target=_run_script,
            args=(textwrap.dedent(code), list(args), str(self._out), str(self._err)),
        )
        self._proc.start()
        self.pid = self._proc.pid

    @property
    def returncode(self) -> int | None:
        """0, 1 for an uncaught exception, -N when killed by signal N (as Popen's)."""
        return self._proc.exitcode

    def poll(self) -> int | None:
        return self._proc.exitcode

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        self._proc.join(timeout)
        if self._proc.exitcode is None:
            raise subprocess.TimeoutExpired("script", timeout or 0)
        texts = tuple(
            p.read_text(encoding="utf-8") if p.exists() else "" for p in (self._out, self._err)
        )
        for p in (self._out, self._err):
            p.unlink(missing_ok=True)
        self._dir.rmdir()
        return texts  # type: ignore[return-value]
