"""Progress on long work: a bar on a terminal, nothing stray when piped, stage times with -v.

Before: `check` printed a bare "recording" line on stderr when piped (click's progress bar prints
its label once when the stream is not a terminal); classify, map, export, imagery and samples
make showed nothing at all.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys

import geopandas as gpd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner

from parcelwatch.cli import cli
from parcelwatch.cli.ledger import _progress
from parcelwatch.cli.options import Reporter
from tests.conftest import SAMPLES, X0, Y0, SamplesMade, write_shapefile


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_reporter_draws_a_bar_on_a_terminal_and_nothing_when_piped():
    piped = io.StringIO()
    rep = Reporter("写入台账", stream=piped)
    cb = rep.progress()
    for i in range(0, 601, 100):
        cb(i, 600)
    assert piped.getvalue() == ""
    term = _Tty()
    cb = Reporter("写入台账", stream=term).progress()
    for i in range(0, 601, 100):
        cb(i, 600)
    assert "写入台账" in term.getvalue() and "100%" in term.getvalue()


def test_stages_bar_on_a_terminal_and_stage_times_with_v():
    term = _Tty()
    rep = Reporter("分类", stream=term)
    with rep.stages(["读取图层", "写出"]):
        rep.on_stage("读取图层")
        rep.on_stage("写出")
    assert "分类" in term.getvalue() and "100%" in term.getvalue()
    piped = io.StringIO()
    rep = Reporter("分类", stream=piped, verbose=1)
    with rep.stages(["读取图层", "写出"]):
        rep.on_stage("读取图层")
        rep.on_stage("写出")
    lines = piped.getvalue().splitlines()
    assert [re.sub(r"\d+\.\d\d", "T", x) for x in lines] == ["  读取图层 ... T s", "  写出 ... T s"]


def test_old_recording_callback_leaves_nothing_on_a_pipe(capsys):
    cb = _progress("recording")
    for i in range(0, 1001, 250):
        cb(i, 1000)
    assert capsys.readouterr().err == ""


@pytest.fixture(scope="module")
def layers(tmp_path_factory):
    """One parcel on one 旱地 patch with a house: a conversion candidate."""
    d = tmp_path_factory.mktemp("progress")
    parcels = gpd.GeoDataFrame(
        {"监测编号": ["J1"]}, geometry=[shapely.box(X0, Y0, X0 + 100, Y0 + 100)], crs=4549
    )
    write_shapefile(parcels, d / "卫片图斑.shp")
    farm = gpd.GeoDataFrame(
        {"DLBM": ["0103"]}, geometry=[shapely.box(X0 - 50, Y0 - 50, X0 + 500, Y0 + 500)], crs=4549
    )
    pyogrio.write_dataframe(farm, d / "三调.gpkg", layer="DLTB")
    b = gpd.GeoDataFrame(
        {"JZBH": ["B1"], "YT": ["住宅"], "CS": [2]},
        geometry=[shapely.box(X0 + 10, Y0 + 10, X0 + 30, Y0 + 30)],
        crs=4549,
    )
    pyogrio.write_dataframe(b, d / "建筑物.geojson")
    return d


def _run(*args: str) -> subprocess.CompletedProcess:
    """The installed command with stdout and stderr piped (not a terminal)."""
    return subprocess.run(
        [sys.executable, "-m", "parcelwatch", *args], capture_output=True, text=True, check=False
    )


def test_classify_check_map_export_leave_nothing_stray_on_a_pipe_and_v_prints_stages(
    layers, tmp_path
):
    d = layers
    src = [
        "--parcels",
        str(d / "卫片图斑.shp"),
        "--farmland",
        f"{d / '三调.gpkg'}:DLTB",
        "--buildings",
        str(d / "建筑物.geojson"),
    ]
    res = _run("classify", *src, "-o", str(tmp_path / "c.gpkg"))
    assert res.returncode == 0 and res.stderr == "", res.stderr
    res = _run("-v", "classify", *src, "-o", str(tmp_path / "c2.gpkg"))
    assert res.returncode == 0
    assert re.search(r"^  读取图层 \.\.\. \d+\.\d\d s$", res.stderr, re.M), res.stderr
    assert (
        re.search(r"^  叠加分析与分类 \.\.\. \d+\.\d\d s$", res.stderr, re.M)
        and "写出 ..." in res.stderr
    )
    ws = tmp_path / "ws"
    assert _run("init", str(ws), "--county-code", "370790").returncode == 0
    res = _run("check", str(ws), "--batch", "2026年第1批", "--issued", "2026-04-01", *src)
    assert res.returncode == 0 and res.stderr == "", res.stderr
    res = _run("map", str(ws), "-o", str(tmp_path / "m.html"), "--today", "2026-06-01")
    assert res.returncode == 0 and res.stderr == "", res.stderr
    res = _run(
        "-v",
        "export",
        str(ws),
        "--format",
        "all",
        "-o",
        str(tmp_path / "exp"),
        "--today",
        "2026-06-01",
    )
    assert res.returncode == 0, res.stderr
    stages = re.findall(r"^  (\S+) \.\.\. \d+\.\d\d s$", res.stderr, re.M)
    assert stages == ["读取台账", "shp", "gpkg", "geojson", "csv", "kml", "kmz", "xlsx"]
    imagery = [
        "--before",
        str(SAMPLES / "imagery" / "before.tif"),
        "--after",
        str(SAMPLES / "imagery" / "after.tif"),
    ]
    res = _run("imagery", str(ws), *imagery)
    assert res.returncode == 0 and res.stderr == "", res.stderr
    res = _run("-v", "imagery", str(ws), *imagery)
    stages = re.findall(r"^  (\S+) \.\.\. \d+\.\d\d s$", res.stderr, re.M)
    assert res.returncode == 0 and stages[0] == "读取台账" and "提示与佐证单" in stages, res.stderr


def test_samples_make_prints_tables_not_a_dict(samples_made_by_cli: SamplesMade):
    """`parcelwatch samples make DIR`, run once per session by the fixture (its files are also
    test_samples' second generation)."""
    res = samples_made_by_cli
    assert res.exit_code == 0, res.output
    assert "{" not in res.output and "counts:" not in res.output
    assert re.search(r"^  DLTB +\d+$", res.output, re.M) and re.search(
        r"^  basedata +\S+基础数据\.gpkg$", res.output, re.M
    )


def test_map_help_is_complete():
    """Every option of `map` says what it does (before: --tianditu-key spoke of an unimplemented
    [map] rules section and the context layers did not say what is drawn)."""
    res = CliRunner().invoke(cli, ["map", "--help"], terminal_width=200)
    assert res.exit_code == 0
    text = res.output
    for option in (
        "--out",
        "--township",
        "--basemap",
        "--tianditu-key",
        "--split-by",
        "--today",
        "--farmland",
        "--pbf",
        "--greenhouses",
        "--buildings",
        "--townships-layer",
    ):
        line = next(
            x for x in text.splitlines() if x.strip().startswith(option) or f" {option} " in x
        )
        assert len(line.split(option, 1)[1].split(None, 1)) == 2, line  # the option has a help text
    assert "is not set yet" not in text and "0101/0102/0103" in text and "永久基本农田" in text
