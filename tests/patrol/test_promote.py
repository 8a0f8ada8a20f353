"""Done-when 3 / T-B-24: a verified finding promoted to the ledger keeps a link both ways, and a
later 卫片 batch over the same site is matched to it (same site, not new).

Scene in EPSG:4549 (tests/ledger/conftest): the site is the 100 m square (100..200, 100..200) on
旱地 (so 耕地 = the whole square, ~10 000 m²; the GK areal scale 110 km off the meridian adds
~0.03 %); the batch parcel (105..205, 100..200) overlaps it with IoU 95/105 = 0.905 (>= same_site_iou).
"""

from __future__ import annotations

import geopandas as gpd
import pyogrio
import pytest

from parcelwatch.ledger.workspace import open_workspace
from parcelwatch.patrol.records import PatrolBook
from tests.ledger.conftest import box, parcels, write_batch
from tests.patrol.test_cli_patrol import finding, ok, run, verify


def test_done_when_3_promote_links_both_ways_and_later_batch_is_same_site(ws, capsys, tmp_path):
    site = tmp_path / "site.geojson"
    pyogrio.write_dataframe(gpd.GeoDataFrame(geometry=[box(100, 100, 200, 200)], crs=4549), site)
    batch = write_batch(tmp_path / "b2", parcels(("W-001", box(105, 100, 205, 200))))
    fid = finding(ws, capsys, "马塘", "ZR-01", "town_group", "2026-04-10T10:00")
    code, _out, err = run(["patrol", "promote", ws, fid, "--geometry", site], capsys)
    assert code == 1 and "待核实" in err and "属实" in err  # only verified findings go in
    verify(ws, capsys, fid, "2026-04-11T10:00")
    out = ok(["patrol", "promote", ws, fid, "--geometry", site, "--farmland", batch["farmland"],
              "--township", "太平镇", "--user", "张某"], capsys)  # fmt: skip
    pid = out.split(" -> ")[1].split(":")[0]
    assert pid == "441803-2026-000001" and "未核查" in out
    with open_workspace(ws) as w:
        rec = w.store.get(pid)
        f = PatrolBook(w.store).get("patrol_findings", fid)
        assert f["ledger_problem_id"] == pid and fid in rec.parcel_ids and fid in rec.notes
        assert rec.farmland_m2 == pytest.approx(10_000, rel=1e-3)
        assert w.store.problems_for_parcel(fid, "巡查") == [pid]
    code, _out, err = run(["patrol", "promote", ws, fid, "--geometry", site], capsys)
    assert code == 1 and pid in err  # not promoted twice
    args = ["check", ws, "--batch", "2026年第2批", "--issued", "2026-06-01", "--user", "张三"]
    out = ok([*args, *[x for role, p in batch.items() for x in (f"--{role}", p)]], capsys)
    assert "新增问题 0，已在台账 1" in out
    with open_workspace(ws) as w:
        (rec,) = w.store.records()
        assert rec.problem_id == pid and "2026年第2批" in rec.batches and "W-001" in rec.parcel_ids


def test_match_batch_lists_new_problems_a_village_reported_first(ws, capsys, tmp_path):
    """A village report at the centre of (100..200, 100..200) on 2026-05-20; batch 3 issued
    2026-06-01 draws that square (new problem): listed with distance 0. A report after the issue
    date, or 500 m away, is not listed."""
    centre = (
        gpd.GeoSeries([box(150, 150, 150.001, 150.001).centroid], crs=4549).to_crs(4490).iloc[0]
    )
    far = gpd.GeoSeries([box(650, 150, 650.001, 150.001).centroid], crs=4549).to_crs(4490).iloc[0]
    for when, pt in (
        ("2026-05-20T10:00", centre),
        ("2026-06-05T10:00", centre),
        ("2026-05-21T10:00", far),
    ):
        ok(["patrol", "report", ws, "--village", "马塘", "--item", "ZR-01", "--occurred", when[:10], "--reported", when,
            "--lon", f"{pt.x:.7f}", "--lat", f"{pt.y:.7f}"], capsys)  # fmt: skip
    batch = write_batch(tmp_path / "b3", parcels(("W-9", box(100, 100, 200, 200))))
    args = ["check", ws, "--batch", "2026年第3批", "--issued", "2026-06-01", "--user", "张三"]
    ok([*args, *[x for role, p in batch.items() for x in (f"--{role}", p)]], capsys)
    out = ok(["patrol", "match", ws, "--batch", "2026年第3批"], capsys)
    assert "441803-2026-000001  XC-202605-00001  0.0" in out and "1 处新问题此前已由村上报" in out
