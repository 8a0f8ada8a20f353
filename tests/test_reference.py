"""Reference layers registered in a workspace and read back by the extents a batch touches.

The scene is drawn in EPSG:4549 (GK zone 40) at (X0, Y0), 110 km west of the central meridian,
where the GK areal scale is 1.0003: an area of A planar m² is A / 1.0003 ellipsoidal m².

* 三调 farmland: a 20 x 10 grid of 100 m squares over (0, 0)-(2000, 1000), DLBM 0103 (旱地)
  except where (column + row) % 5 == 0 (0201, 果园: not farmland);
* 永农 on the farmland squares of rows 0-4; greenhouses 60 x 100 m at x = 440 and x = 1500;
* buildings: B1 (380-420, 330-370), a quarter inside parcel P3 and reaching into the square
  east of the one P3 lies on; B2 in parcel T2; B3 far from any parcel.

Parcels: E1 (1950-2050, 400-500) on the east edge of the coverage (its west half on square
(19, 4), 0103: 5000 planar m² = 4998.5 m² of farmland); T2 (950-1060, 450-560) across four
squares, which the store puts in different row groups (the test checks it); P3 (300-390,
300-400) with B1, whose nearest greenhouse (20 m away) lies outside every parcel's box.
"""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime, timedelta, timezone

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
import pytest
import shapely

import parcelwatch.pipeline.reference as ref
from parcelwatch.cli import main
from parcelwatch.config import DEFAULT_RULES
from parcelwatch.errors import InputError, ReferenceStoreError
from parcelwatch.pipeline import check_batch, classify_inputs, init_workspace, load_inputs
from tests.conftest import X0, Y0

TZ = timezone(timedelta(hours=8))
NOW = datetime(2026, 3, 5, 9, 30, tzinfo=TZ)


def box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def _write(frame: gpd.GeoDataFrame, path, layer: str) -> str:
    pyogrio.write_dataframe(frame, path, layer=layer, driver="GPKG")
    return f"{path}:{layer}"


@pytest.fixture
def scene(tmp_path, monkeypatch):
    """The reference layers and parcels above, as GeoPackage layers; small row groups."""
    monkeypatch.setattr(ref, "ROW_GROUP_ROWS", 8)
    cols, rows = np.meshgrid(np.arange(20), np.arange(10))
    cols, rows = cols.ravel(), rows.ravel()
    dlbm = np.where((cols + rows) % 5 == 0, "0201", "0103")
    farm = gpd.GeoDataFrame(
        {
            "BSM": [f"T{i:03d}" for i in range(len(cols))],
            "DLBM": dlbm,
            "TBMJ": 10000.0,
            "TBDLMJ": 10000.0,
        },
        geometry=[
            box(100 * c, 100 * r, 100 * c + 100, 100 * r + 100)
            for c, r in zip(cols, rows, strict=True)
        ],
        crs=4549,
    )
    pbf_rows = (dlbm == "0103") & (rows < 5)
    pbf = gpd.GeoDataFrame(
        {"BSM": [f"Q{i:03d}" for i in range(pbf_rows.sum())]},
        geometry=farm.geometry[pbf_rows].to_numpy(),
        crs=4549,
    )
    gh = gpd.GeoDataFrame(
        {"DPBH": ["G1", "G2"]},
        geometry=[box(440, 300, 500, 400), box(1500, 100, 1560, 200)],
        crs=4549,
    )
    bld = gpd.GeoDataFrame(
        {"JZBH": ["B1", "B2", "B3"], "YT": ["住宅", "餐饮", "仓储"], "CS": [1, 2, 1]},
        geometry=[box(380, 330, 420, 370), box(1000, 500, 1030, 530), box(1700, 800, 1740, 840)],
        crs=4549,
    )
    parcels = gpd.GeoDataFrame(
        {"JCBH": ["E1", "T2", "P3"]},
        geometry=[box(1950, 400, 2050, 500), box(950, 450, 1060, 560), box(300, 300, 390, 400)],
        crs=4549,
    )
    gpkg = tmp_path / "基础数据.gpkg"
    sources = {
        "farmland": _write(farm, gpkg, "DLTB"),
        "pbf": _write(pbf, gpkg, "YJJBNTTB"),
        "greenhouses": _write(gh, tmp_path / "大棚.gpkg", "DP"),
        "buildings": _write(bld, tmp_path / "建筑物.gpkg", "JZW"),
    }
    parcels_path = _write(parcels, tmp_path / "卫片图斑.gpkg", "WP")
    return {"sources": sources, "parcels": parcels_path, "tmp": tmp_path, "farm": farm}


def _ws(tmp_path, name="ws"):
    return init_workspace(tmp_path / name, county_code="370790", now=NOW)


def _frame(result) -> tuple[pd.DataFrame, pd.DataFrame]:
    p = result.parcels.drop(columns="geometry").sort_values("parcel_id").reset_index(drop=True)
    f = result.findings.assign(wkb=result.findings.geometry.to_wkb()).drop(columns="geometry")
    f = f.sort_values(["parcel_id", "rule_id", "footprint_id"]).reset_index(drop=True)
    return p, f


def _tiles(path):
    """The geometries of each tile of a stored layer: record batch (Arrow IPC) or row group
    (GeoParquet, the older stores)."""
    import pyarrow as pa

    if path.suffix == ".parquet":
        pf = pq.ParquetFile(path)
        parts = [
            pf.read_row_group(i, columns=["geometry"]) for i in range(pf.metadata.num_row_groups)
        ]
    else:
        reader = pa.ipc.open_file(pa.memory_map(str(path), "r"))
        parts = [reader.get_batch(i) for i in range(reader.num_record_batches)]
    return [shapely.from_wkb(t.column("geometry").to_numpy(zero_copy_only=False)) for t in parts]


@pytest.mark.parametrize("suffix", [".arrow", ".parquet"])
def test_batch_read_by_extent_gives_the_findings_of_the_whole_layers(
    scene, tmp_path, monkeypatch, suffix
):
    """Same parcels table and findings (bit for bit) as with the whole layers from the files,
    with the store as written today (Arrow IPC) and as stores registered before (GeoParquet)."""
    monkeypatch.setattr(ref, "STORED_SUFFIX", suffix)
    ws = _ws(tmp_path)
    added = ref.add_references(ws.path, scene["sources"], year=2025, now=NOW, user="t")
    assert [o.action for o in added] == ["added"] * 4
    rules = DEFAULT_RULES
    by_extent = ref.load_batch_inputs(ws.path, {"parcels": scene["parcels"]}, rules=rules)
    whole = load_inputs({"parcels": scene["parcels"], **scene["sources"]}, rules=rules)
    # reading by extent really reads less than the stored layers
    assert len(by_extent.layers["farmland"]) < 200 and len(by_extent.layers["buildings"]) == 2
    assert by_extent.reports["farmland"].where == "reference:farmland-2025-1"
    a, b = classify_inputs(by_extent, rules=rules), classify_inputs(whole, rules=rules)
    pa_, fa = _frame(a)
    pb_, fb = _frame(b)
    pd.testing.assert_frame_equal(pa_[pb_.columns], pb_, check_exact=True)
    pd.testing.assert_frame_equal(fa[fb.columns], fb, check_exact=True)
    row = pa_.set_index("parcel_id")
    # E1, on the edge of the coverage: its west half lies on a 0103 square
    assert row.loc["E1", "farmland_m2"] == pytest.approx(5000 / 1.0003, rel=2e-5)
    # P3's building B1 reaches greenhouse G1 20 m east of it, outside every parcel's box
    assert fa.loc[fa["footprint_id"] == "B1", "greenhouse_id"].iloc[0] == "G1"
    assert fa.loc[fa["footprint_id"] == "B1", "greenhouse_distance_m"].iloc[0] == pytest.approx(
        20.0
    )
    # T2 lies across squares that the store keeps in two or more tiles
    version = ref.open_references(ws.path).active()["farmland"]
    assert version.file.endswith(suffix)
    t2 = box(950, 450, 1060, 560)
    groups = {
        i
        for i, g in enumerate(_tiles(ws.path / "reference" / version.file))
        if shapely.intersects(g, t2).any()
    }
    assert len(groups) >= 2, groups
    assert row.loc["T2", "farmland_m2"] > 0


def test_reference_add_twice_is_a_no_op(scene, tmp_path):
    ws = _ws(tmp_path)
    ref.add_references(ws.path, scene["sources"], year=2025, now=NOW, user="t")
    catalog = (ws.path / "reference" / "catalog.json").read_bytes()
    files = {p.name: p.stat().st_mtime_ns for p in (ws.path / "reference").glob("*.arrow")}
    again = ref.add_references(
        ws.path, scene["sources"], year=2025, now=NOW + timedelta(days=1), user="other"
    )
    assert [o.action for o in again] == ["unchanged"] * 4
    assert (ws.path / "reference" / "catalog.json").read_bytes() == catalog
    assert {p.name: p.stat().st_mtime_ns for p in (ws.path / "reference").glob("*.arrow")} == files


def test_newer_or_reregistered_year_keeps_old_batches_provenance(scene, tmp_path):
    ws = _ws(tmp_path)
    src = scene["sources"]
    ref.add_references(ws.path, {"farmland": src["farmland"]}, year=2024, now=NOW, user="t")
    check_batch(
        ws, {"parcels": scene["parcels"]}, batch="A", now=NOW, user="t", issued=date(2026, 3, 1)
    )
    # 2025: the farmland file changed (one square became 0201)
    farm = scene["farm"].copy()
    farm.loc[0, "DLBM"] = "0201"
    new_farm = _write(farm, scene["tmp"] / "三调2025.gpkg", "DLTB")
    out = ref.add_references(
        ws.path, {"farmland": new_farm}, year=2025, now=NOW + timedelta(days=30), user="t"
    )
    assert out[0].action == "replaced" and out[0].replaced.version_id == "farmland-2024-1"
    check_batch(
        ws,
        {"parcels": scene["parcels"]},
        batch="B",
        now=NOW + timedelta(days=31),
        user="t",
        issued=date(2026, 4, 1),
    )
    # the same year again, from a corrected file: a second 2025 version replaces the first
    farm.loc[1, "DLBM"] = "0201"
    fixed = _write(farm, scene["tmp"] / "三调2025修正.gpkg", "DLTB")
    out = ref.add_references(
        ws.path, {"farmland": fixed}, year=2025, now=NOW + timedelta(days=40), user="t"
    )
    assert (
        out[0].version.version_id == "farmland-2025-2"
        and out[0].replaced.version_id == "farmland-2025-1"
    )
    with pytest.raises(InputError, match="2023 is older"):
        ref.add_references(ws.path, {"farmland": src["farmland"]}, year=2023, now=NOW, user="t")

    batches = ws.store.batches().set_index("batch")
    used = {
        b: ref.batch_references(ws.path, json.loads(batches.loc[b, "sources"])) for b in ("A", "B")
    }
    a, b = used["A"]["farmland"], used["B"]["farmland"]
    assert a.version_id == "farmland-2024-1" and a.year == 2024 and not a.active
    assert a.replaced_by == "farmland-2025-1" and a.source_path.endswith("基础数据.gpkg")
    assert b.version_id == "farmland-2025-1" and b.replaced_by == "farmland-2025-2"
    assert (
        b.source_path.endswith("三调2025.gpkg") and len(b.source_sha256) == 64 and b.features == 200
    )
    assert used["A"]["parcels"].endswith("卫片图斑.gpkg (layer WP)")
    lines = "\n".join(ref.describe_versions(ref.open_references(ws.path), all_versions=True))
    assert (
        "farmland-2024-1" in lines
        and "replaced by farmland-2025-1" in lines
        and "farmland-2025-2" in lines
    )


def test_layer_on_the_command_line_wins(scene, tmp_path):
    ws = _ws(tmp_path)
    ref.add_references(ws.path, scene["sources"], year=2025, now=NOW, user="t")
    empty_farm = scene["farm"].assign(DLBM="0201")
    other = _write(empty_farm, scene["tmp"] / "other.gpkg", "DLTB")
    inputs = ref.load_batch_inputs(ws.path, {"parcels": scene["parcels"], "farmland": other})
    assert inputs.reports["farmland"].where.endswith("other.gpkg (layer DLTB)")
    assert inputs.reports["pbf"].where == "reference:pbf-2025-1"
    assert classify_inputs(inputs).parcels["farmland_m2"].sum() == 0


def test_damaged_or_moved_store_names_the_command_that_rebuilds_it(scene, tmp_path):
    ws = _ws(tmp_path)
    ref.add_references(ws.path, scene["sources"], year=2025, now=NOW, user="t")
    store_dir = ws.path / "reference"
    farm_file = store_dir / "farmland-2025-1.arrow"
    # moved away
    shutil.move(farm_file, tmp_path / "elsewhere.arrow")
    with pytest.raises(
        ReferenceStoreError,
        match=r"farmland-2025-1 .* is missing.*`parcelwatch reference add .* --farmland .*基础数据.gpkg:DLTB --year 2025`",
    ):
        check_batch(ws, {"parcels": scene["parcels"]}, batch="A", now=NOW, user="t")
    # damaged in place (same size, garbage bytes)
    size = (tmp_path / "elsewhere.arrow").stat().st_size
    farm_file.write_bytes(b"\0" * size)
    with pytest.raises(ReferenceStoreError, match=r"cannot be read.*parcelwatch reference add"):
        ref.load_batch_inputs(ws.path, {"parcels": scene["parcels"]})
    assert ws.store.batches().empty  # nothing was recorded
    # `reference add` with the same source rebuilds it, and checks work again
    out = ref.add_references(
        ws.path, {"farmland": scene["sources"]["farmland"]}, year=2025, now=NOW, user="t"
    )
    assert out[0].action == "rebuilt" and out[0].version.version_id == "farmland-2025-1"
    check_batch(ws, {"parcels": scene["parcels"]}, batch="A", now=NOW, user="t")
    # a damaged catalog
    (store_dir / "catalog.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(
        ReferenceStoreError, match=r"reference catalog .* damaged.*parcelwatch reference add"
    ):
        ref.open_references(ws.path)


def test_reference_commands_on_the_command_line(scene, tmp_path, capsys):
    ws = tmp_path / "ws"
    assert main(["init", str(ws), "--county-code", "370790"]) == 0
    args = ["reference", "add", str(ws), "--year", "2025", "--user", "张三"]
    for role, spec in scene["sources"].items():
        args += [f"--{role}", spec]
    assert main(args) == 0
    assert "farmland-2025-1" in capsys.readouterr().out
    assert main(args) == 0
    assert capsys.readouterr().out.count("unchanged") == 4
    assert main(["reference", "list", str(ws)]) == 0
    out = capsys.readouterr().out
    assert "by 张三" in out and "sha256" in out and "in use" in out
    assert (
        main(
            [
                "check",
                str(ws),
                "--batch",
                "2026年第1批",
                "--issued",
                "2026-03-01",
                "--parcels",
                scene["parcels"],
                "--user",
                "t",
            ]
        )
        == 0
    )
    assert "reference layers" in capsys.readouterr().out
    assert (
        main(
            [
                "classify",
                "--workspace",
                str(ws),
                "--parcels",
                scene["parcels"],
                "-o",
                str(tmp_path / "c.gpkg"),
            ]
        )
        == 0
    )
    capsys.readouterr()
    parcels = pyogrio.read_dataframe(tmp_path / "c.gpkg", layer="parcels")
    assert parcels.set_index("parcel_id").loc["E1", "farmland_m2"] == pytest.approx(
        5000 / 1.0003, rel=2e-5
    )
    assert main(["classify", "--parcels", scene["parcels"], "-o", str(tmp_path / "d.gpkg")]) == 2
    assert "--workspace" in capsys.readouterr().err
    assert main(["map", str(ws), "-o", str(tmp_path / "map.html"), "--today", "2026-03-10"]) == 0
    page = (tmp_path / "map.html").read_text(encoding="utf-8")
    assert '"farmland":{"style"' in page and '"buildings":{"style"' in page


def test_buildings_on_the_command_line_widen_the_reads_only_near_the_parcels(scene, tmp_path):
    """A newer buildings survey given to `check` wins; B3 (far from every parcel) adds no reads."""
    ws = _ws(tmp_path)
    registered = {k: v for k, v in scene["sources"].items() if k != "buildings"}
    ref.add_references(ws.path, registered, year=2025, now=NOW, user="t")
    given = {"parcels": scene["parcels"], "buildings": scene["sources"]["buildings"]}
    by_extent = ref.load_batch_inputs(ws.path, given)
    whole = load_inputs({**given, **registered})
    assert len(by_extent.layers["buildings"]) == 3  # the given layer, whole
    # farmland squares under B3 (1700-1740, 800-840) are not read
    read = shapely.box(*by_extent.layers["farmland"].total_bounds)
    assert not read.contains(box(1700, 800, 1740, 840))
    pa_, fa = _frame(classify_inputs(by_extent))
    pb_, fb = _frame(classify_inputs(whole))
    pd.testing.assert_frame_equal(pa_[pb_.columns], pb_, check_exact=True)
    pd.testing.assert_frame_equal(fa[fb.columns], fb, check_exact=True)


def test_a_store_of_the_older_format_is_rewritten_by_reference_add(scene, tmp_path, monkeypatch):
    """A farmland layer registered as GeoParquet (stores before the Arrow IPC format) is read as
    it is; `reference add` with the same source rewrites it as .arrow under the same version id
    (action 'rebuilt'), removes the .parquet file, and gives the same findings."""
    ws = _ws(tmp_path)
    monkeypatch.setattr(ref, "STORED_SUFFIX", ".parquet")
    ref.add_references(ws.path, scene["sources"], year=2025, now=NOW, user="t")
    old = classify_inputs(ref.load_batch_inputs(ws.path, {"parcels": scene["parcels"]}))
    monkeypatch.setattr(ref, "STORED_SUFFIX", ".arrow")
    out = ref.add_references(ws.path, scene["sources"], year=2025, now=NOW, user="t")
    assert {o.action for o in out} == {"rebuilt"}
    assert sorted(p.suffix for p in (ws.path / "reference").glob("*-2025-1.*")) == [".arrow"] * 4
    assert [o.version.version_id for o in out][0] == "farmland-2025-1"
    new = classify_inputs(ref.load_batch_inputs(ws.path, {"parcels": scene["parcels"]}))
    pd.testing.assert_frame_equal(_frame(new)[0], _frame(old)[0], check_exact=True)
    again = ref.add_references(ws.path, scene["sources"], year=2025, now=NOW, user="t")
    assert {o.action for o in again} == {"unchanged"}
