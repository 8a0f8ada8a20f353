"""The walkthrough notebook runs top to bottom on the sample county (public API only)."""

from __future__ import annotations

import html
import os
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from parcelwatch.maps.offline import assert_offline

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
    # the folium map (parcelwatch.explore) is shown, and neither its cell output nor the saved
    # page loads anything from the network
    maps = [
        html.unescape(o["data"]["text/html"])
        for c in nb.cells
        if c.cell_type == "code" and "parcelwatch.explore" in c.source
        for o in c.get("outputs", [])
        if "text/html" in o.get("data", {})
    ]
    assert len(maps) == 1 and "leaflet" in maps[0].lower() and "L.geoJson" in maps[0]
    assert_offline(maps[0])
    assert_offline((tmp_path / "explore.html").read_text(encoding="utf-8"))
