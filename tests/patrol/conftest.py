"""Patrol test fixtures: a workspace with patrol.toml (illustrative points of §B.3) and a photo."""

from __future__ import annotations

import re

import pytest

from parcelwatch.cli import main

POINTS = {"ZR-01": 2, "ZR-02": 2, "NY-05": 1, "NY-02": 1}


def set_points(ws, points=POINTS):
    path = ws / "patrol.toml"
    text = path.read_text(encoding="utf-8")
    for code, p in points.items():
        text = re.sub(rf'(\{{ code = "{code}", [^}}]*?) \}}', rf"\1, points = {p} }}", text)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def ws(tmp_path, capsys):
    from PIL import Image

    w = tmp_path / "ws"
    for args in (
        ["init", w, "--county-code", "441803", "--county-name", "清新区"],
        ["patrol", "init", w],
    ):
        assert main([str(a) for a in args]) == 0, capsys.readouterr()
    set_points(w)
    capsys.readouterr()
    Image.new("RGB", (8, 8), (200, 50, 50)).save(tmp_path / "site.jpg")
    return w
