"""County tasks that fail once, for the recovery tests (shipped to the workers by value)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from parcelwatch.province.task import CountyResult, county_task


def fail_once(
    store: str, county: str, batch: str, *, marker: str, target: str, how: str, log: str, **kw: Any
) -> CountyResult:
    """On the first attempt at ``target``: kill the worker process (``how='exit'``) or raise."""
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(f"{county}\n")
    m = Path(marker)
    if county == target and not m.exists():
        m.write_text(str(os.getpid()), encoding="utf-8")
        if how == "exit":
            os._exit(1)
        raise OSError(f"simulated read error on shared storage while reading county {county}")
    return county_task(store, county, batch, **kw)


def counted(store: str, county: str, batch: str, *, log: str, **kw: Any) -> CountyResult:
    """The county task, logging each call (one line per attempt) to ``log``."""
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(f"{county}\n")
    return county_task(store, county, batch, **kw)
