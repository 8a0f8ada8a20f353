"""Benchmark: the battle map with 20,000 problem parcels (size, build time, time to interactive).

    .venv/bin/python benchmarks/bench_map.py --n 20000

Builds a synthetic problem view (parcel-like polygons of 12-40 vertices, every status, two
townships, realistic reason texts and three events each), writes one HTML, then opens it in
headless Chromium (network off) and measures the time from navigation until the page's
``window.pw.ready`` is set, then a township filter and a search round trip.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.maps.conftest import CHROMIUM_ARGS, chromium_path  # noqa: E402

from parcelwatch.maps.battle_map import build_map  # noqa: E402

STATUSES = ["未核查", "未整改", "整改中", "待验收", "已销号", "反弹", "合法", "其他"]


def problems(n: int, seed: int = 0) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n)))
    geoms = []
    for i in range(n):
        cx, cy = 390_000 + (i % side) * 250.0, 4_080_000 + (i // side) * 250.0
        k = int(rng.integers(12, 40))
        ang = np.sort(rng.uniform(0, 2 * np.pi, k))
        r = rng.uniform(40, 100, k)
        geoms.append(shapely.Polygon(np.column_stack([cx + r * np.cos(ang), cy + r * np.sin(ang)])))
    st = rng.choice(STATUSES, n)
    return gpd.GeoDataFrame(
        {
            "problem_id": [f"370790-2026-{i:06d}" for i in range(n)],
            "parcel_ids": [f"3707902026Q{i:05d}" for i in range(n)],
            "batch": "2026年第1批",
            "township_name": np.where(np.arange(n) % 2, "禾丰镇", "东河乡"),
            "village_name": "张家村",
            "status": st,
            "candidate_class": rng.choice(["I", "II", "III", "conversion", "none"], n),
            "reasons": "建筑B00003（餐饮，64.0 m²）100% 位于大棚G00012内，占用耕地0.10亩 → 疑似第二类",
            "parcel_area_mu": rng.uniform(1, 30, n),
            "farmland_mu": rng.uniform(0, 20, n),
            "pbf_mu": rng.uniform(0, 5, n),
            "measure": "拆除",
            "deadline": dt.date(2026, 12, 31),
            "overdue": rng.random(n) < 0.1,
            "days_overdue": 12,
            "responsible_unit": "禾丰镇人民政府",
            "responsible_person": "张三",
            "recent_events": [
                [
                    "2026-05-01 张三 未核查→未整改",
                    "2026-06-01 张三 未整改→整改中（拆除）",
                    "2026-07-01 李四 整改中→待验收（拆除）",
                ]
            ]
            * n,
        },
        geometry=geoms,
        crs=4549,
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20_000)
    args = ap.parse_args()
    g = problems(args.n)
    t = time.perf_counter()
    html = build_map(
        g,
        county_name="禾丰县",
        generated_at=dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.timezone.utc),
    )
    build_s = time.perf_counter() - t
    out = Path(tempfile.mkdtemp()) / "map.html"
    out.write_text(html, encoding="utf-8")
    size_mb = out.stat().st_size / 2**20
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        ctx = b.new_context(viewport={"width": 1400, "height": 850}, offline=True)
        page = ctx.new_page()
        t = time.perf_counter()
        page.goto(out.as_uri())
        page.wait_for_function("window.pw && window.pw.ready", timeout=60_000)
        ready_s = time.perf_counter() - t
        drawn = sum(page.evaluate("pw.drawnByStatus()").values())
        t = time.perf_counter()
        page.select_option("#pw-township", "禾丰镇")
        page.evaluate("pw.drawnByStatus()")
        filter_s = time.perf_counter() - t
        t = time.perf_counter()
        page.evaluate("pw.search('3707902026Q00011')")
        search_s = time.perf_counter() - t
        b.close()
    print(
        f"{args.n} problems: build {build_s:.1f} s, HTML {size_mb:.1f} MB, interactive after {ready_s:.1f} s ({drawn} drawn), township filter {filter_s:.2f} s, search {search_s:.2f} s"
    )


if __name__ == "__main__":
    main()
