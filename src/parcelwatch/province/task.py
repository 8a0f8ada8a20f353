"""The county task: one county of a province store, classified. Pure apart from reading the store.

It runs the county pipeline's own classification (:func:`parcelwatch.pipeline.classify_inputs`)
on the county's parcels and on reference layers read **by the parcels' extent** from the whole
province, so a parcel that reaches over a county border sees the neighbour county's farmland,
buildings and greenhouses. This module has no dask import: dask only ships the function.

The extent is read in two steps, so that the result equals one global overlay exactly:

1. buildings whose box meets the parcels' box (a building is judged when it overlaps a parcel);
2. every other layer by the box of the parcels *and* those buildings, since a building's farmland,
   greenhouse share and approvals are measured over its whole footprint; greenhouses by that box
   grown by the greenhouse search distance (``[greenhouse] context_distance_m`` /
   ``caretaker_distance_m``), since the nearest greenhouse may lie outside both.
"""

from __future__ import annotations

import math
import os
import socket
import time
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from parcelwatch import __version__
from parcelwatch import crs as crsmod
from parcelwatch.config import DEFAULT_RULES, Rules
from parcelwatch.province.store import ProvinceStore

__all__ = ["CountyResult", "county_task", "county_inputs", "environment", "ENV_KEYS"]

ENV_KEYS = ("parcelwatch", "GEOS", "PROJ")


def environment() -> dict[str, str]:
    """What must be identical on every machine of a province run: areas depend on it."""
    return {
        "parcelwatch": __version__,
        "GEOS": shapely.geos_version_string,
        "PROJ": pyproj.proj_version_str,
    }


@dataclass
class CountyResult:
    """One county's classification, in EPSG:4490, with what the task read."""

    county: str
    batch: str
    parcels: gpd.GeoDataFrame
    findings: gpd.GeoDataFrame
    counts: dict[str, int]
    rules_digest: str
    notes: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    read: dict[str, int] = field(default_factory=dict)  # role -> features read
    seconds: float = 0.0
    host: str = ""
    pid: int = 0


def _grow(bounds: np.ndarray, metres: float) -> np.ndarray:
    """A lon/lat box grown by at least ``metres`` on every side (generous: a superset is harmless)."""
    if metres <= 0:
        return bounds
    lat = max(abs(bounds[1]), abs(bounds[3]))
    dlat = metres / 110_000.0 * 1.1
    dlon = metres / (111_320.0 * max(math.cos(math.radians(min(lat + dlat, 89.0))), 0.01)) * 1.1
    return np.array([bounds[0] - dlon, bounds[1] - dlat, bounds[2] + dlon, bounds[3] + dlat])


def _union(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if not np.all(np.isfinite(b)):
        return a
    return np.array([min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])])


def county_inputs(
    store: ProvinceStore | str,
    county: str,
    batch: str,
    *,
    rules: Rules = DEFAULT_RULES,
    by_code: bool = False,
) -> dict[str, gpd.GeoDataFrame]:
    """The county's parcels and the reference layers it needs, in EPSG:4490.

    ``by_code=True`` reads the reference layers from the county's own partition only: the
    naive way, wrong for parcels near a border (kept as a control for tests and benchmarks).
    """
    store = store if isinstance(store, ProvinceStore) else ProvinceStore(store)
    parcels = store.parcels(county, batch)
    frames: dict[str, gpd.GeoDataFrame] = {"parcels": parcels}
    if by_code:
        for role in store.roles:
            frames[role] = store.read_county(role, county)
        return frames
    box = np.asarray(parcels.total_bounds, dtype=float)
    if not np.all(np.isfinite(box)):  # no parcels: read nothing but empty layers
        box = np.array([0.0, 0.0, -1.0, -1.0])
    # per feature, not only the county's overall box: a scattered batch touches a small part of it
    p_boxes = _finite(shapely.bounds(np.asarray(parcels.geometry.values, dtype=object)))
    wide, pb_boxes = box, p_boxes
    if "buildings" in store.roles:
        frames["buildings"] = store.read_extent("buildings", box, boxes=p_boxes)
        if len(frames["buildings"]):
            wide = _union(box, np.asarray(frames["buildings"].total_bounds, dtype=float))
            b_geoms = np.asarray(frames["buildings"].geometry.values, dtype=object)
            pb_boxes = np.concatenate([p_boxes, _finite(shapely.bounds(b_geoms))])
    reach = max(rules.greenhouse.context_distance_m, rules.greenhouse.caretaker_distance_m)
    for role in store.roles:
        if role == "buildings":
            continue
        if role in ("townships", "villages"):
            extent, boxes = box, p_boxes
        elif role == "greenhouses":
            extent, boxes = _grow(wide, reach), _grow_boxes(pb_boxes, reach)
        else:
            extent, boxes = wide, pb_boxes
        frames[role] = store.read_extent(role, extent, boxes=boxes)
    return frames


def _finite(boxes: np.ndarray) -> np.ndarray:
    return boxes[np.all(np.isfinite(boxes), axis=1)]


def _grow_boxes(boxes: np.ndarray, metres: float) -> np.ndarray:
    """:func:`_grow` for each of ``boxes`` (n, 4)."""
    if metres <= 0 or len(boxes) == 0:
        return boxes
    lat = np.maximum(np.abs(boxes[:, 1]), np.abs(boxes[:, 3]))
    dlat = metres / 110_000.0 * 1.1
    cos = np.maximum(np.cos(np.radians(np.minimum(lat + dlat, 89.0))), 0.01)
    dlon = metres / (111_320.0 * cos) * 1.1
    return np.column_stack(
        [boxes[:, 0] - dlon, boxes[:, 1] - dlat, boxes[:, 2] + dlon, boxes[:, 3] + dlat]
    )


def classify_frames(
    frames: dict[str, gpd.GeoDataFrame], *, rules: Rules = DEFAULT_RULES, zone: int | None = None
):  # type: ignore[no-untyped-def]
    """Reproject to the county's working zone and run the county pipeline's classification.

    ``zone`` is the county's zone as recorded when it was packed; the rules file's
    ``[county].gk_zone`` wins over it, as in the county pipeline.
    """
    from parcelwatch.pipeline import Inputs, classify_inputs, working_zone

    if zone is not None and not rules.county.gk_zone:
        why = "as decided from the county's delivery when it was packed"
    else:
        zone, why = working_zone(frames, rules)
    wcrs = crsmod.working_crs(zone)
    layers = {role: (g if g.crs.equals(wcrs) else g.to_crs(wcrs)) for role, g in frames.items()}
    inputs = Inputs(
        layers,
        {},
        wcrs,
        zone,
        [f"working CRS EPSG:{wcrs.to_epsg()} (3-degree Gauss-Kruger zone {zone}) {why}"],
    )
    return inputs, classify_inputs(inputs, rules=rules)


def county_task(
    store: str, county: str, batch: str, *, rules: Rules = DEFAULT_RULES, by_code: bool = False
) -> CountyResult:
    """Classify one county of the province store (see the module docstring)."""
    t0 = time.perf_counter()
    st = ProvinceStore(store)
    frames = county_inputs(st, county, batch, rules=rules, by_code=by_code)
    inputs, result = classify_frames(frames, rules=rules, zone=st.zones.get(county))
    parcels = result.parcels.to_crs(crsmod.STORAGE_CRS)
    parcels.insert(0, "xzqdm", county)
    order = np.argsort(parcels["parcel_id"].astype(str).to_numpy(), kind="stable")
    findings = result.findings.to_crs(crsmod.STORAGE_CRS)
    findings.insert(0, "xzqdm", county)
    return CountyResult(
        county,
        batch,
        parcels.iloc[order].reset_index(drop=True),
        findings.reset_index(drop=True),
        result.counts(),
        result.rules_digest,
        notes=[*inputs.notes, *result.notes],
        skipped=list(result.skipped),
        read={role: len(g) for role, g in frames.items()},
        seconds=time.perf_counter() - t0,
        host=socket.gethostname(),
        pid=os.getpid(),
    )
