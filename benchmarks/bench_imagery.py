"""Benchmark: per-parcel imagery statistics for 20,000 parcels on a 10k x 10k 4-band raster.

    .venv/bin/python benchmarks/bench_imagery.py                      # 10000 px, 20000 parcels
    .venv/bin/python benchmarks/bench_imagery.py --size 2000 --n 2000 # quick check

Generates (once, in a temp dir or ``--dir``) a before and an after GeoTIFF: uint16, 4 bands
(B, G, R, NIR), 2 m, EPSG:4549, tiled 512 x 512, DEFLATE + predictor 2, written tile by tile;
fields with noise and, in the after image, a roof on one parcel in five. Then, each in its own
process so that the peak memory (ru_maxrss) is its own:

* **ours**: :func:`parcelwatch.imagery.zonal_change` (one window per parcel, ``geometry_mask``,
  vectorised numpy), geometries given in EPSG:4490 and reprojected to the raster;
* **naive** (on the first ``--naive-n`` parcels, then extrapolated): ``rasterio.mask.mask`` per
  parcel and per image with ``crop=True`` and a per-pixel statistic in numpy - the common recipe.

Chips are not included (they are per problem, written only for the ledger's problems).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

X0, Y0, PIXEL = 300000.0, 4100000.0, 2.0


def make_rasters(folder: Path, size: int, n: int, seed: int = 0) -> tuple[Path, Path, Path]:
    """Write before.tif, after.tif and parcels.parquet (EPSG:4490) into ``folder``."""
    import geopandas as gpd
    import rasterio
    import shapely
    from rasterio.transform import from_origin
    from rasterio.windows import Window

    rng = np.random.default_rng(seed)
    side = rng.integers(8, 40, n)  # parcels of 16-80 m
    col = rng.integers(0, size - 41, n)
    row = rng.integers(0, size - 41, n)
    roofed = rng.random(n) < 0.2
    boxes = shapely.box(
        X0 + col * PIXEL, Y0 - (row + side) * PIXEL, X0 + (col + side) * PIXEL, Y0 - row * PIXEL
    )
    parcels = gpd.GeoDataFrame({"roofed": roofed}, geometry=boxes, crs=4549).to_crs(4490)
    paths = folder / "before.tif", folder / "after.tif", folder / "parcels.parquet"
    parcels.to_parquet(paths[2])
    profile = {
        "driver": "GTiff", "width": size, "height": size, "count": 4, "dtype": "uint16", "nodata": 0,
        "crs": "EPSG:4549", "transform": from_origin(X0, Y0, PIXEL, PIXEL), "tiled": True,
        "blockxsize": 512, "blockysize": 512, "compress": "deflate", "predictor": 2, "BIGTIFF": "IF_SAFER",
    }  # fmt: skip
    field = np.array([300, 600, 500, 4500], dtype=np.int32)[:, None, None]
    roof = np.array([1800, 1900, 1900, 2100], dtype=np.int32)
    for k, path in enumerate(paths[:2]):
        with rasterio.open(path, "w", **profile) as dst:
            for r0 in range(0, size, 512):
                for c0 in range(0, size, 512):
                    h, w = min(512, size - r0), min(512, size - c0)
                    tile = field + rng.integers(-20, 21, (4, h, w), dtype=np.int32)
                    if k == 1:
                        hit = (
                            roofed
                            & (row < r0 + h)
                            & (row + side > r0)
                            & (col < c0 + w)
                            & (col + side > c0)
                        )
                        for i in np.flatnonzero(hit):
                            rs = slice(
                                max(row[i] - r0, 0), max(min(row[i] + side[i] // 2 - r0, h), 0)
                            )
                            cs = slice(
                                max(col[i] - c0, 0), max(min(col[i] + side[i] // 2 - c0, w), 0)
                            )
                            tile[:, rs, cs] = roof[:, None, None]
                    dst.write(tile.astype(np.uint16), window=Window(c0, r0, w, h))
    return paths


def run_ours(folder: Path) -> dict[str, float]:
    import geopandas as gpd

    from parcelwatch.imagery import open_pair, zonal_change

    parcels = gpd.read_parquet(folder / "parcels.parquet")
    t = time.perf_counter()
    with open_pair(folder / "before.tif", folder / "after.tif") as pair:
        stats = zonal_change(pair, parcels.geometry)
    dt = time.perf_counter() - t
    hit = stats["share_changed"] > 0.1
    return {
        "seconds": dt,
        "parcels": len(parcels),
        "per_parcel_ms": dt / len(parcels) * 1000,
        "roofed_found": float((hit == parcels["roofed"]).mean()),
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_naive(folder: Path, n: int) -> dict[str, float]:
    import geopandas as gpd
    import rasterio
    from rasterio.mask import mask

    parcels = gpd.read_parquet(folder / "parcels.parquet").iloc[:n]
    t = time.perf_counter()
    with rasterio.open(folder / "before.tif") as b, rasterio.open(folder / "after.tif") as a:
        geoms = parcels.to_crs(b.crs).geometry
        out = []
        for g in geoms:
            vals = []
            for src in (b, a):
                arr, _ = mask(src, [g], crop=True, filled=False)
                arr = arr.astype("float64")
                vals.append(((arr[3] - arr[2]) / (arr[3] + arr[2])).mean())
            out.append(vals[1] - vals[0])
    dt = time.perf_counter() - t
    return {
        "seconds": dt,
        "parcels": n,
        "per_parcel_ms": dt / n * 1000,
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=10_000)
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--naive-n", type=int, default=2_000)
    ap.add_argument("--dir", type=Path)
    ap.add_argument("--side", choices=["ours", "naive"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.side:
        res = run_ours(args.dir) if args.side == "ours" else run_naive(args.dir, args.naive_n)
        print(json.dumps(res))  # noqa: T201 - a benchmark script, not the library
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.dir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        if not (folder / "after.tif").exists():
            t = time.perf_counter()
            make_rasters(folder, args.size, args.n)
            mb = sum(p.stat().st_size for p in folder.glob("*.tif")) / 2**20
            print(
                f"generated {args.size} x {args.size} x 4 uint16 x 2 ({mb:,.0f} MB on disk) + {args.n} parcels in {time.perf_counter() - t:.1f} s"
            )  # noqa: T201
        for side in ("ours", "naive"):
            cmd = [
                sys.executable,
                __file__,
                "--side",
                side,
                "--dir",
                str(folder),
                "--naive-n",
                str(args.naive_n),
            ]
            res = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
            print(side, {k: round(v, 3) for k, v in res.items()})  # noqa: T201


if __name__ == "__main__":
    main()
