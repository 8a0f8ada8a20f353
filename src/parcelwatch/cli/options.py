"""What the commands share: the clock, the verbosity and the progress display.

The library never prints: long functions take a ``progress(done, total)`` callback for their long
loops and an ``on_stage(name)`` callback called as each stage starts. Only the CLI renders them,
through :class:`Reporter`:

* on a terminal (stderr is a TTY) a progress bar: over the items of a loop, or over the stages;
* when stderr is piped or redirected, no bar and no stray label (``click.progressbar`` would
  still print its label once);
* with ``-v``, every stage on its own line with its time (``  读取图层 ... 1.23 s``), piped or not.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timezone
from typing import Any, TextIO

import click

__all__ = ["now", "today", "verbosity", "Reporter", "reporter", "out_file"]


def out_file(help: str | None = None) -> Callable[[Any], Any]:
    """The required ``-o/--out FILE`` option (parameter ``out_path``) of the commands that write one file."""
    return click.option(
        "-o", "--out", "out_path", required=True, type=click.Path(dir_okay=False), help=help
    )


def now() -> datetime:
    """The current time in the local time zone (the CLI is the only place the clock is read)."""
    return datetime.now(timezone.utc).astimezone()


def today() -> date:
    """Today's date in the local time zone (from :func:`now`)."""
    return now().date()


def verbosity() -> int:
    """The ``-v`` count of the running command (0 outside a click context)."""
    ctx = click.get_current_context(silent=True)
    while ctx is not None:
        if isinstance(ctx.obj, dict) and "verbose" in ctx.obj:
            return int(ctx.obj["verbose"])
        ctx = ctx.parent
    return 0


class Reporter:
    """Renders the library's progress and stage callbacks for one command on ``stream``."""

    def __init__(
        self, label: str, *, verbose: int = 0, stream: TextIO | None = None, tty: bool | None = None
    ) -> None:
        self.label = label
        self.verbose = verbose
        self.stream = stream if stream is not None else sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.tty = bool(isatty()) if tty is None and callable(isatty) else bool(tty)
        self._bar: Any = None
        self._bar_done = 0
        self._stage: str | None = None
        self._stage_start = 0.0
        self._stages: Sequence[str] = ()
        self._stage_bar: Any = None

    # -- item progress -------------------------------------------------------------------

    def progress(
        self, label: str | None = None, *, min_total: int = 1
    ) -> Callable[[int, int], None]:
        """A ``progress(done, total)`` callback drawing a bar on a terminal (nothing when piped)."""
        title = label or self.label

        def report(done: int, total: int) -> None:
            if not self.tty or total < min_total:
                return
            if self._stage_bar is not None:  # one line: the stage bar carries the count
                self._stage_bar.label = f"{self.label}: {self._stage or title} {done}/{total}"
                self._stage_bar.render_progress()
                return
            if self._bar is None:
                self._bar = click.progressbar(length=total, label=title, file=self.stream)
                self._bar.__enter__()
                self._bar_done = 0
            self._bar.update(max(0, done - self._bar_done))
            self._bar_done = done
            if done >= total:
                self._close_bar()

        return report

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None

    # -- stages --------------------------------------------------------------------------

    def on_stage(self, name: str) -> None:
        """Start stage ``name`` (ends the previous one; ``-v`` prints it with its time)."""
        self._end_stage()
        self._stage = name
        self._stage_start = time.perf_counter()
        if self._stage_bar is not None and name in self._stages:
            self._stage_bar.label = f"{self.label}: {name}"
            self._stage_bar.render_progress()

    def _end_stage(self) -> None:
        if self._stage is None:
            return
        self._close_bar()
        elapsed = time.perf_counter() - self._stage_start
        if self.verbose:
            if self._stage_bar is not None:
                self.stream.write("\n")
            self.stream.write(f"  {self._stage} ... {elapsed:.2f} s\n")
            self.stream.flush()
        if self._stage_bar is not None:
            self._stage_bar.update(1)
        self._stage = None

    @contextmanager
    def stages(self, names: Sequence[str] = ()) -> Iterator[Reporter]:
        """Report stages for the block (a bar over ``names`` on a terminal); ends the last one."""
        self._stages = tuple(names)
        if self.tty and names and not self.verbose:
            self._stage_bar = click.progressbar(
                length=len(names), label=self.label, file=self.stream
            )
            self._stage_bar.__enter__()
        try:
            yield self
            self._end_stage()
        finally:
            self._stage = None
            self._close_bar()
            if self._stage_bar is not None:
                self._stage_bar.__exit__(None, None, None)
                self._stage_bar = None

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """One stage around a block (for commands that call several library functions)."""
        self.on_stage(name)
        yield
        self._end_stage()


def reporter(label: str) -> Reporter:
    """A reporter on stderr for the running command, with its ``-v`` level."""
    return Reporter(label, verbose=verbosity())
