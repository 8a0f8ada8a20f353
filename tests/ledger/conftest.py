"""Hand-drawn scenes for the ledger tests, in EPSG:4549 (GK zone 40) around (X0, Y0).

Every square is drawn in GK metres. Areas are ellipsoidal, but over a few hundred metres the GK
areal scale is constant to ~1e-6, so overlap shares and IoUs equal the planar ratios given in the
docstrings (to 4 decimals).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from parcelwatch.ledger.model import Change, ParcelLink, ProblemRecord, Status
from parcelwatch.ledger.store import GpkgStore
from parcelwatch.rules.classify import Classification, classify
from tests.conftest import X0, Y0

TZ = timezone(timedelta(hours=8))
NOW = datetime(2026, 3, 5, 9, 30, tzinfo=TZ)
ISSUED = date(2026, 3, 1)


def box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    """A rectangle in scene metres (EPSG:4549 offset by X0, Y0)."""
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


# 旱地 (0103) over the whole scene, 2 km x 1 km: every building on it is on farmland.
FARM = gpd.GeoDataFrame(
    {"patch_id": ["T1"], "dlbm": ["0103"]}, geometry=[box(0, 0, 2000, 1000)], crs=4549
)


def parcels(*rows: tuple) -> gpd.GeoDataFrame:
    """rows: (parcel_id, geometry[, township_name])."""
    return gpd.GeoDataFrame(
        {
            "parcel_id": [r[0] for r in rows],
            "township_name": [r[2] if len(r) > 2 else "禾丰镇" for r in rows],
        },
        geometry=[r[1] for r in rows],
        crs=4549,
    )


def buildings(*rows: tuple) -> gpd.GeoDataFrame:
    """rows: (building_id, geometry[, use])."""
    g = gpd.GeoDataFrame(
        {
            "building_id": [r[0] for r in rows],
            "use": [r[2] if len(r) > 2 else "住宅" for r in rows],
            "storeys": [1] * len(rows),
        },
        geometry=[r[1] for r in rows],
        crs=4549,
    )
    g["storeys"] = g["storeys"].astype("Int64")
    return g


def classify_scene(p: gpd.GeoDataFrame, b: gpd.GeoDataFrame | None = None) -> Classification:
    """Classify parcels on FARM with optional buildings (no greenhouses: 住宅 on farmland = 非农化)."""
    return classify(p, farmland=FARM, buildings=b)


def write_batch(
    folder: Path, p: gpd.GeoDataFrame, b: gpd.GeoDataFrame | None = None
) -> dict[str, str]:
    """Write a batch as files (parcels with JCBH/XZQMC, buildings with JZBH/YT) and return sources."""
    folder.mkdir(parents=True, exist_ok=True)
    out = p.rename(columns={"parcel_id": "JCBH", "township_name": "XZQMC"})
    pyogrio.write_dataframe(out, folder / "parcels.gpkg")
    farm = FARM.rename(columns={"dlbm": "DLBM", "patch_id": "BSM"})
    pyogrio.write_dataframe(farm, folder / "farmland.gpkg")
    src = {"parcels": str(folder / "parcels.gpkg"), "farmland": str(folder / "farmland.gpkg")}
    if b is not None:
        pyogrio.write_dataframe(
            b.rename(columns={"building_id": "JZBH", "use": "YT", "storeys": "CS"}),
            folder / "buildings.gpkg",
        )
        src["buildings"] = str(folder / "buildings.gpkg")
    return src


@pytest.fixture
def gpkg_store(tmp_path: Path):
    s = GpkgStore.create(tmp_path / "ledger.gpkg", now=NOW, county_code="370790")
    yield s
    s.close()


@pytest.fixture(params=["gpkg", "postgis"])
def store(request, tmp_path: Path):
    """The contract fixture: every test that takes ``store`` runs on the GeoPackage and on a fresh
    PostgreSQL/PostGIS ledger (as the county login ``wang``)."""
    if request.param == "gpkg":
        s = GpkgStore.create(tmp_path / "ledger.gpkg", now=NOW, county_code="370790")
    else:
        from parcelwatch.ledger.pgstore import PgStore

        s = PgStore(request.getfixturevalue("pg_db")("wang"))
    yield s
    s.close()


def location(store) -> str:
    """What :func:`~parcelwatch.ledger.store.open_store` opens again (in another process)."""
    return getattr(store, "url", None) or str(store.path)


def make_problems(
    store: GpkgStore,
    n: int,
    *,
    batch: str = "2026年第1批",
    status: Status = Status.UNVERIFIED,
    townships: tuple[str, ...] = ("370790101", "370790102"),
) -> list[str]:
    """n problems (10 m squares in a row) created in one transaction; returns their ids."""
    changes = []
    for i in range(n):
        g = (
            gpd.GeoSeries(
                [box(20 * (i % 90), 20 * (i // 90), 20 * (i % 90) + 10, 20 * (i // 90) + 10)],
                crs=4549,
            )
            .to_crs(4490)
            .iloc[0]
        )
        pid = f"P{i:05d}"
        changes.append(
            Change(
                kind="create", status=status, batch=batch, geometry=g,
                fields={"county_code": "370790", "year": 2026, "first_batch": batch, "batches": (batch,), "parcel_ids": (pid,),
                        "candidate_class": "II", "township_name": "禾丰镇" if i % 2 else "东河乡", "township_code": townships[i % len(townships)], "verify_due": date(2026, 4, 30),
                        "parcel_area_m2": 100.0, "illegal_farmland_m2": 60.0, "remaining_unrectified_m2": 60.0},
                parcels=(ParcelLink(pid, batch, g),),
            )
        )  # fmt: skip
    return [p for p in store.apply(changes, user="setup", now=NOW).problem_ids if p]


def stripped(records: dict[str, ProblemRecord] | list[ProblemRecord]) -> dict[str, ProblemRecord]:
    """Records by id (geometry is not compared: ProblemRecord.geometry has compare=False)."""
    if isinstance(records, dict):
        return dict(records)
    return {r.problem_id: r for r in records}
