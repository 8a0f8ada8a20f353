"""Cost of the mixed-encoding check (issue 18 point 8) on a large GBK shapefile.

    .venv/bin/python benchmarks/bench_encoding.py --records 200000

Writes a GBK shapefile with a .cpg (parcel ids, township and village names, a use text) into
benchmarks/data/encoding/, then times ``mixed_encoding_records`` alone and the whole
``load_layer`` (which runs it) three times each; prints the best run.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import geopandas as gpd
import pyogrio
import shapely

from parcelwatch.io.encoding import mixed_encoding_records
from parcelwatch.io.layers import load_layer

X0, Y0 = 390_000.0, 4_080_000.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=200_000)
    n = ap.parse_args().records
    folder = Path(__file__).parent / "data" / "encoding"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"parcels_{n}.shp"
    if not path.exists():
        towns = ["禾丰镇", "东河乡", "柳湾镇", "西山街道", "北岭镇"]
        frame = gpd.GeoDataFrame(
            {
                "JCBH": [f"3707902026Q{i:07d}" for i in range(n)],
                "XZQMC": [towns[i % 5] for i in range(n)],
                "CMC": [f"{towns[i % 5][:2]}{i % 300}村" for i in range(n)],
                "BZ": [f"大棚内建房第{i % 1000}处" for i in range(n)],
            },
            geometry=[
                shapely.box(
                    X0 + (i % 500) * 20,
                    Y0 + (i // 500) * 20,
                    X0 + (i % 500) * 20 + 10,
                    Y0 + (i // 500) * 20 + 10,
                )
                for i in range(n)
            ],
            crs=4549,
        )
        pyogrio.write_dataframe(frame, path, encoding="GBK")
    best_check = best_load = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        count, _found = mixed_encoding_records(path, "gbk")
        best_check = min(best_check, time.perf_counter() - t)
        assert count == 0
        t = time.perf_counter()
        load_layer(path, role="parcels")
        best_load = min(best_load, time.perf_counter() - t)
    print(
        f"{n} records: mixed-encoding check {best_check:.2f} s; whole load_layer {best_load:.2f} s ({100 * best_check / best_load:.0f} %)"
    )


if __name__ == "__main__":
    main()
