"""The whole job without option parsing: the CLI, the demo and notebooks all call these.

``load_inputs`` reads each named layer, decides the county's working Gauss-Kruger zone, checks
that all layers lie in the same place, and returns them reprojected into that zone.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from parcelwatch import crs as crsmod
from parcelwatch.config import DEFAULT_RULES, Rules
from parcelwatch.errors import CRSError, InputError
from parcelwatch.io.layers import LayerReport, LayerSource, load_layer
from parcelwatch.rules.classify import Classification

__all__ = [
    "LayerSource",  # from parcelwatch.io.layers
    "Inputs",
    "load_inputs",
    "working_zone",
    "classify_inputs",
    "write_classification",
]

log = logging.getLogger(__name__)


@dataclass
class Inputs:
    """Validated layers of one county, all in the working CRS."""

    layers: dict[str, gpd.GeoDataFrame]
    reports: dict[str, LayerReport]
    working_crs: CRS
    zone: int
    notes: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    """Data-quality notices of every layer (``where: what``), in role order: returned as data,
    never as warnings (layers load on threads; warning filters are process-global)."""

    def get(self, role: str) -> gpd.GeoDataFrame | None:
        return self.layers.get(role)


_frozen = {"depth": 0}
_frozen_lock = threading.Lock()


@contextmanager
def older_objects_frozen() -> Iterator[None]:
    """Run a stage with the objects that exist when it starts kept out of the cyclic garbage
    collector's walks (``gc.freeze``), and give them back to it when the outermost stage ends.

    Those are mostly the imported libraries' modules, functions and classes (~120,000 objects
    after the imports of a check) and the layers an earlier stage loaded: they live as long as
    the run, yet each full collection walked them all. Measured on the large sample county
    (GC callbacks, 2026-12-03): the registered county run spent 1.09 s in collections (0.89 s in
    9 full ones), 0.59 s with the imports frozen; a 2,000-parcel check's one full collection
    took 0.10 s, 4 ms frozen. Garbage made during the stage is collected as always; refcounting
    frees the frozen objects that die meanwhile; nested stages (a check's load and classify)
    freeze what they find and the outermost one thaws it all.
    """
    with _frozen_lock:
        gc.freeze()
        _frozen["depth"] += 1
    try:
        yield
    finally:
        with _frozen_lock:
            _frozen["depth"] -= 1
            if _frozen["depth"] == 0:
                gc.unfreeze()


def working_zone(frames: Mapping[str, gpd.GeoDataFrame], rules: Rules) -> tuple[int, str]:
    """The 3-degree zone overlay runs in: the rules file's, else the farmland layer's, else by longitude."""
    if rules.county.gk_zone:
        return rules.county.gk_zone, "from the rules file ([county].gk_zone)"
    for role in ("farmland", "pbf", "parcels", "buildings", "greenhouses"):
        g = frames.get(role)
        if g is not None:
            z = crsmod.gk3_zone_of_crs(g.crs)
            if z is not None:
                return z, f"from the CRS of the {role} layer"
    for role in ("parcels", "farmland"):
        g = frames.get(role)
        if g is not None and len(g):
            lon0, lat0, lon1, lat1 = g.to_crs(crsmod.STORAGE_CRS).total_bounds
            z = crsmod.gk3_zone_from_lon((lon0 + lon1) / 2)
            return z, f"from the longitude of the {role} layer ({(lon0 + lon1) / 2:.2f}E)"
    raise InputError(
        "No layer to decide the working Gauss-Kruger zone from. Load a parcels or farmland layer, or set [county].gk_zone in the rules file."
    )


@older_objects_frozen()
def load_inputs(
    sources: Mapping[str, str | Path | LayerSource | None],
    *,
    rules: Rules = DEFAULT_RULES,
    allow_empty: bool = False,
    zone: int | None = None,
) -> Inputs:
    """Load every named role's layer, validate, reproject to the working zone, check alignment.

    ``zone`` imposes the working zone (e.g. the one the workspace's reference layers are stored
    in); otherwise it is decided by :func:`working_zone`.
    """
    from concurrent.futures import ThreadPoolExecutor

    from parcelwatch.rules.overlay import THREADS

    specs = {role: LayerSource.parse(spec) for role, spec in sources.items() if spec is not None}

    def load(item: tuple[str, LayerSource]) -> tuple[str, Any]:
        role, src = item
        return role, load_layer(
            src.path,
            role=role,
            layer=src.layer,
            crs=src.crs,
            encoding=src.encoding,
            gcj02=src.gcj02,
            rules=rules,
            allow_empty=allow_empty,
            warn=False,
        )

    # GDAL reads release the GIL: read the layers side by side (largest first), keep the order.
    order = sorted(specs.items(), key=lambda kv: -_size_hint(kv[1].path))
    with ThreadPoolExecutor(THREADS) as pool:
        results = dict(pool.map(load, order))
    loaded = {role: results[role].frame for role in specs}
    reports = {role: results[role].report for role in specs}
    if zone is None:
        zone, why = working_zone(loaded, rules)
    else:
        why = "as the registered reference layers"
    wcrs = crsmod.working_crs(zone)
    notes = [f"working CRS EPSG:{wcrs.to_epsg()} (3-degree Gauss-Kruger zone {zone}) {why}"]
    with ThreadPoolExecutor(THREADS) as pool:
        layers = dict(
            zip(loaded, pool.map(lambda g: _reproject(g, wcrs, zone), loaded.values()), strict=True)
        )
    _check_alignment(layers, reports)
    notices = [f"{rep.where}: {w}" for rep in reports.values() for w in rep.warnings]
    return Inputs(layers, reports, wcrs, zone, notes, notices)


def _size_hint(path: Path) -> int:
    try:
        return path.stat().st_size if path.is_file() else 0
    except OSError:
        return 0


def _reproject(frame: gpd.GeoDataFrame, target: CRS, zone: int) -> gpd.GeoDataFrame:
    """to_crs, but the zone-prefixed twin of the working zone is an exact shift of X."""
    if frame.crs.equals(target):
        return frame
    if frame.crs.to_epsg(min_confidence=90) == crsmod.gk3_epsg(zone, prefixed=True):
        offset = np.array([-zone * 1_000_000.0, 0.0])
        moved = shapely.transform(
            np.asarray(frame.geometry.values, dtype=object), lambda xy: xy + offset
        )
        return frame.set_geometry(gpd.GeoSeries(moved, index=frame.index, crs=target))
    return _to_crs(frame, target)


def _check_alignment(
    layers: Mapping[str, gpd.GeoDataFrame], reports: Mapping[str, LayerReport]
) -> None:
    """Refuse layers that do not overlap the others: one of their CRSs must be wrong."""
    boxes = {
        r: shapely.box(*g.total_bounds)
        for r, g in layers.items()
        if len(g) and np.all(np.isfinite(g.total_bounds))
    }
    if len(boxes) < 2:
        return
    anchor_role = next(
        (r for r in ("farmland", "parcels", "townships") if r in boxes), next(iter(boxes))
    )
    anchor = boxes[anchor_role].buffer(2000)
    far = [r for r, b in boxes.items() if r != anchor_role and not b.intersects(anchor)]
    if far:
        lines = []
        for r in [anchor_role, *far]:
            g = layers[r]
            lon0, lat0, lon1, lat1 = g.to_crs(crsmod.STORAGE_CRS).total_bounds
            lines.append(
                f"{reports[r].where} [{r}, declared {reports[r].crs}] lies at {lon0:.3f}-{lon1:.3f}E, {lat0:.3f}-{lat1:.3f}N"
            )
        raise CRSError(
            "Layers do not line up: " + "; ".join(lines) + ". At least one declared CRS is wrong "
            "(a wrong zone, a missing zone prefix, or a different county). Check each file's .prj "
            "with `parcelwatch inspect FILE` and pass the right one with --crs."
        )


@older_objects_frozen()
def classify_inputs(inputs: Inputs, *, rules: Rules = DEFAULT_RULES) -> Classification:
    """Run :func:`parcelwatch.rules.classify.classify` on loaded inputs."""
    from parcelwatch.rules.classify import classify

    roles = (
        "farmland",
        "pbf",
        "greenhouses",
        "buildings",
        "approvals",
        "parks",
        "townships",
        "villages",
    )
    return classify(
        inputs.layers["parcels"], rules=rules, **{r: inputs.layers.get(r) for r in roles}
    )


def _to_crs(frame: gpd.GeoDataFrame, target: CRS) -> gpd.GeoDataFrame:
    """``frame.to_crs(target)``, the coordinates transformed in halves on two threads when many
    (:func:`parcelwatch.crs.transform_geometries`: the same PROJ transformation, the same bits)."""
    if frame.crs is None or frame.crs.equals(target):
        return frame.to_crs(target) if frame.crs is None else frame
    geoms = np.asarray(frame.geometry.values, dtype=object)
    if shapely.has_z(geoms).any():  # heights: to_crs transforms them too
        return frame.to_crs(target)
    moved = crsmod.transform_geometries(geoms, frame.crs, target)
    return frame.set_geometry(gpd.GeoSeries(moved, index=frame.index, crs=target))


def _in_storage_crs(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``frame.to_crs(STORAGE_CRS)`` (see :func:`_to_crs`)."""
    return _to_crs(frame, crsmod.STORAGE_CRS)


@older_objects_frozen()
def write_classification(
    result: Classification,
    path: str | Path,
    *,
    sources: Mapping[str, LayerReport] | None = None,
    notices: Sequence[str] = (),
) -> Path:
    """Write layers ``parcels``, ``findings`` and table ``run_info`` to a GeoPackage (EPSG:4490).

    ``run_info`` holds the rules digest, skipped rules, notes, inputs and the loader's
    data-quality notices (``notice:N``; see :attr:`Inputs.notices`).

    The file is written beside the target and renamed into place, so a failed write leaves no
    half-written output.
    """
    import pandas as pd
    import pyogrio

    from parcelwatch.atomic import atomic_path
    from parcelwatch.errors import OutputError

    path = Path(path)
    parcels_out, findings_out = (
        _in_storage_crs(result.parcels),
        _in_storage_crs(result.findings),
    )
    try:
        with atomic_path(path) as tmp:
            pyogrio.write_dataframe(
                parcels_out,
                tmp,
                layer="parcels",
                driver="GPKG",
                use_arrow=True,
            )
            pyogrio.write_dataframe(
                findings_out,
                tmp,
                layer="findings",
                driver="GPKG",
                use_arrow=True,
            )
            info = pd.DataFrame(
                {
                    "key": [
                        "rules_digest",
                        *[f"skipped:{rid}" for rid, _ in result.skipped],
                        *[f"note:{i}" for i, _ in enumerate(result.notes)],
                        *[f"input:{r}" for r in (sources or {})],
                        *[f"notice:{i}" for i, _ in enumerate(notices)],
                    ],
                    "value": [
                        result.rules_digest,
                        *[why for _, why in result.skipped],
                        *result.notes,
                        *[rep.where for rep in (sources or {}).values()],
                        *notices,
                    ],
                }
            )
            pyogrio.write_dataframe(info, tmp, layer="run_info", driver="GPKG")
    except OSError as exc:
        raise OutputError(
            f"Cannot write {path}: {exc}. Check the folder exists and is writable, and that the file is not open in QGIS/ArcGIS."
        ) from exc
    return path
