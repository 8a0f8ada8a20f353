"""Benchmark: read + classify + write, parcelwatch vs the naive geopandas way, same run.

    python benchmarks/bench_classify.py --scale medium
    python benchmarks/bench_classify.py --scale large

Each side runs in its own process (so peak memory is its own: ru_maxrss of the child). The
naive way reads with geopandas.read_file, runs geopandas.overlay per layer, and groups by parcel
and building; both sides compute areas with the same ellipsoidal method, and the per-parcel and
per-building areas must agree to 1e-6 relative. The sample county is generated once into
benchmarks/data/<scale> (not committed).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from parcelwatch.demo import DEMO_LAYERS

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"

# the sample county's layers (as the demo reads them), without the admin boundaries
LAYERS = {role: spec for role, spec in DEMO_LAYERS.items() if role not in ("townships", "villages")}
METRICS = ["farmland_m2", "pbf_m2", "greenhouse_m2", "building_m2", "building_farmland_m2"]


def ensure_data(scale: str, seed: int) -> Path:
    out = DATA / scale
    if not (out / "基础数据.gpkg").exists():
        from parcelwatch.samples import make_samples

        t = time.perf_counter()
        make_samples(out, scale=scale, seed=seed)
        print(f"generated {scale} sample county in {time.perf_counter() - t:.1f} s -> {out}")
    return out


def run_ours(data: Path, out: Path) -> dict:
    import warnings

    from parcelwatch.config import load_rules
    from parcelwatch.pipeline import LayerSource, classify_inputs, load_inputs, write_classification

    warnings.simplefilter("ignore")
    rules = load_rules(data / "rules.toml" if (data / "rules.toml").exists() else None)
    t0 = time.perf_counter()
    inputs = load_inputs({r: LayerSource(data / f, layer) for r, (f, layer) in LAYERS.items()}, rules=rules)
    t1 = time.perf_counter()
    result = classify_inputs(inputs, rules=rules)
    t2 = time.perf_counter()
    write_classification(result, out / "ours.gpkg")
    t3 = time.perf_counter()
    p = result.parcels.sort_values("parcel_id")
    p[["parcel_id", *METRICS]].to_parquet(out / "ours_parcels.parquet")
    return {"read_s": t1 - t0, "classify_s": t2 - t1, "write_s": t3 - t2, "total_s": t3 - t0, "parcels": len(result.parcels), "findings": len(result.findings), "counts": result.counts()}


def run_naive(data: Path, out: Path) -> dict:
    """geopandas.read_file + geopandas.overlay per layer + groupby (what most scripts do)."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    from parcelwatch.crs import ellipsoidal_area_m2

    t0 = time.perf_counter()
    parcels = gpd.read_file(data / LAYERS["parcels"][0], encoding="gb18030").rename(columns={"监测编号": "parcel_id"})
    dltb = gpd.read_file(data / "基础数据.gpkg", layer="DLTB")
    pbf = gpd.read_file(data / "基础数据.gpkg", layer="YJJBNTTB")
    gh = gpd.read_file(data / LAYERS["greenhouses"][0])
    bld = gpd.read_file(data / LAYERS["buildings"][0]).rename(columns={"JZBH": "building_id"})
    work = 4549
    parcels, dltb, pbf, gh, bld = (g.to_crs(work) for g in (parcels, dltb, pbf, gh, bld))
    parcels["geometry"] = parcels.geometry.make_valid()
    t1 = time.perf_counter()

    def area(g):
        return ellipsoidal_area_m2(g.geometry.values, g.crs)

    farm = dltb[dltb["DLBM"].isin(["0101", "0102", "0103"])].copy()
    farm["ratio"] = (farm["TBDLMJ"] / farm["TBMJ"]).where(lambda r: (r > 0) & (r <= 1), 1.0)
    res = pd.DataFrame({"parcel_id": parcels["parcel_id"]}).set_index("parcel_id")
    x = gpd.overlay(parcels[["parcel_id", "geometry"]], farm[["ratio", "geometry"]], how="intersection", keep_geom_type=True)
    x["a"] = area(x) * x["ratio"]
    res["farmland_m2"] = x.groupby("parcel_id")["a"].sum()
    x = gpd.overlay(parcels[["parcel_id", "geometry"]], pbf[["geometry"]], how="intersection", keep_geom_type=True)
    x["a"] = area(x)
    res["pbf_m2"] = x.groupby("parcel_id")["a"].sum()
    x = gpd.overlay(parcels[["parcel_id", "geometry"]], gh[["geometry"]], how="intersection", keep_geom_type=True)
    x["a"] = area(x)
    res["greenhouse_m2"] = x[x["a"] >= 1.0].groupby("parcel_id")["a"].sum()
    pb = gpd.overlay(parcels[["parcel_id", "geometry"]], bld[["building_id", "geometry"]], how="intersection", keep_geom_type=True)
    pb["a"] = area(pb)
    pb = pb[pb["a"] >= 1.0]
    res["building_m2"] = pb.groupby("parcel_id")["a"].sum()
    cand = bld[bld["building_id"].isin(pb["building_id"])].copy()
    cand["area"] = area(cand)
    bf = gpd.overlay(cand[["building_id", "geometry"]], farm[["ratio", "geometry"]], how="intersection", keep_geom_type=True)
    bf["a"] = area(bf) * bf["ratio"]
    cand = cand.set_index("building_id")
    cand["farm"] = bf.groupby("building_id")["a"].sum()
    cand["farm"] = cand["farm"].fillna(0)
    pb["alloc"] = pb["a"] / pb["building_id"].map(cand["area"])
    pb["bf"] = pb["building_id"].map(cand["farm"]) * pb["alloc"]
    res["building_farmland_m2"] = pb.groupby("parcel_id")["bf"].sum()
    # the remaining metrics the rules need, the same way: overlay + groupby, nearest join
    pbf_b = gpd.overlay(cand.reset_index()[["building_id", "geometry"]], pbf[["geometry"]], how="intersection", keep_geom_type=True)
    pbf_b["a"] = area(pbf_b)
    _ = pbf_b.groupby("building_id")["a"].sum()
    x = gpd.overlay(cand.reset_index()[["building_id", "geometry"]], gh[["geometry"]], how="intersection", keep_geom_type=True)
    x["a"] = area(x)
    _ = x.groupby("building_id")["a"].sum()
    near = gpd.sjoin_nearest(cand.reset_index()[["building_id", "geometry"]], gh[["geometry"]], max_distance=50, distance_col="d")
    _ = near.groupby("building_id")["d"].min()
    parks = gpd.read_file(data / LAYERS["parks"][0]).to_crs(work)
    x = gpd.overlay(cand.reset_index()[["building_id", "geometry"]], parks[["geometry"]], how="intersection", keep_geom_type=True)
    x["a"] = area(x)
    _ = x.groupby("building_id")["a"].sum()
    appr = gpd.read_file(data / "审批备案.gpkg", layer="PZYD").to_crs(work)
    x = gpd.overlay(cand.reset_index()[["building_id", "geometry"]], appr[["批准类型", "geometry"]], how="intersection", keep_geom_type=True)
    x["a"] = area(x)
    _ = x.groupby(["building_id", "批准类型"])["a"].sum()
    x = gpd.overlay(parcels[["parcel_id", "geometry"]], appr[["批准类型", "geometry"]], how="intersection", keep_geom_type=True)
    x["a"] = area(x)
    _ = x.groupby(["parcel_id", "批准类型"])["a"].sum()
    t2 = time.perf_counter()
    res = res.fillna(0).reset_index().sort_values("parcel_id")
    res.to_parquet(out / "naive_parcels.parquet")
    gpd.GeoDataFrame(res.merge(parcels[["parcel_id", "geometry"]]), crs=work).to_file(out / "naive.gpkg", driver="GPKG")
    t3 = time.perf_counter()
    return {"read_s": t1 - t0, "classify_s": t2 - t1, "write_s": t3 - t2, "total_s": t3 - t0, "parcels": len(res), "findings": None, "counts": None, "rows": int(np.int64(len(res)))}


def child(which: str, data: Path, out: Path) -> None:
    stats = run_ours(data, out) if which == "ours" else run_naive(data, out)
    stats["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(stats))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", default="medium", choices=["small", "medium", "large"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--child", choices=["ours", "naive"])
    ap.add_argument("--skip-naive", action="store_true")
    args = ap.parse_args()
    data = ensure_data(args.scale, args.seed) if args.child is None else DATA / args.scale
    out = DATA / f"{args.scale}-out"
    out.mkdir(parents=True, exist_ok=True)
    if args.child:
        child(args.child, data, out)
        return
    results = {}
    for which in ["ours"] + ([] if args.skip_naive else ["naive"]):
        proc = subprocess.run([sys.executable, __file__, "--scale", args.scale, "--child", which], capture_output=True, text=True, check=True)
        results[which] = json.loads(proc.stdout.strip().splitlines()[-1])
        r = results[which]
        print(f"{which:>6}: read {r['read_s']:.1f} s, classify {r['classify_s']:.1f} s, write {r['write_s']:.1f} s, total {r['total_s']:.1f} s, peak RSS {r['peak_rss_mb']:.0f} MB")
    print(f"ours: {results['ours']['parcels']} parcels, {results['ours']['findings']} findings, {results['ours']['counts']}")
    if "naive" in results:
        import numpy as np
        import pandas as pd

        a = pd.read_parquet(out / "ours_parcels.parquet").set_index("parcel_id").fillna(0)
        b = pd.read_parquet(out / "naive_parcels.parquet").set_index("parcel_id").fillna(0).loc[a.index]
        worst = 0.0
        for m in METRICS:
            rel = np.abs(a[m] - b[m]) / np.maximum(np.abs(b[m]), 1.0)
            worst = max(worst, float(rel.max()))
        print(f"areas agree: max relative difference {worst:.2e} over {', '.join(METRICS)} ({'OK' if worst <= 1e-6 else 'MISMATCH'})")
        print(f"speed-up: {results['naive']['total_s'] / results['ours']['total_s']:.1f}x")


if __name__ == "__main__":
    main()
