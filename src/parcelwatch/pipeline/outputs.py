"""Outputs of a workspace: the battle map and the exports.

Each job reads the ledger once (:func:`read_ledger`: records, events, findings, rules, the fast
tamper check) and then calls the pure builders and writers of :mod:`parcelwatch.maps` and
:mod:`parcelwatch.exports`, which know nothing of workspaces.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from parcelwatch.atomic import write_text_atomic
from parcelwatch.config import Rules
from parcelwatch.errors import OutputError
from parcelwatch.exports import FORMATS, WARNING_FILE, Filters
from parcelwatch.exports.forms import (
    write_ledger_form,
    write_progress_form,
    write_ratio_form,
    write_self_check_form,
)
from parcelwatch.exports.layers import (
    POINT_LAYER,
    ExportNotice,
    ProgressCallback,
    write_csv,
    write_geojson,
    write_gpkg,
    write_kml,
    write_kmz,
    write_shapefile,
)
from parcelwatch.ledger.model import Event, ProblemRecord
from parcelwatch.ledger.stats import ledger_stats
from parcelwatch.ledger.workspace import Workspace, opened
from parcelwatch.maps.battle_map import Basemap
from parcelwatch.maps.view import problems_view, write_map_pages

__all__ = ["LedgerData", "read_ledger", "write_map", "export", "export_all"]


@dataclass(frozen=True)
class LedgerData:
    """What the outputs need from a workspace, read once."""

    rules: Rules
    records: Sequence[ProblemRecord]
    events: Sequence[Event]
    findings: pd.DataFrame
    warning: str  # the fast tamper check's warning, "" when the ledger is intact
    greenhouse_registry: Any  # 项目总棚数 registry (0.P8), None when not imported


def read_ledger(ws: Workspace | str | Path) -> LedgerData:
    """Read the records, events, findings and tamper warning of a workspace's ledger."""
    from parcelwatch.acceptance.records import read_if_present
    from parcelwatch.ledger.verify import tamper_warning

    with opened(ws) as w:
        records_store: Any = w.store  # both stores keep the record books (typed SqlStore there)
        warning = tamper_warning(w.store)
        snap = w.store.snapshot()
        return LedgerData(
            rules=w.rules,
            records=w.store.records(),
            events=list(w.store.events()),
            findings=snap.findings,
            warning=warning or "",
            greenhouse_registry=read_if_present(records_store, "greenhouse_registry"),
        )


def write_map(
    ws: Workspace | str | Path,
    out: str | Path,
    *,
    today: date,
    now: datetime,
    townships: Sequence[str] = (),
    basemap: Basemap | None = None,
    context: Mapping[str, gpd.GeoDataFrame] | None = None,
    split_by_township: bool = False,
    split_threshold: int = 20_000,
    chips: Mapping[str, tuple[str, str]] | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> list[Path]:
    """Write the battle map of a workspace; returns the files written (index first when split).

    Above ``split_threshold`` problems the map is split by township even when not asked, so that
    each page stays light enough for an intranet PC. ``chips`` (problem id -> before/after data
    URIs) are shown in the popups; without it the chips stored in ``WS/imagery/chips/`` are used.
    ``on_stage(name)`` is called as each stage starts (the CLI renders it).
    """
    from parcelwatch.imagery.chips import chip_data_uris
    from parcelwatch.ledger.verify import tamper_warning

    stage = on_stage or (lambda _name: None)
    stage("读取台账")
    with opened(ws) as w:
        warning = tamper_warning(w.store)  # a ledger changed outside parcelwatch: said on the page
        records = w.store.records()
        events: dict[str, list[Any]] = {}
        for e in w.store.events():
            events.setdefault(e.problem_id, []).append(e)
        county = w.rules.county.name
        farmland_codes = tuple(w.rules.farmland.codes)
        if chips is None:
            chips = chip_data_uris(w.path, [r.problem_id for r in records])
    stage("生成地图")
    view = problems_view(records, events, today=today, chips=chips)
    return write_map_pages(
        view,
        out,
        county_name=county,
        farmland_codes=farmland_codes,
        today=today,
        now=now,
        warning=warning,
        townships=townships,
        basemap=basemap,
        context=context,
        split_by_township=split_by_township,
        split_threshold=split_threshold,
    )


# ------------------------------------------------------------------------------------------
# Exports


def _selected(data: LedgerData, today: date, filters: Filters | None) -> list[ProblemRecord]:
    return (filters or Filters()).apply(list(data.records), today=today)


def _tamper_file(data: LedgerData, folder: Path, stem: str = "") -> list[Path]:
    """When the ledger was changed outside parcelwatch (the fast ``ledger verify``), write the
    warning beside the exported files, so that the delivery itself carries it; else nothing."""
    if not data.warning:
        return []
    path = folder / (f"{stem}_{WARNING_FILE}" if stem else WARNING_FILE)
    try:
        write_text_atomic(path, data.warning + "\n", encoding="utf-8-sig")
    except OSError as exc:
        raise OutputError(f"Cannot write {path}: {exc}. Choose a writable folder.") from exc
    return [path]


def export(
    ws: Workspace | str | Path,
    fmt: str,
    path: str | Path,
    *,
    today: date,
    filters: Filters | None = None,
    encoding: str = "GBK",
    projected: bool = False,
    epsg: int = 4490,
    kml_folders: str = "status",
    notices: list[ExportNotice] | None = None,
    progress: ProgressCallback | None = None,
) -> list[Path]:
    """Write the workspace's (filtered) problems in one format; returns the files written.

    A ledger changed outside parcelwatch adds ``<name>_台账校验警告.txt`` beside the output (and to
    the files returned).
    """
    data = read_ledger(ws)
    written = _export_format(
        data,
        fmt,
        path,
        today=today,
        filters=filters,
        encoding=encoding,
        projected=projected,
        epsg=epsg,
        kml_folders=kml_folders,
        notices=notices,
        progress=progress,
    )
    path = Path(path)
    folder, stem = (path, "") if fmt.lower() == "xlsx" else (path.parent, path.stem)
    return written + _tamper_file(data, folder, stem)


def _export_format(
    data: LedgerData,
    fmt: str,
    path: str | Path,
    *,
    today: date,
    filters: Filters | None,
    encoding: str,
    projected: bool,
    epsg: int,
    kml_folders: str,
    notices: list[ExportNotice] | None,
    progress: ProgressCallback | None,
) -> list[Path]:
    """One format (see :func:`export`).

    ``xlsx`` writes the four forms into the folder ``path`` (问题台账, 县级自验表, 乡镇整改进度,
    违法占用耕地面积比例); every other format writes the file ``path`` (a shapefile also writes
    its sidecars and the field legend). What a format could not carry exactly (characters
    outside GBK, cut texts, control characters in KML) is appended to ``notices``;
    ``progress(done, total)`` follows the KML/KMZ placemarks.
    """
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise OutputError(f"Unknown export format {fmt!r}. Use one of: {', '.join(FORMATS)}.")
    path = Path(path)
    records = _selected(data, today, filters)
    drawn = _drawn(records)
    points = _points(records)
    county = data.rules.county.name
    if fmt == "gpkg":
        _point_notices(points, "GeoPackage", f"{path.name} layer {POINT_LAYER}", notices)
        return [
            write_gpkg(
                drawn + points,
                path,
                today=today,
                events=list(data.events),
                findings=data.findings,
            )
        ]
    if fmt == "shp":
        written: list[Path] = []
        parts = [(drawn, path)] + ([(points, _point_path(path, ".shp"))] if points else [])
        for part, target in parts:
            shp = write_shapefile(
                part,
                target,
                today=today,
                encoding=encoding,
                projected=projected,
                gk_zone=data.rules.county.gk_zone,
                notices=notices,
            )
            written += [shp.with_suffix(e) for e in (".shp", ".shx", ".dbf", ".prj", ".cpg")]
            written.append(shp.with_name(f"{shp.stem}_字段说明.txt"))
        _point_notices(points, "shapefile", _point_path(path, ".shp").name, notices)
        return written
    if fmt == "geojson":
        out = [write_geojson(drawn, path, today=today, epsg=epsg)]
        if points:
            out.append(write_geojson(points, _point_path(path), today=today, epsg=epsg))
            _point_notices(points, "GeoJSON", out[-1].name, notices)
        return out
    if fmt == "csv":
        return [write_csv(records, path, today=today)]
    if fmt == "kml":
        return [
            write_kml(
                drawn + points,
                path,
                today=today,
                folders=kml_folders,
                name=f"{county}问题图斑",
                notices=notices,
                progress=progress,
            )
        ]
    if fmt == "kmz":
        return [
            write_kmz(
                drawn + points,
                path,
                today=today,
                folders=kml_folders,
                name=f"{county}问题图斑",
                notices=notices,
                progress=progress,
            )
        ]
    return list(_write_forms(data, records, path, today=today).values())


def _drawn(records: list[ProblemRecord]) -> list[ProblemRecord]:
    """The problems with a polygon, for the polygon layers (gpkg, shp, geojson, kml, kmz)."""
    return [r for r in records if r.geometry is not None]


def _points(records: list[ProblemRecord]) -> list[ProblemRecord]:
    """The problems entered as a point (``ledger add --lon/--lat``, SEED-SYSTEMS 0.P1: 经度/纬度 and
    no polygon). They are never dropped from a vector export: the GeoPackage has them in its layer
    ``problem_points``, the shapefile and the GeoJSON in a point file beside the polygon one
    (``<name>_点位.shp`` / ``.geojson``: one geometry type per file), the KML/KMZ as pins among the
    polygons; each one gets an :class:`ExportNotice` saying where it went. The CSV and the Excel
    forms have every problem (with 经度/纬度)."""
    return [r for r in records if r.geometry is None and r.lon is not None and r.lat is not None]


def _point_path(path: Path, suffix: str | None = None) -> Path:
    return path.with_name(f"{path.stem}_点位{suffix or path.suffix}")


def _point_notices(
    points: list[ProblemRecord], fmt: str, where: str, notices: list[ExportNotice] | None
) -> None:
    if notices is None:
        return
    for r in points:
        notices.append(
            ExportNotice(
                fmt,
                r.problem_id,
                "几何",
                f"point problem (经度/纬度, no polygon): written to {where}, not to the polygon layer",
                kind="placement",
            )
        )


def _write_forms(
    data: LedgerData, records: list[ProblemRecord], folder: Path, *, today: date
) -> dict[str, Path]:
    from parcelwatch.acceptance.greenhouses import greenhouse_counts

    county = data.rules.county.name
    findings = data.findings
    stats = ledger_stats(records, rules=data.rules, today=today)
    registry = data.greenhouse_registry  # 项目总棚数 (0.P8)
    return {
        "xlsx_ledger": write_ledger_form(
            records, folder / "问题台账.xlsx", today=today, county_name=county
        ),
        "xlsx_self_check": write_self_check_form(
            records,
            folder / "大棚房问题县级自验表.xlsx",
            today=today,
            findings=findings,
            county_name=county,
            greenhouse_counts=greenhouse_counts(records, registry) if registry else None,
        ),
        "xlsx_progress": write_progress_form(
            records, folder / "乡镇整改进度.xlsx", today=today, county_name=county
        ),
        "xlsx_ratio": write_ratio_form(
            records,
            folder / "违法占用耕地面积比例.xlsx",
            today=today,
            rules=data.rules,
            stats=stats,
        ),
    }


def export_all(
    ws: Workspace | str | Path,
    out_dir: str | Path,
    *,
    today: date,
    filters: Filters | None = None,
    on_stage: Callable[[str], None] | None = None,
    notices: list[ExportNotice] | None = None,
    progress: ProgressCallback | None = None,
) -> dict[str, Path]:
    """Write every format into ``out_dir``; returns ``{key: path}``.

    Keys: ``gpkg`` (问题图斑.gpkg: problems, findings, events), ``shp`` (问题图斑.shp, GBK, EPSG:4490,
    with ``问题图斑_字段说明.txt``), ``shp_legend``, ``geojson`` (EPSG:4490), ``csv`` (UTF-8 BOM),
    ``kml``, ``kmz`` (point problems as pins), ``shp_points`` and ``geojson_points`` (问题图斑_点位.*,
    only when a problem was entered as a point; the GeoPackage has them in ``problem_points``),
    ``xlsx_ledger``, ``xlsx_self_check``, ``xlsx_progress``, ``xlsx_ratio``, and
    ``warning`` (台账校验警告.txt) when the ledger was changed outside parcelwatch.
    ``ws`` is an open :class:`~parcelwatch.ledger.workspace.Workspace`; ``filters`` selects the
    problems (all by default; the 违法占用耕地面积比例 uses the selected problems too).
    ``on_stage(name)`` is called before each file is written (the CLI renders it).
    ``notices`` and ``progress``: see :func:`export` (progress runs once for the KML, once for
    the KMZ).
    """
    stage = on_stage or (lambda _name: None)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"Cannot create the export folder {out}: {exc}. Choose another folder."
        ) from exc
    stage("读取台账")
    data = read_ledger(ws)
    records = _selected(data, today, filters)
    drawn = _drawn(records)
    points = _points(records)
    county = data.rules.county.name
    name = "问题图斑"
    stage("shp")
    shp = write_shapefile(
        drawn,
        out / f"{name}.shp",
        today=today,
        gk_zone=data.rules.county.gk_zone,
        notices=notices,
    )
    paths: dict[str, Path] = {"shp": shp, "shp_legend": shp.with_name(f"{name}_字段说明.txt")}
    if points:  # problems entered as a point: their own files / layer, with a notice each
        paths["shp_points"] = write_shapefile(
            points,
            out / f"{name}_点位.shp",
            today=today,
            gk_zone=data.rules.county.gk_zone,
            notices=notices,
        )
        _point_notices(points, "shapefile", paths["shp_points"].name, notices)
        _point_notices(points, "GeoPackage", f"{name}.gpkg layer {POINT_LAYER}", notices)
        _point_notices(points, "GeoJSON", f"{name}_点位.geojson", notices)
    stage("gpkg")
    paths["gpkg"] = write_gpkg(
        drawn + points,
        out / f"{name}.gpkg",
        today=today,
        events=list(data.events),
        findings=data.findings,
    )
    stage("geojson")
    paths["geojson"] = write_geojson(drawn, out / f"{name}.geojson", today=today)
    if points:
        paths["geojson_points"] = write_geojson(points, out / f"{name}_点位.geojson", today=today)
    stage("csv")
    paths["csv"] = write_csv(records, out / f"{name}.csv", today=today)
    stage("kml")
    paths["kml"] = write_kml(
        drawn + points,
        out / f"{name}.kml",
        today=today,
        name=f"{county}{name}",
        notices=notices,
        progress=progress,
    )
    stage("kmz")
    paths["kmz"] = write_kmz(
        drawn + points, out / f"{name}.kmz", today=today, name=f"{county}{name}", progress=progress
    )
    stage("xlsx")
    paths.update(_write_forms(data, records, out, today=today))
    for warning in _tamper_file(data, out):
        paths["warning"] = warning
    return paths
