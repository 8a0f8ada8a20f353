"""Problems that do not come from a 卫片 batch: ``parcelwatch ledger add`` (SEED-SYSTEMS 0.P1).

A problem found by a town patrol (巡查), the Party inspection (巡察), a complaint (举报), a
village self-check, a 回头看 campaign or a task handed down (上级交办) enters the ledger with its
source, the place as a polygon (from a file) or a point (lon/lat), and the new fields (来源编号,
发现日期, 位置描述, 四至, 建设年份, 责任领导 ...). It starts 未核查 with one ``create`` event, exactly
like a problem ``check`` creates; its id is the county code, the year found and the next number.

With a polygon and reference layers, the areas (图斑面积, 耕地, 永久基本农田) and the candidate class
come from the same :func:`parcelwatch.rules.classify.classify` that ``check`` runs. A point keeps
its areas empty and is drawn on the map as a marker.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from parcelwatch.config import DEFAULT_RULES, Rules
from parcelwatch.crs import STORAGE_CRS
from parcelwatch.errors import InputError, LedgerError, SchemaError
from parcelwatch.ledger.model import (
    FIELD_BY_NAME,
    SOURCES,
    Change,
    Status,
    normalise_value,
)

__all__ = ["NewProblem", "add_problem", "read_polygon", "new_problem_change", "REFERENCE_ROLES"]

#: reference layers ``ledger add`` accepts for the overlay (as ``check``)
REFERENCE_ROLES = ("farmland", "pbf", "greenhouses", "buildings", "approvals", "parks")


@dataclass(frozen=True)
class NewProblem:
    """What staff know about a problem found outside a 卫片 batch."""

    source: str
    township: str = ""
    village: str = ""
    geometry: Any = None  # shapely (Multi)Polygon in EPSG:4490
    lon: float | None = None
    lat: float | None = None
    found_on: date | None = None
    fields: Mapping[str, Any] | None = None  # editable fields (source_ref, place_text ...)
    note: str = ""


def _split_name(text: str) -> tuple[str, str]:
    """``"太山镇"`` -> name; ``"410724104"`` -> code (digits only)."""
    t = (text or "").strip()
    return ("", t) if t.isdigit() else (t, "")


def read_polygon(spec: str | Path, *, where: str | None = None) -> Any:
    """The one polygon a file (``FILE`` or ``FILE:LAYER``, optional SQL ``where``) holds, in EPSG:4490.

    Refuses a file with no CRS, with no or several matching features, or without polygons.
    """
    from parcelwatch.io.layers import LayerSource

    src = LayerSource.parse(str(spec))
    if not src.path.exists():
        raise InputError(f"{src.path}: no such file. Give the polygon as FILE or FILE:LAYER.")
    import pyogrio.errors

    try:
        frame = gpd.read_file(src.path, layer=src.layer, where=where, engine="pyogrio")
    except (
        pyogrio.errors.DataSourceError,
        pyogrio.errors.DataLayerError,
        pyogrio.errors.FieldError,
        OSError,
        ValueError,
    ) as exc:
        raise InputError(
            f"{spec}: cannot read the polygon ({exc}). Check the file, the layer name and --where."
        ) from exc
    where_txt = f" with --where {where!r}" if where else ""
    if len(frame) != 1:
        raise InputError(
            f"{spec}: {len(frame)} features{where_txt}; `ledger add` takes exactly one polygon. "
            'Select it with --where (e.g. --where "FID=3") or FILE:LAYER.'
        )
    if frame.crs is None:
        raise InputError(
            f"{spec}: the layer has no CRS (.prj). Add it, or export the polygon as EPSG:4490."
        )
    geom = frame.to_crs(STORAGE_CRS).geometry.iloc[0]
    if (
        geom is None
        or geom.is_empty
        or not isinstance(geom, (shapely.Polygon, shapely.MultiPolygon))
    ):
        kind = "empty" if geom is None or geom.is_empty else geom.geom_type
        raise InputError(
            f"{spec}: the feature{where_txt} is {kind}, not a polygon. Draw the site as a polygon."
        )
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    return geom


def _overlay(
    geom: Any, reference: Mapping[str, gpd.GeoDataFrame], rules: Rules, label: str
) -> dict[str, Any]:
    """Areas and candidate class of ``geom`` from the classification ``check`` runs.

    ``reference``: the loaded reference layers by role, all in one projected working CRS (as
    :func:`parcelwatch.pipeline.load_inputs` returns them)."""
    from parcelwatch.rules.classify import classify

    layers = {r: f for r, f in reference.items() if f is not None}
    working = next(iter(layers.values())).crs
    parcel = gpd.GeoDataFrame(
        {"parcel_id": [label]}, geometry=gpd.GeoSeries([geom], crs=STORAGE_CRS)
    ).to_crs(working)
    res = classify(parcel, rules=rules, **{r: layers.get(r) for r in REFERENCE_ROLES})
    row = res.parcels.iloc[0]
    out: dict[str, Any] = {"candidate_class": str(row.get("problem_class") or "none")}
    for c in ("parcel_area_m2", "farmland_m2", "pbf_m2"):
        v = row.get(c)
        out[c] = None if v is None or not np.isfinite(float(v)) else float(v)
    for c, col in (("candidate_reasons", "reasons"), ("candidate_reasons_en", "reasons_en"),
                   ("suggested_judgement", "suggested_judgement"), ("approval_refs", "approval_refs"),
                   ("priority", "priority"), ("alerts", "alerts")):  # fmt: skip
        if col in res.parcels.columns:
            out[c] = str(row.get(col) or "")
    return out


def new_problem_change(
    new: NewProblem,
    *,
    rules: Rules = DEFAULT_RULES,
    today: date,
    reference: Mapping[str, Any] | None = None,
) -> Change:
    """The ``create`` change of a problem from any source (checked; raises with the fix).

    ``reference``: loaded reference layers by role (farmland, pbf ...) in one projected CRS, as
    :func:`parcelwatch.pipeline.load_inputs` returns them; the polygon's areas and candidate
    class then come from the classification ``check`` runs."""
    if new.source not in SOURCES:
        raise SchemaError(f"问题来源 (--source) {new.source!r} is not one of {'、'.join(SOURCES)}.")
    has_point = new.lon is not None or new.lat is not None
    if (new.geometry is None) == (not has_point):
        raise SchemaError(
            "Give the place of the problem either as a polygon (--geometry FILE[:LAYER]) or as a point (--lon and --lat), not both and not neither."
        )
    if has_point:
        if new.lon is None or new.lat is None:
            raise SchemaError("A point needs both --lon and --lat (degrees, EPSG:4490).")
        if not (73.0 <= new.lon <= 136.0 and 3.0 <= new.lat <= 54.0):
            raise SchemaError(
                f"--lon {new.lon} --lat {new.lat} is not in China; give longitude then latitude in degrees (e.g. --lon 113.61 --lat 35.27)."
            )
    if not (new.township or "").strip():
        raise SchemaError("Name the township (--township, 乡镇 name or 9-digit code).")
    found = new.found_on or today
    fields_: dict[str, Any] = {}
    for name, value in (new.fields or {}).items():
        spec = FIELD_BY_NAME.get(name)
        if spec is None or not spec.editable:
            editable = "、".join(n for n, f in FIELD_BY_NAME.items() if f.editable)
            raise SchemaError(
                f"--field {name}=...: {name!r} is not a field staff enter; use one of {editable}."
            )
        fields_[name] = normalise_value(name, value)
    t_name, t_code = _split_name(new.township)
    v_name, v_code = _split_name(new.village)
    fields_.update(
        source=new.source,
        found_on=found,
        year=found.year,
        county_code=rules.county.code,
        county_name=rules.county.name,
        township_name=t_name,
        township_code=t_code or (v_code[:9] if v_code else ""),
        village_name=v_name,
        village_code=v_code,
    )
    geometry = None
    if has_point:
        fields_.update(lon=float(new.lon), lat=float(new.lat))  # type: ignore[arg-type]
    else:
        geometry = new.geometry
        label = str(fields_.get("source_ref") or new.source)
        if reference and any(f is not None for f in reference.values()):
            fields_.update(_overlay(geometry, reference, rules, label))
        else:
            from parcelwatch.crs import ellipsoidal_area_m2

            fields_["parcel_area_m2"] = float(
                ellipsoidal_area_m2(np.array([geometry], dtype=object), STORAGE_CRS)[0]
            )
        c = shapely.centroid(geometry)
        fields_.update(lon=round(float(c.x), 6), lat=round(float(c.y), 6))
    note = new.note or f"{new.source}发现" + (
        f"（{fields_['source_ref']}）" if fields_.get("source_ref") else ""
    )
    return Change(
        None,
        Status.UNVERIFIED,
        fields_,
        note=note,
        kind="create",
        geometry=geometry,
        source=new.source,
    )


def add_problem(
    store: Any,
    new: NewProblem,
    *,
    user: str,
    now: datetime,
    rules: Rules = DEFAULT_RULES,
    reference: Mapping[str, Any] | None = None,
) -> str:
    """Create the problem in ``store`` (one transaction); returns its id."""
    change = new_problem_change(new, rules=rules, today=now.date(), reference=reference)
    result = store.apply([change], user=user, now=now)
    pid = result.problem_ids[0]
    if pid is None:  # pragma: no cover - a create always writes
        raise LedgerError("The problem was not created.")
    return str(pid)
