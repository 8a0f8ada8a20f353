"""Fixtures: the sample county's workspace (built once by the README demo) and its exports."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from parcelwatch.ledger import Workspace, open_workspace
from parcelwatch.ledger.model import ProblemRecord
from parcelwatch.pipeline import export_all
from tests.conftest import DemoRun

TODAY = date(2026, 11, 7)


@dataclass
class Exported:
    """The demo workspace, its records and every export written by ``export_all``."""

    ws: Workspace
    records: list[ProblemRecord]
    paths: dict[str, Path]
    out: Path

    def record(self, problem_id: str) -> ProblemRecord:
        return next(r for r in self.records if r.problem_id == problem_id)


@pytest.fixture(scope="session")
def demo_workspace(demo_run: DemoRun) -> Path:
    """The sample county's workspace after the demo's two batches and staff decisions (the
    session's one demo run, read-only)."""
    return demo_run.workspace


@pytest.fixture(scope="session")
def exported(demo_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exported]:
    """``export_all`` of the demo workspace into a fresh folder."""
    out = tmp_path_factory.mktemp("exports")
    ws = open_workspace(demo_workspace)
    try:
        paths = export_all(ws, out, today=TODAY)
        yield Exported(ws, ws.store.records(), paths, out)
    finally:
        ws.close()
