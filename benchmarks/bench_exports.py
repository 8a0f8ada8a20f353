"""Benchmark: every export format for N ledger problems (KML, KMZ, GeoJSON, shapefile, Excel).

    .venv/bin/python benchmarks/bench_exports.py --n 10000
    .venv/bin/python benchmarks/bench_exports.py --n 8750 --only kml --old-kml REV

Builds N synthetic ledger records (parcel-like polygons of 12-40 vertices in EPSG:4490, every
status, realistic Chinese texts, some holes and multipolygons), then times each writer on its
own. ``--old-kml REV`` also times the KML writer of git revision REV (e.g. the one before the
linear rewrite) on the same records, for a before/after figure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely
from pyproj import Transformer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from parcelwatch.exports.forms import (  # noqa: E402
    write_ledger_form,
    write_progress_form,
    write_self_check_form,
)
from parcelwatch.exports.layers import (  # noqa: E402
    write_geojson,
    write_kml,
    write_kmz,
    write_shapefile,
)
from parcelwatch.ledger.model import ProblemRecord, Status  # noqa: E402
from parcelwatch.ledger.xlsx import export_xlsx  # noqa: E402

TODAY = dt.date(2026, 11, 7)
TOWNS = ["禾丰镇", "东河乡", "柳湾镇", "石门街道"]


def records(n: int, seed: int = 0) -> list[ProblemRecord]:
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n)))
    to_geo = Transformer.from_crs(4549, 4490, always_xy=True)
    statuses = list(Status)
    out = []
    for i in range(n):
        cx, cy = 390_000 + (i % side) * 250.0, 4_080_000 + (i // side) * 250.0
        k = int(rng.integers(12, 40))
        ang = np.sort(rng.uniform(0, 2 * np.pi, k))
        r = rng.uniform(40, 100, k)
        xs, ys = to_geo.transform(cx + r * np.cos(ang), cy + r * np.sin(ang))
        poly = shapely.Polygon(np.column_stack([xs, ys]))
        if i % 10 == 0:  # a courtyard
            hx, hy = to_geo.transform(cx + np.array([-8, 8, 8, -8]), cy + np.array([-8, -8, 8, 8]))
            poly = shapely.Polygon(poly.exterior, [np.column_stack([hx, hy])])
        parts = [poly]
        if i % 7 == 0:  # a second, separate part
            bx, by = to_geo.transform(
                cx + 115 + np.array([0, 20, 20, 0]), cy + np.array([0, 0, 20, 20])
            )
            parts.append(shapely.Polygon(np.column_stack([bx, by])))
        geom = shapely.MultiPolygon(parts)
        st = statuses[i % len(statuses)]
        area = float(rng.uniform(600, 20_000))
        out.append(
            ProblemRecord(
                problem_id=f"370790-2026-{i:06d}",
                version=3,
                status=st,
                county_code="370790",
                county_name="样例县",
                township_code=f"3707901{i % 4:02d}",
                township_name=TOWNS[i % 4],
                village_name="张家村",
                year=2026,
                first_batch="2026年第1批",
                batches=("2026年第1批",),
                parcel_ids=(f"3707902026Q{i:05d}",),
                candidate_class=["I", "II", "III", "conversion", "none"][i % 5],
                candidate_reasons="建筑B00003（餐饮，64.0 m²）100% 位于大棚G00012内，占用耕地0.10亩 → 疑似第二类；"
                * (1 + i % 3),
                judgement="违法" if i % 3 else "",
                confirmed_class="II" if i % 3 else "",
                measure="拆除+复耕" if i % 2 else "",
                deadline=dt.date(2026, 12, 31) if i % 2 else None,
                verify_due=dt.date(2026, 10, 31),
                responsible_unit=f"{TOWNS[i % 4]}人民政府",
                responsible_person="张三",
                parcel_area_m2=area,
                farmland_m2=area * 0.6,
                pbf_m2=area * 0.2,
                illegal_farmland_m2=area * 0.1,
                illegal_pbf_m2=area * 0.05,
                remaining_unrectified_m2=area * 0.1,
                project_name=f"{TOWNS[i % 4]}设施农业项目{i}",
                owner_name="某某农业合作社",
                notes="群众举报；已现场核查" if i % 4 == 0 else "",
                rebound_count=i % 2,
                geometry=geom,
            )
        )
    return out


def _old_kml_writer(rev: str) -> object:
    """``write_kml`` of git revision ``rev`` loaded as a separate module."""
    repo = Path(__file__).resolve().parents[1]
    src = subprocess.run(
        ["git", "show", f"{rev}:src/parcelwatch/exports/layers.py"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    tmp = Path(tempfile.mkdtemp()) / "old_layers.py"
    tmp.write_text(src, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("old_layers", tmp)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.write_kml


def _xlsx(recs: list[ProblemRecord], out: Path) -> None:
    write_ledger_form(recs, out / "问题台账.xlsx", today=TODAY, county_name="样例县")
    write_self_check_form(recs, out / "自验表.xlsx", today=TODAY, county_name="样例县")
    write_progress_form(recs, out / "进度.xlsx", today=TODAY, county_name="样例县")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--only", nargs="*", default=None, help="kml kmz geojson shp xlsx xlsx_edit")
    ap.add_argument("--old-kml", default="", help="git revision whose KML writer to time too")
    args = ap.parse_args()
    t0 = time.perf_counter()
    recs = records(args.n)
    print(f"{args.n} synthetic problems built in {time.perf_counter() - t0:.1f} s")
    out = Path(tempfile.mkdtemp(prefix="bench-exports-"))
    jobs = {
        "kml": lambda: write_kml(recs, out / "p.kml", today=TODAY),
        "kmz": lambda: write_kmz(recs, out / "p.kmz", today=TODAY),
        "geojson": lambda: write_geojson(recs, out / "p.geojson", today=TODAY),
        "shp": lambda: write_shapefile(recs, out / "p.shp", today=TODAY),
        "xlsx": lambda: _xlsx(recs, out),
        "xlsx_edit": lambda: export_xlsx(None, out / "edit.xlsx", today=TODAY, records=recs),
    }
    if args.old_kml:
        old = _old_kml_writer(args.old_kml)
        jobs = {
            "kml (old)": lambda: old(recs, out / "old.kml", today=TODAY),
            **jobs,
        }
    worst = 0.0
    for name, job in jobs.items():
        if args.only and name.split()[0] not in args.only:
            continue
        t, c = time.perf_counter(), time.process_time()
        job()
        dt_s, cpu = time.perf_counter() - t, time.process_time() - c
        if "old" not in name:
            worst = max(worst, dt_s)
        print(
            f"{name:10s} {dt_s:7.2f} s wall  {cpu:7.2f} s CPU"
            + ("" if "old" in name else f"  target <= 10 s: {'met' if dt_s <= 10 else 'NOT MET'}")
        )
    load = os.getloadavg()[0]
    print(
        f"TARGET issue 15.3 (every export of {args.n} problems within 10 s): slowest {worst:.2f} s -> {'MET' if worst <= 10 else 'NOT MET'}"
        + (
            f"  [load average {load:.1f} on {os.cpu_count()} cores: a busy machine; wall times are inflated, see the CPU column]"
            if load > 0.5 * (os.cpu_count() or 1)
            else ""
        )
    )


if __name__ == "__main__":
    main()
