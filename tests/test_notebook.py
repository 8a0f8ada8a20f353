"""The walkthrough notebook runs top to bottom on the sample county (public API only)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "walkthrough.ipynb"


def test_walkthrough_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARCELWATCH_SAMPLES", str(REPO / "data" / "samples"))
    monkeypatch.setenv("PARCELWATCH_OUT", str(tmp_path))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    start = time.monotonic()
    client.execute(env=dict(os.environ))
    assert time.monotonic() - start < 60
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors
    assert (tmp_path / "exports" / "问题图斑.shp").exists()
    assert (tmp_path / "exports" / "大棚房问题县级自验表.xlsx").exists()
    assert (tmp_path / "整改中.kmz").exists()
    assert (tmp_path / "battle_map.html").exists()
