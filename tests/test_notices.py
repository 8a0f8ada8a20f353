"""Data-quality notices are returned as data by the loader, printed by the CLI and stored with
the run: never lost to Python's process-global warning filters (layers load on threads).

Before the fix the "invalid polygon repaired" notice existed only as a ``DataQualityWarning``
raised on a worker thread: it was missing in 4 of 12 identical ``classify`` runs, and under any
``ignore`` filter it was gone entirely.

Both tests repeat their run ``RUNS`` = 15 times, each under an ``ignore`` filter: the old code lost
the notice in every such run (the first run fails), and an intermittent loss at the 1-in-3 rate
measured before the fix would pass 15 runs with a chance of (2/3)^15 = 0.2 %. 50 runs (the
former count) caught nothing more and took ~25 s of the suite.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner

from parcelwatch.cli import cli
from parcelwatch.pipeline import load_inputs
from tests.conftest import X0, Y0, write_shapefile

REPAIRED = "invalid polygon(s) repaired with make_valid"
RUNS = 15


@pytest.fixture(scope="module")
def bowtie_inputs(tmp_path_factory):
    """Two parcels, J2 a bowtie (self-intersecting: repaired with make_valid, one notice), on
    one 旱地 patch; a greenhouse layer given as well so that several layers load on threads."""
    d = tmp_path_factory.mktemp("notices")
    bowtie = shapely.Polygon(
        [(X0 + 300, Y0), (X0 + 400, Y0 + 100), (X0 + 400, Y0), (X0 + 300, Y0 + 100)]
    )
    parcels = gpd.GeoDataFrame(
        {"监测编号": ["J1", "J2"]},
        geometry=[shapely.box(X0, Y0, X0 + 100, Y0 + 100), bowtie],
        crs=4549,
    )
    write_shapefile(parcels, d / "卫片图斑.shp")
    farm = gpd.GeoDataFrame(
        {"DLBM": ["0103"]}, geometry=[shapely.box(X0 - 50, Y0 - 50, X0 + 500, Y0 + 500)], crs=4549
    )
    pyogrio.write_dataframe(farm, d / "三调.gpkg", layer="DLTB")
    gh = gpd.GeoDataFrame(
        {"大棚编号": ["G1"]}, geometry=[shapely.box(X0 + 10, Y0 + 10, X0 + 20, Y0 + 20)], crs=4549
    )
    pyogrio.write_dataframe(gh, d / "大棚.gpkg")
    return {
        "parcels": d / "卫片图斑.shp",
        "farmland": f"{d / '三调.gpkg'}:DLTB",
        "greenhouses": d / "大棚.gpkg",
    }


def test_load_inputs_returns_the_notice_as_data_even_when_warnings_are_ignored(bowtie_inputs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(RUNS):
            inputs = load_inputs(bowtie_inputs)
            assert [n for n in inputs.notices if REPAIRED in n and "卫片图斑.shp" in n], (
                inputs.notices
            )


def test_classify_prints_and_stores_the_notice_in_every_run(bowtie_inputs, tmp_path):
    runner = CliRunner()
    args = ["classify", "--parcels", str(bowtie_inputs["parcels"]), "--farmland", bowtie_inputs["farmland"],
            "--greenhouses", str(bowtie_inputs["greenhouses"])]  # fmt: skip
    present = 0
    for i in range(RUNS):
        out = tmp_path / f"run{i}.gpkg"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # what another thread's catch_warnings may leave behind
            res = runner.invoke(cli, [*args, "-o", str(out)])
        assert res.exit_code == 0, res.output
        info = pyogrio.read_dataframe(out, layer="run_info", read_geometry=False)
        stored = [
            v for k, v in zip(info["key"], info["value"], strict=True) if k.startswith("notice:")
        ]
        if REPAIRED in res.output and any(REPAIRED in v for v in stored):
            present += 1
    assert present == RUNS
