"""From the ledger to the battle map: the problem view, context layers, basemaps, files.

``problems_view`` is pure (records, events and a date in, a GeoDataFrame out);
``write_map_pages`` writes the page(s) of a view. Reading the workspace is
:func:`parcelwatch.pipeline.write_map`'s job.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from parcelwatch.atomic import write_text_atomic
from parcelwatch.errors import InputError, OutputError
from parcelwatch.ledger.figures import mu_value
from parcelwatch.maps.battle_map import Basemap, build_map

__all__ = ["problems_view", "parse_basemap", "geotiff_basemap", "write_map_pages"]


def _event_text(e: Any) -> str:
    at = str(e.at)[:10]
    frm = e.from_status.value if e.from_status is not None else ""
    arrow = f"{frm}→{e.to_status.value}" if frm and frm != e.to_status.value else e.to_status.value
    extra = "，".join(x for x in (e.measure, e.note) if x)
    return f"{at} {e.user} {arrow}" + (f"（{extra}）" if extra else "")


def problems_view(
    records: Sequence[Any],
    events: Mapping[str, Sequence[Any]],
    *,
    today: date,
    recent: int = 3,
    chips: Mapping[str, tuple[str, str]] | None = None,
) -> gpd.GeoDataFrame:
    """One row per problem with the columns the map shows (see ``battle_map.MAP_COLUMNS``).

    ``chips`` maps problem ids to (before, after) image data URIs shown in the popup.
    """
    from parcelwatch.ledger.model import effective_deadline, is_overdue

    rows = []
    for r in records:
        due = effective_deadline(r)
        overdue = is_overdue(r, today)
        evs = list(events.get(r.problem_id, ()))[-recent:]
        rows.append(
            {
                "problem_id": r.problem_id,
                "parcel_ids": ",".join(r.parcel_ids),
                "batch": ",".join(r.batches),
                "township_name": r.township_name or "",
                "village_name": r.village_name or "",
                "status": r.status.value,
                "candidate_class": r.candidate_class or "none",
                "confirmed_class": r.confirmed_class or None,
                "reasons": r.candidate_reasons,
                "parcel_area_mu": mu_value(r.parcel_area_m2),
                "farmland_mu": mu_value(r.farmland_m2),
                "pbf_mu": mu_value(r.pbf_m2),
                "measure": r.measure,
                "deadline": due,
                "overdue": overdue,
                "days_overdue": (today - due).days if overdue and due is not None else 0,
                "responsible_unit": r.responsible_unit,
                "responsible_person": r.responsible_person,
                "recent_events": [_event_text(e) for e in reversed(evs)],
                "chip_before": (chips or {}).get(r.problem_id, (None, None))[0],
                "chip_after": (chips or {}).get(r.problem_id, (None, None))[1],
                # inputs of the precomputed figures (parcelwatch.ledger.figures); not embedded
                "judgement": r.judgement,
                "year": r.year,
                "parcel_area_m2": r.parcel_area_m2,
                "illegal_m2": r.illegal_occupied_m2,
                "remaining_m2": r.remaining_unrectified_m2,
                "source": r.source or "卫片",
                # a problem entered as a point (``ledger add --lon/--lat``) is drawn as a marker
                "geometry": r.geometry
                if r.geometry is not None or r.lon is None or r.lat is None
                else shapely.Point(float(r.lon), float(r.lat)),
            }
        )
    if not rows:
        return gpd.GeoDataFrame(
            {"problem_id": [], "status": []}, geometry=gpd.GeoSeries([], crs=4490)
        )
    return gpd.GeoDataFrame(rows, crs=4490)


def geotiff_basemap(
    path: str | Path, *, max_px: int = 2048, bands: tuple[int, int, int] | None = None
) -> Basemap:
    """A local GeoTIFF rendered into the page as an image overlay (Web Mercator, 2-98 % stretch)."""
    import rasterio
    from rasterio.errors import RasterioError
    from rasterio.io import MemoryFile
    from rasterio.warp import Resampling, calculate_default_transform, reproject, transform_bounds

    path = Path(path)
    try:
        src = rasterio.open(path)
    except (RasterioError, OSError) as exc:  # RasterioIOError is both
        raise InputError(
            f"Cannot open {path} as a GeoTIFF: {exc}. Give a GeoTIFF (COG or plain) for --basemap image:FILE."
        ) from exc
    with src:
        if src.crs is None:
            raise InputError(f"{path} has no CRS; the basemap image must be georeferenced.")
        b = bands or ((3, 2, 1) if src.count >= 3 else (1, 1, 1))
        dst_crs = "EPSG:3857"
        transform, width, height = calculate_default_transform(
            src.crs, dst_crs, src.width, src.height, *src.bounds
        )
        scale = max(width, height) / max_px
        if scale > 1:
            width, height = int(width / scale), int(height / scale)
            transform = transform @ transform.scale(scale, scale)
        out = np.zeros((3, height, width), dtype=np.float32)
        for i, band in enumerate(b):
            reproject(
                rasterio.band(src, band),
                out[i],
                src_transform=src.transform,
                src_crs=src.crs,
                dst_transform=transform,
                dst_crs=dst_crs,
                resampling=Resampling.average,
                src_nodata=src.nodata,
                dst_nodata=0,
            )
        left, top = transform.c, transform.f
        right, bottom = transform.c + transform.a * width, transform.f + transform.e * height
        lon0, lat0, lon1, lat1 = transform_bounds(dst_crs, "EPSG:4326", left, bottom, right, top)
    valid = out.sum(axis=0) > 0
    rgba = np.zeros((4, height, width), dtype=np.uint8)
    for i in range(3):
        v = out[i][valid]
        lo, hi = np.percentile(v, [2, 98]) if v.size else (0, 1)
        rgba[i] = np.clip((out[i] - lo) / max(hi - lo, 1e-9) * 255, 0, 255).astype(np.uint8)
    rgba[3] = np.where(valid, 255, 0)
    import warnings

    from rasterio.errors import NotGeoreferencedWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)  # a plain PNG for the page
        with (
            MemoryFile() as mem,
            mem.open(driver="PNG", width=width, height=height, count=4, dtype="uint8") as png,
        ):
            png.write(rgba)
            png.close()
            data = mem.read()
    return Basemap(
        "image",
        image_data_uri="data:image/png;base64," + base64.b64encode(data).decode("ascii"),
        image_bounds=(lon0, lat0, lon1, lat1),
    )


def parse_basemap(
    spec: str, *, tianditu_key: str = "", tianditu_key_at_view: bool = False
) -> Basemap:
    """``none`` | ``tianditu`` | ``xyz:URL`` | ``image:GEOTIFF`` | ``amap``.

    A 天地图 ``tianditu_key`` is written into the page in clear; with ``tianditu_key_at_view``
    the page asks for the key when opened and keeps it in the browser (never in the file).
    """
    if spec in ("", "none"):
        return Basemap()
    if spec == "tianditu":
        return Basemap(
            "tianditu",
            key="" if tianditu_key_at_view else tianditu_key,
            key_at_view=tianditu_key_at_view,
        )
    if spec == "amap":
        return Basemap("amap")
    if spec.startswith("xyz:"):
        url = spec[4:]
        if not all(k in url for k in ("{x}", "{y}", "{z}")):
            raise InputError(
                f"--basemap xyz:URL needs a tile template with {{x}}, {{y}} and {{z}}, got {url!r}."
            )
        return Basemap("xyz", url=url)
    if spec.startswith("image:"):
        return geotiff_basemap(spec[6:])
    raise InputError(
        f"Unknown basemap {spec!r}: use none, tianditu, xyz:URL, image:GEOTIFF or amap."
    )


def _slug(name: str) -> str:
    """A file-name part for a township: no path, reserved or control characters."""
    return re.sub(r"[\\\\/:*?\"<>|\s\x00-\x1f\x7f]+", "_", name) or "未知乡镇"


def _unique_hrefs(stem: str, names: Sequence[str]) -> list[str]:
    """One page name per township; names that slug alike ("a b", "a_b") get _2, _3 ..."""
    used: set[str] = set()
    out = []
    for n in names:
        base, k = f"{stem}_{_slug(n)}", 1
        name = f"{base}.html"
        while name.lower() in used:  # case-insensitive file systems (Windows) too
            k += 1
            name = f"{base}_{k}.html"
        used.add(name.lower())
        out.append(name)
    return out


def write_map_pages(
    view: gpd.GeoDataFrame,
    out: str | Path,
    *,
    county_name: str,
    farmland_codes: Sequence[str],
    today: date,
    now: datetime,
    warning: str = "",
    townships: Sequence[str] = (),
    basemap: Basemap | None = None,
    context: Mapping[str, gpd.GeoDataFrame] | None = None,
    split_by_township: bool = False,
    split_threshold: int = 20_000,
) -> list[Path]:
    """Write the battle map of a problem view (:func:`problems_view`); returns the files written
    (index first when split).

    Above ``split_threshold`` problems the map is split by township even when not asked, so that
    each page stays light enough for an intranet PC. ``warning`` (a tampered ledger) is shown as a
    red banner. Each page is written atomically.
    """
    out = Path(out)
    if townships:
        known = set(view["township_name"])
        unknown = [t for t in townships if t not in known]
        if unknown:
            raise InputError(
                f"No problems in township(s) {', '.join(unknown)}. Townships in the ledger: {', '.join(sorted(known))}."
            )
        view = view[view["township_name"].isin(list(townships))]
    batches = sorted({b for bs in view.get("batch", []) for b in str(bs).split(",") if b})
    common: dict[str, Any] = {
        "county_name": county_name,
        "data_date": today.isoformat() + (f"（{batches[-1]}）" if batches else ""),
        "generated_at": now,
        "basemap": basemap,
        "context": context,
        "farmland_codes": tuple(farmland_codes),
        "warning": warning,
    }
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if not (split_by_township or len(view) > split_threshold):
            write_text_atomic(out, build_map(view, **common))
            return [out]
        written: list[Path] = []
        names = sorted(view["township_name"].fillna("").unique())
        links = list(
            zip([n or "未知乡镇" for n in names], _unique_hrefs(out.stem, names), strict=True)
        )
        for n, (_label, href) in zip(names, links, strict=True):
            part = view[view["township_name"].fillna("") == n]
            path = out.parent / href
            write_text_atomic(
                path,
                build_map(
                    part,
                    title=f"{n}问题图斑挂图作战图",
                    **common,
                    links=[("返回全县索引", out.name)],
                ),
            )
            written.append(path)
        index = build_map(
            view.iloc[:0] if len(view) > split_threshold else view,
            title="问题图斑挂图作战图（分乡镇索引）",
            **common,
            links=links,
        )
        write_text_atomic(out, index)
        return [out, *written]
    except OSError as exc:
        raise OutputError(
            f"Cannot write the map to {out}: {exc}. Choose a writable folder with -o."
        ) from exc
