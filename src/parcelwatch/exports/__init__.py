"""Exports for county review: vector layers and Excel forms from the ledger.

Library API (the CLI ``parcelwatch export`` and the README demo call these)::

    from parcelwatch.exports import export, export_all, select_problems, Filters

* :func:`select_problems` - the problems matching status / class / township / batch / overdue;
* :func:`export` - one format (gpkg, shp, geojson, kml, kmz, csv, xlsx) to one path;
* :func:`export_all` - every format into one folder; returns ``{format key: path}``.

Vector writers live in :mod:`parcelwatch.exports.layers`, the Excel forms in
:mod:`parcelwatch.exports.forms`, the shared field table in :mod:`parcelwatch.exports.fields`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from parcelwatch.errors import OutputError
from parcelwatch.exports.fields import EXPORT_FIELDS, ExportField, problem_table
from parcelwatch.exports.forms import (
    write_ledger_form,
    write_progress_form,
    write_ratio_form,
    write_self_check_form,
)
from parcelwatch.exports.layers import (
    ExportNotice,
    ProgressCallback,
    select_problems,
    write_csv,
    write_geojson,
    write_gpkg,
    write_kml,
    write_kmz,
    write_shapefile,
)
from parcelwatch.ledger.model import ProblemRecord, Status
from parcelwatch.ledger.stats import ledger_stats

__all__ = [
    "FORMATS",
    "ExportNotice",
    "Filters",
    "ExportField",
    "EXPORT_FIELDS",
    "problem_table",
    "select_problems",
    "export",
    "export_all",
    "write_gpkg",
    "write_shapefile",
    "write_geojson",
    "write_csv",
    "write_kml",
    "write_kmz",
    "write_ledger_form",
    "write_self_check_form",
    "write_progress_form",
    "write_ratio_form",
]

FORMATS = ("gpkg", "shp", "geojson", "kml", "kmz", "csv", "xlsx")


@dataclass(frozen=True)
class Filters:
    """Which problems to export (every filter given must match; empty = all)."""

    statuses: tuple[Status | str, ...] = ()
    classes: tuple[str, ...] = ()
    townships: tuple[str, ...] = ()
    batches: tuple[str, ...] = ()
    overdue: bool = False

    def apply(self, records: list[ProblemRecord], *, today: date) -> list[ProblemRecord]:
        """The records this filter selects (overdue as of ``today``)."""
        return select_problems(
            records,
            statuses=self.statuses,
            classes=self.classes,
            townships=self.townships,
            batches=self.batches,
            overdue_on=today if self.overdue else None,
        )


def _selected(ws: Any, today: date, filters: Filters | None) -> list[ProblemRecord]:
    records = ws.store.records()
    return (filters or Filters()).apply(records, today=today)


WARNING_FILE = "台账校验警告.txt"


def _tamper_file(ws: Any, folder: Path, stem: str = "") -> list[Path]:
    """When the ledger was changed outside parcelwatch (the fast ``ledger verify``), write the
    warning beside the exported files, so that the delivery itself carries it; else nothing."""
    from parcelwatch.ledger.verify import tamper_warning

    warning = tamper_warning(ws.store)
    if not warning:
        return []
    path = folder / (f"{stem}_{WARNING_FILE}" if stem else WARNING_FILE)
    try:
        path.write_text(warning + "\n", encoding="utf-8-sig")
    except OSError as exc:
        raise OutputError(f"Cannot write {path}: {exc}. Choose a writable folder.") from exc
    return [path]


def export(
    ws: Any,
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
    written = _export_format(
        ws,
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
    return written + _tamper_file(ws, folder, stem)


def _export_format(
    ws: Any,
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
    records = _selected(ws, today, filters)
    drawn = _drawn(records)
    county = ws.rules.county.name
    if fmt == "gpkg":
        snap = ws.store.snapshot()
        return [
            write_gpkg(drawn, path, today=today, events=ws.store.events(), findings=snap.findings)
        ]
    if fmt == "shp":
        shp = write_shapefile(
            drawn,
            path,
            today=today,
            encoding=encoding,
            projected=projected,
            gk_zone=ws.rules.county.gk_zone,
            notices=notices,
        )
        return [shp.with_suffix(e) for e in (".shp", ".shx", ".dbf", ".prj", ".cpg")] + [
            shp.with_name(f"{shp.stem}_字段说明.txt")
        ]
    if fmt == "geojson":
        return [write_geojson(drawn, path, today=today, epsg=epsg)]
    if fmt == "csv":
        return [write_csv(records, path, today=today)]
    if fmt == "kml":
        return [
            write_kml(
                drawn,
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
                drawn,
                path,
                today=today,
                folders=kml_folders,
                name=f"{county}问题图斑",
                notices=notices,
                progress=progress,
            )
        ]
    return list(_write_forms(ws, records, path, today=today).values())


def _drawn(records: list[ProblemRecord]) -> list[ProblemRecord]:
    """The problems with a polygon, for the polygon layers (gpkg, shp, geojson, kml, kmz).

    A problem entered as a point (``ledger add --lon/--lat``, SEED-SYSTEMS 0.P1) has no polygon; it
    stays in the CSV and the Excel forms (with its 经度/纬度 in the 问题台账)."""
    return [r for r in records if r.geometry is not None]


def _write_forms(
    ws: Any, records: list[ProblemRecord], folder: Path, *, today: date
) -> dict[str, Path]:
    from parcelwatch.acceptance.greenhouses import greenhouse_counts
    from parcelwatch.acceptance.records import read_if_present

    county = ws.rules.county.name
    findings = ws.store.snapshot().findings
    stats = ledger_stats(records, rules=ws.rules, today=today)
    registry = read_if_present(ws.store, "greenhouse_registry")  # 项目总棚数 (0.P8)
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
            records, folder / "违法占用耕地面积比例.xlsx", today=today, rules=ws.rules, stats=stats
        ),
    }


def export_all(
    ws: Any,
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
    ``kml``, ``kmz``, ``xlsx_ledger``, ``xlsx_self_check``, ``xlsx_progress``, ``xlsx_ratio``, and
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
    records = _selected(ws, today, filters)
    drawn = _drawn(records)
    county = ws.rules.county.name
    snap = ws.store.snapshot()
    name = "问题图斑"
    stage("shp")
    shp = write_shapefile(
        drawn,
        out / f"{name}.shp",
        today=today,
        gk_zone=ws.rules.county.gk_zone,
        notices=notices,
    )
    paths: dict[str, Path] = {"shp": shp, "shp_legend": shp.with_name(f"{name}_字段说明.txt")}
    stage("gpkg")
    paths["gpkg"] = write_gpkg(
        drawn,
        out / f"{name}.gpkg",
        today=today,
        events=ws.store.events(),
        findings=snap.findings,
    )
    stage("geojson")
    paths["geojson"] = write_geojson(drawn, out / f"{name}.geojson", today=today)
    stage("csv")
    paths["csv"] = write_csv(records, out / f"{name}.csv", today=today)
    stage("kml")
    paths["kml"] = write_kml(
        drawn,
        out / f"{name}.kml",
        today=today,
        name=f"{county}{name}",
        notices=notices,
        progress=progress,
    )
    stage("kmz")
    paths["kmz"] = write_kmz(
        drawn, out / f"{name}.kmz", today=today, name=f"{county}{name}", progress=progress
    )
    stage("xlsx")
    paths.update(_write_forms(ws, records, out, today=today))
    for warning in _tamper_file(ws, out):
        paths["warning"] = warning
    return paths
