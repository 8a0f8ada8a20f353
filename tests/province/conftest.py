"""Fixtures: the synthetic province (packed through the CLI), its global overlay, a LocalCluster."""

from __future__ import annotations

import fcntl
import json
from dataclasses import dataclass
from pathlib import Path

import cloudpickle
import geopandas as gpd
import pandas as pd
import pyogrio
import pytest

from parcelwatch.cli import main
from parcelwatch.io.layers import read_layer
from parcelwatch.pipeline import classify_inputs, load_inputs
from tests.conftest import shared_root

from . import faults, synth

cloudpickle.register_pickle_by_value(faults)  # workers need not import the tests package

# Per-parcel values a province run must reproduce (areas in m², to 1e-6 m²).
AREAS = [
    "parcel_area_m2",
    "farmland_m2",
    "pbf_m2",
    "greenhouse_m2",
    "building_m2",
    "building_farmland_m2",
    "building_pbf_m2",
    "illegal_farmland_m2",
    "illegal_pbf_m2",
]
LABELS = [
    "problem_class",
    "classes",
    "greenhouse_count",
    "building_count",
    "township_code",
    "priority",
]


@dataclass
class Province:
    root: Path
    src: Path
    store: Path
    merged: dict[str, Path]
    data: dict[str, dict[str, gpd.GeoDataFrame]]
    files: dict[str, str]


@pytest.fixture(scope="session")
def province(tmp_path_factory: pytest.TempPathFactory) -> Province:
    # Built once per session: under xdist the first worker writes the files (the others wait on
    # the lock); `synth.build()` is seeded, so every worker holds the same in-memory data.
    shared = shared_root(tmp_path_factory)
    root = shared / "province"
    data = synth.build()
    with open(shared / "province.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        built = root / "built.json"
        if not built.exists():
            built.write_text(json.dumps(_build_province(root, data)), encoding="utf-8")
        files, merged = json.loads(built.read_text(encoding="utf-8"))
    merged = {role: Path(p) for role, p in merged.items()}
    return Province(root, root / "deliveries", root / "store", merged, data, files)


def _build_province(
    root: Path, data: dict[str, dict[str, gpd.GeoDataFrame]]
) -> tuple[dict[str, str], dict[str, str]]:
    """Deliveries, the packed store and the province-wide (merged) files: (files, merged)."""
    files = synth.write_deliveries(root / "deliveries", data)
    args = [
        "province",
        "pack",
        str(root / "deliveries"),
        "--counties",
        ",".join(synth.COUNTIES),
        "--batch",
        synth.BATCH,
        "--parcels",
        files["parcels"],
        "-o",
        str(root / "store"),
    ]
    for role, spec in files.items():
        if role != "parcels":
            args += ["--layer", f"{role}={spec}"]
    assert main(args) == 0
    merged = synth.write_merged(root / "merged", data)
    # the global overlay's parcels: each county's delivery as the loader reads it
    parcels = pd.concat(
        [
            read_layer(synth.parcels_file(root / "deliveries", c), role="parcels")
            for c in synth.COUNTIES
        ],
        ignore_index=True,
    )
    merged["parcels"] = root / "merged" / "all_parcels.gpkg"
    pyogrio.write_dataframe(gpd.GeoDataFrame(parcels), merged["parcels"], driver="GPKG")
    return files, {role: str(p) for role, p in merged.items()}


@pytest.fixture(scope="session")
def global_overlay(province: Province, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """One single-process overlay of the whole province (no partitioning), by parcel id.

    Computed once per session (under xdist by the first worker, the others read its pickle)."""
    shared = shared_root(tmp_path_factory)
    cached = province.root / "global_overlay.pkl"
    with open(shared / "province.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not cached.exists():
            inputs = load_inputs({r: p for r, p in province.merged.items()})
            frame = classify_inputs(inputs).parcels.set_index("parcel_id").sort_index()
            frame.to_pickle(cached)
    return pd.read_pickle(cached)


@pytest.fixture(scope="package")
def client():  # type: ignore[no-untyped-def]
    """The LocalCluster of `province classify --workers 2`: 2 processes x 1 thread on 127.0.0.1.

    Package scope: the cluster is closed when the province tests end, not left running beside
    the rest of the suite."""
    from parcelwatch.province import province_client

    with province_client(workers=2) as c:
        assert len(c.scheduler_info()["workers"]) == 2
        yield c


def assert_same(result: pd.DataFrame, expected: pd.DataFrame, *, what: str) -> None:
    """Same parcels, same labels, every area within 1e-6 m²."""
    r = (
        result.set_index("parcel_id").sort_index()
        if "parcel_id" in result.columns
        else result.sort_index()
    )
    assert list(r.index) == list(expected.index), f"{what}: different parcels"
    for c in LABELS:
        a, b = r[c].astype(str).to_numpy(), expected[c].astype(str).to_numpy()
        assert (a == b).all(), f"{what}: {c} differs for {list(r.index[a != b])}"
    for c in AREAS:
        diff = (r[c].astype(float) - expected[c].astype(float)).abs().fillna(0)
        assert diff.max() <= 1e-6, (
            f"{what}: {c} differs by {diff.max()} m² for {list(r.index[diff > 1e-6])}"
        )
