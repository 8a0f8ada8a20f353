"""Read any vector layer GDAL reads into a validated GeoDataFrame with canonical columns.

``load_layer`` is the only place a layer file is opened. It decides the text encoding before
reading, takes the CRS from the file (refusing a missing one unless the caller names it, and a
declared one the coordinates contradict), maps delivered field names to canonical ones through
the alias table, and validates everything it can, collecting every problem before raising once.
Invalid geometries are repaired with ``make_valid`` and counted, never dropped.
"""

from __future__ import annotations

import logging
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import pyproj.exceptions
import shapely
from pyproj import CRS

from parcelwatch import crs as crsmod
from parcelwatch.config import DEFAULT_RULES, Rules
from parcelwatch.errors import (
    CRSError,
    DataQualityWarning,
    EncodingError,
    GeometryError,
    InputError,
    SchemaError,
    format_problems,
)
from parcelwatch.io.encoding import (
    EncodingDecision,
    detect_shapefile_encoding,
    mixed_encoding_records,
    normalise_codec,
)
from parcelwatch.io.schema import (
    APPROXIMATE_DLMC,
    DLMC_TO_DLBM,
    ERDIAO_TO_SANDIAO,
    ROLES,
    Role,
    detect_role,
    match_fields,
)
from parcelwatch.units import M2_PER_MU

__all__ = [
    "GDAL_READ_ERRORS",
    "LayerReport",
    "LayerSource",
    "LoadedLayer",
    "load_layer",
    "read_layer",
    "inspect_path",
    "list_layers",
]

log = logging.getLogger(__name__)

#: what pyogrio raises on a file GDAL cannot read: no such data source or driver
#: (DataSourceError), a broken layer, field, feature, geometry or CRS (DataLayerError and its
#: subclasses), or the file system (OSError); anything else is a bug and is reported as one
GDAL_READ_ERRORS: tuple[type[BaseException], ...] = (
    pyogrio.errors.DataSourceError,
    pyogrio.errors.DataLayerError,
    OSError,
)

_VECTOR_SUFFIXES = {
    ".shp",
    ".gpkg",
    ".geojson",
    ".json",
    ".kml",
    ".kmz",
    ".zip",
    ".gdb",
    ".gml",
    ".tab",
    ".mif",
    ".sqlite",
    ".fgb",
    ".csv",
}
_SINGLE_LAYER = {".shp", ".dbf", ".geojson", ".json", ".fgb", ".csv", ".tab", ".mif"}
_DRIVERS = {
    ".shp": "ESRI Shapefile",
    ".dbf": "ESRI Shapefile",
    ".zip": "ESRI Shapefile",
    ".gpkg": "GPKG",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".gdb": "OpenFileGDB",
    ".fgb": "FlatGeobuf",
    ".kml": "KML",
    ".kmz": "LIBKML",
    ".sqlite": "SQLite",
    ".gml": "GML",
    ".csv": "CSV",
}
_GCJ_HINTS = re.compile(r"高德|amap|gaode|autonavi|gcj|腾讯|tencent|火星", re.IGNORECASE)


@dataclass
class LayerReport:
    """What was found while reading one layer; ``parcelwatch inspect`` prints it."""

    path: str
    layer: str
    role: str | None = None
    driver: str = ""
    encoding: EncodingDecision | None = None
    crs: str = ""
    crs_source: str = ""
    feature_count: int = 0
    geometry_type: str = ""
    field_map: dict[str, str] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    repaired: int = 0
    error_kind: type[Exception] = SchemaError

    @property
    def where(self) -> str:
        return f"{self.path}" + (f" (layer {self.layer})" if self.layer else "")

    def to_text(self) -> str:
        role = ROLES[self.role] if self.role else None
        lines = [
            f"{self.where}",
            f"  driver:    {self.driver}",
            f"  encoding:  {self.encoding.describe() if self.encoding else '-'}",
            f"  CRS:       {self.crs or '-'}"
            + (f" ({self.crs_source})" if self.crs_source else ""),
            f"  features:  {self.feature_count} {self.geometry_type}",
            f"  role:      {f'{self.role} ({role.label_zh})' if role else 'not recognised'}",
        ]
        if self.field_map:
            lines.append("  fields:")
            for canon, src in self.field_map.items():
                lines.append(f"    {canon:<15} <- {src}")
        if self.unmapped:
            lines.append(f"  other fields: {', '.join(self.unmapped)}")
        for n in self.notes:
            lines.append(f"  note: {n}")
        for w in self.warnings:
            lines.append(f"  WARNING: {w}")
        for e in self.errors:
            lines.append(f"  ERROR: {e}")
        if not self.errors and not self.warnings:
            lines.append("  no problems found")
        return "\n".join(lines)


@dataclass
class LoadedLayer:
    frame: gpd.GeoDataFrame
    report: LayerReport


def _open_target(path: Path) -> str:
    """The string GDAL should open (zip archives through /vsizip/)."""
    if path.suffix.lower() == ".zip":
        return f"/vsizip/{path}"
    return str(path)


def _is_shapefile(path: Path) -> bool:
    suffix = path.suffix.lower()
    if suffix in {".shp", ".dbf"}:
        return True
    if suffix == ".zip":
        try:
            with zipfile.ZipFile(path) as zf:
                return any(n.lower().endswith(".shp") for n in zf.namelist())
        except zipfile.BadZipFile as exc:
            raise InputError(
                f"{path}: not a readable zip archive ({exc}). Re-create the zip."
            ) from exc
    return False


def list_layers(path: str | Path) -> list[tuple[str, str]]:
    """Layer names and geometry types in a data source."""
    path = _check_path(Path(path))
    try:
        return [(str(n), str(t)) for n, t in pyogrio.list_layers(_open_target(path))]
    except GDAL_READ_ERRORS as exc:
        raise InputError(
            f"Cannot open {path}: {exc}. Check that it is a complete vector file GDAL can read "
            "(for a shapefile, keep .shp, .shx, .dbf and .prj together)."
        ) from exc


def _check_path(path: Path) -> Path:
    if not path.exists():
        raise InputError(f"File not found: {path}. Check the path and the file name.")
    if path.is_dir() and path.suffix.lower() != ".gdb":
        found = sorted(p.name for p in path.iterdir() if p.suffix.lower() in _VECTOR_SUFFIXES)
        raise InputError(
            f"{path} is a folder, not a layer file. Name one of the files in it"
            + (f": {', '.join(found[:10])}." if found else " (it holds no vector files).")
        )
    return path


def _pick_layer(
    path: Path, layers: list[tuple[str, str]], layer: str | None, role: str | None
) -> str:
    names = [n for n, _ in layers]
    if layer is not None:
        if layer not in names:
            raise InputError(f"{path} has no layer {layer!r}. Its layers: {', '.join(names)}.")
        return layer
    if len(names) == 1:
        return names[0]
    if not names:
        raise InputError(f"{path} holds no layers. Export the data again.")
    if role is not None:
        hits = [n for n in names if detect_role(n, []) == role]
        if len(hits) == 1:
            return hits[0]
    raise InputError(
        f"{path} holds {len(names)} layers ({', '.join(names)}); say which one with --layer NAME."
    )


def load_layer(
    path: str | Path,
    *,
    role: str | None = None,
    layer: str | None = None,
    crs: Any = None,
    encoding: str | None = None,
    rules: Rules = DEFAULT_RULES,
    gcj02: bool = False,
    allow_empty: bool = False,
    strict: bool = True,
    warn: bool = True,
) -> LoadedLayer:
    """Read, map and validate one layer.

    ``role`` is one of :data:`parcelwatch.io.schema.ROLES` (``parcels``, ``farmland``, ``pbf``,
    ``greenhouses``, ``buildings``, ``approvals``, ``parks``, ``townships``, ``villages``); when
    omitted it is recognised from the layer name and fields. ``crs`` is used only when the file
    has none (or to override a wrong one, with a warning). ``gcj02=True`` removes the 高德 GCJ-02
    offset. With ``strict=False`` problems are collected in the report instead of raised.

    Data-quality notices are always returned as data (``report.warnings``). ``warn=True`` also
    emits them as :class:`DataQualityWarning` for interactive use; code that loads layers on
    threads passes ``warn=False`` and reads the report (warning filters are process-global, so
    warnings raised on worker threads can be swallowed by another thread's filter).
    """
    path = _check_path(Path(path))
    if layer is None and path.suffix.lower() in _SINGLE_LAYER:
        layers, name = [], None  # one layer by format; listing would parse a GeoJSON twice
    else:
        layers = list_layers(path)
        name = _pick_layer(path, layers, layer, role)
    report = LayerReport(path=str(path), layer=(name or "") if len(layers) > 1 or layer else "")

    # 1. encoding, decided before reading
    if encoding is not None:
        report.encoding = EncodingDecision(
            normalise_codec(encoding), "user", "given on the command line"
        )
    elif _is_shapefile(path):
        report.encoding = detect_shapefile_encoding(path)
    else:
        report.encoding = EncodingDecision("utf-8", "format", "this format stores UTF-8")

    if report.encoding.source not in ("format", "utf-8 check") and _is_shapefile(path):
        _check_mixed_encoding(path, report)

    # 2. read (a cut-off .shp is said in our words before GDAL prints a line per lost record)
    if path.suffix.lower() in {".shp", ".dbf"}:
        check_shapefile_complete(path.with_suffix(".shp"))
    read_kwargs: dict[str, Any] = {"layer": name}
    if report.encoding.source != "format":
        read_kwargs["encoding"] = report.encoding.encoding
    try:
        with np.errstate(invalid="ignore"):  # NaN coordinates are reported by feature below
            frame = pyogrio.read_dataframe(_open_target(path), use_arrow=True, **read_kwargs)
        driver = _DRIVERS.get(path.suffix.lower()) or str(
            pyogrio.read_info(_open_target(path), **read_kwargs).get("driver", "")
        )
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{report.where}: text does not decode as {report.encoding.encoding}. "
            "Pass the right encoding with --encoding (e.g. GBK or UTF-8), or add a .cpg file."
        ) from exc
    except GDAL_READ_ERRORS as exc:
        raise InputError(
            f"Cannot read {report.where}: {exc}. The file may be incomplete or corrupt; "
            "export it again from the source system."
        ) from exc
    report.driver = driver
    report.feature_count = len(frame)
    if isinstance(frame, gpd.GeoDataFrame) and len(frame):
        kinds = frame.geometry.geom_type.value_counts()
        report.geometry_type = "/".join(str(k) for k in kinds.index)

    # 3. role
    columns = (
        [c for c in frame.columns if c != frame.geometry.name]
        if isinstance(frame, gpd.GeoDataFrame)
        else list(frame.columns)
    )
    if role is None:
        role = (detect_role(name, columns) if name else None) or detect_role(path.stem, columns)
        if role is not None:
            report.notes.append(
                f"role recognised as {role} from the layer name or fields; pass --role to choose another"
            )
    elif role not in ROLES:
        raise InputError(f"Unknown layer role {role!r}. Roles: {', '.join(ROLES)}.")
    report.role = role

    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame.columns:
        report.errors.append(
            "the layer has no geometry column; it is a table, not a map layer. Use a polygon layer."
        )
        report.error_kind = GeometryError
        return _finish(frame, report, strict, warn)

    # 3b. coordinates GEOS cannot compute with; heights the 2D ledger does not keep
    frame = _check_coordinates(frame, report, columns, ROLES[role] if role else None, rules)
    frame = _drop_z(frame, report)

    # 4. empty layer
    if len(frame) == 0:
        if not allow_empty:
            raise InputError(
                f"{report.where}: the layer is empty (0 features). Check that the right file and layer "
                "were exported."
            )
        report.warnings.append("the layer is empty")

    # 5. CRS
    frame = _resolve_crs(frame, report, crs)
    frame = _gcj02(frame, report, columns, path, name, convert=gcj02)

    # 6. fields, types, ids, geometry
    if role is not None:
        frame = _map_fields(frame, ROLES[role], report, rules)
    frame = _check_geometry(frame, report, ROLES[role] if role else None)
    if role is not None and len(frame):
        frame = _role_specifics(frame, ROLES[role], report, rules)
    return _finish(frame, report, strict, warn)


def _finish(
    frame: gpd.GeoDataFrame, report: LayerReport, strict: bool, warn: bool = True
) -> LoadedLayer:
    if warn:
        for w in report.warnings:
            warnings.warn(f"{report.where}: {w}", DataQualityWarning, stacklevel=3)
    if report.errors and strict:
        raise report.error_kind(
            format_problems(
                f"Cannot use {report.where}: {len(report.errors)} problem(s)",
                report.errors,
                fix="Fix the data (or the alias table in the rules file) and load again; "
                "`parcelwatch inspect FILE` lists every problem.",
                limit=20,
            )
        )
    return LoadedLayer(frame, report)


def read_layer(path: str | Path, **kwargs: Any) -> gpd.GeoDataFrame:
    """Like :func:`load_layer` but returns only the GeoDataFrame."""
    return load_layer(path, **kwargs).frame


# ------------------------------------------------------------------------------------ CRS


def _resolve_crs(frame: gpd.GeoDataFrame, report: LayerReport, user_crs: Any) -> gpd.GeoDataFrame:
    tb = frame.total_bounds if len(frame) else np.full(4, np.nan)
    bounds = (float(tb[0]), float(tb[1]), float(tb[2]), float(tb[3]))
    if user_crs is not None:
        try:
            user = CRS.from_user_input(user_crs)
        except pyproj.exceptions.CRSError as exc:
            raise CRSError(
                f"{report.where}: --crs {user_crs!r} is not a CRS PROJ knows ({exc}). Use e.g. EPSG:4490."
            ) from exc
    else:
        user = None
    if frame.crs is None:
        if user is None:
            raise CRSError(
                f"{report.where}: the layer has no CRS (no .prj or CRS definition). Likely CRS: "
                f"{crsmod.suggest_crs(bounds) if np.all(np.isfinite(bounds)) else 'unknown (no coordinates)'}. "
                "Pass it with --crs (e.g. --crs EPSG:4490), or add the .prj from the data's source."
            )
        frame = frame.set_crs(user)
        report.crs_source = "given with --crs; the file has none"
    elif user is not None and not user.equals(frame.crs):
        report.warnings.append(
            f"the file declares {frame.crs.name} but --crs {user.name} was given: using {user.name} "
            "(coordinates reinterpreted, not transformed)"
        )
        frame = frame.set_crs(user, allow_override=True)
        report.crs_source = "given with --crs, overriding the file"
    else:
        report.crs_source = "from the file"
    assert frame.crs is not None
    epsg = frame.crs.to_epsg(min_confidence=70)
    report.crs = f"EPSG:{epsg} {frame.crs.name}" if epsg else frame.crs.name
    if np.all(np.isfinite(bounds)):
        crsmod.check_coordinates(bounds, frame.crs, where=report.where)
    if not crsmod.is_cgcs2000_or_wgs84(frame.crs):
        report.warnings.append(
            f"the CRS datum is {frame.crs.geodetic_crs.datum.name if frame.crs.geodetic_crs else 'unknown'}, "
            "not CGCS2000: PROJ transforms it, but Xian 1980 / Beijing 1954 data may be metres off "
            "without the county's transformation parameters"
        )
    elif epsg == 4326:
        report.notes.append("WGS 84 is treated as CGCS2000 (they differ by well under a metre)")
    zone = crsmod.gk3_zone_of_crs(frame.crs)
    if zone is not None:
        report.notes.append(f"Gauss-Kruger 3-degree zone {zone} (central meridian {3 * zone}E)")
    return frame


def _gcj02(
    frame: gpd.GeoDataFrame,
    report: LayerReport,
    columns: list[str],
    path: Path,
    layer: str | None,
    *,
    convert: bool,
) -> gpd.GeoDataFrame:
    hint = ""
    for col in columns:
        if frame[col].dtype == object or str(frame[col].dtype).startswith("str"):
            vals = frame[col].dropna().astype(str).head(200)
            hit = vals[vals.str.contains(_GCJ_HINTS)]
            if len(hit):
                hint = f"field {col!r} says {hit.iloc[0]!r}"
                break
    if not hint:
        for label, text in (
            ("layer name", layer or ""),
            ("file name", path.name),
            ("folder name", path.parent.name),
        ):
            m = _GCJ_HINTS.search(text)
            if m:
                hint = f"the {label} {text!r} mentions {m.group(0)!r}"
                break
    if convert:
        if frame.crs is None or not frame.crs.is_geographic:
            raise CRSError(
                f"{report.where}: GCJ-02 correction needs longitude/latitude data, but the CRS is {frame.crs}."
            )

        def _fix(xy: np.ndarray) -> np.ndarray:
            lon, lat = crsmod.gcj02_to_wgs84(xy[:, 0], xy[:, 1])
            return np.column_stack([lon, lat])

        frame = frame.set_geometry(shapely.transform(frame.geometry.values, _fix)).set_crs(
            4490, allow_override=True
        )
        report.notes.append(
            "GCJ-02 offset removed (--gcj02); coordinates are now CGCS2000 longitude/latitude"
        )
        report.crs = "EPSG:4490 China Geodetic Coordinate System 2000 (after GCJ-02 correction)"
    elif hint and frame.crs is not None and frame.crs.is_geographic:
        report.warnings.append(
            f"looks like GCJ-02 (高德/腾讯) coordinates: {hint}. Such data sit a few hundred metres off "
            "CGCS2000; overlays with survey data will be wrong. Load it with --gcj02 to remove the offset."
        )
    return frame


# ------------------------------------------------------------------------------------ fields


def _row_label(frame: pd.DataFrame, idx: Any, report: LayerReport, role: Role | None) -> str:
    label = f"feature FID {idx}"
    if role is not None and role.id_field and role.id_field in frame.columns:
        src = report.field_map.get(role.id_field, role.id_field)
        val = frame.at[idx, role.id_field]
        if isinstance(val, str) and val:
            label += f" ({src} {val})"
    return label


def _as_text(series: pd.Series) -> pd.Series:
    """Text values with numbers written without a spurious '.0' and blanks as missing (vectorised)."""
    if pd.api.types.is_float_dtype(series):
        values = series.to_numpy(dtype=float)
        whole = np.isfinite(values) & (np.mod(values, 1) == 0)
        text = series.astype(str).to_numpy(dtype=object)
        text[whole] = values[whole].astype(np.int64).astype(str)
        out = pd.Series(text, index=series.index, dtype=object)
        out[~np.isfinite(values)] = None
        return out
    if pd.api.types.is_integer_dtype(series):
        out = series.astype("Int64").astype(str).mask(series.isna())
    elif pd.api.types.is_string_dtype(series) and series.dtype != object:
        out = series
    else:
        out = (
            series.map(
                lambda v: v if v is None or isinstance(v, str) else (None if pd.isna(v) else str(v))
            )
            .astype(str)
            .mask(series.isna())
        )
    out = out.str.strip()
    return out.mask(out == "")


_DATE_DAY = r"^\s*(\d{4})(?:[-/.年]?)(\d{1,2})(?:[-/.月]?)(\d{1,2})(?:日)?\s*$"
_DATE_COMPACT = r"^\s*(\d{4})(\d{2})(\d{2})\s*$"
_DATE_MONTH = r"^\s*(\d{4})(?:[-/.年]?)(\d{1,2})(?:月)?\s*$"
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")  # Excel's day 0 (its 1900 leap-year bug included)
_EXCEL_SERIALS = (20000, 80000)  # 1954-10-03 .. 2119-01-10: a plausible image date


def _ymd(parts: pd.DataFrame) -> pd.Series:
    cols = {
        k: pd.to_numeric(parts[i]).astype(float) for i, k in enumerate(("year", "month", "day"))
    }
    return pd.to_datetime(pd.DataFrame(cols), errors="coerce")


def _parse_dates(series: pd.Series) -> tuple[pd.Series, pd.Series, list[Any]]:
    """Dates as counties write them (vectorised): 2025-10-15, 20251015, 2025/9/15, 2025.9.15,
    2025年9月15日, months 2025-09, 202509, 2025/9, 2025年9月, and Excel serial day numbers
    (46280 = 2026-09-15, as a number or as text). Returns the dates (a month as its first day), the
    precision of each (``day`` / ``month``; empty when absent) and the index of bad values."""
    precision = pd.Series(pd.NA, index=series.index, dtype="string")
    if pd.api.types.is_datetime64_any_dtype(series):
        out = series.dt.tz_localize(None) if getattr(series.dt, "tz", None) else series
        return out, precision.mask(out.notna(), "day"), []
    if len(series) > 64:
        # a batch has few distinct dates: parse each distinct value once (same results)
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        if len(uniques) * 4 < len(series):
            u_parsed, u_prec, u_bad = _parse_dates(pd.Series(uniques, dtype=series.dtype))
            pick = np.where(codes < 0, len(uniques), codes)
            parsed = np.r_[u_parsed.to_numpy(dtype="datetime64[ns]"), np.datetime64("NaT", "ns")]
            prec = pd.array([*u_prec, pd.NA], dtype="string")
            bad_rows = np.isin(codes, np.asarray(u_bad, dtype=np.int64))
            return (
                pd.Series(parsed[pick], index=series.index),
                pd.Series(prec.take(pick), index=series.index),
                list(series.index[bad_rows]),
            )
    if pd.api.types.is_numeric_dtype(series):
        text = series.astype("Float64").astype("string").str.replace(r"\.0$", "", regex=True)
    else:
        text = series.astype("string").str.strip()
    day = _ymd(text.str.extract(_DATE_COMPACT))
    day = day.where(day.notna(), _ymd(text.str.extract(_DATE_DAY)))
    parts = text.str.extract(_DATE_MONTH)
    month = _ymd(pd.DataFrame({0: parts[0], 1: parts[1], 2: parts[1].where(parts[1].isna(), "1")}))
    month = month.where(day.isna())
    serial = pd.to_numeric(
        text.where(text.str.fullmatch(r"\d{5}(\.\d+)?").fillna(False)), errors="coerce"
    )
    serial = serial.where((serial >= _EXCEL_SERIALS[0]) & (serial < _EXCEL_SERIALS[1]))
    from_serial = _EXCEL_EPOCH + pd.to_timedelta(np.floor(serial.astype(float)), unit="D")
    parsed = day.where(day.notna(), from_serial.where(serial.notna()))
    precision = precision.mask(parsed.notna(), "day")
    parsed = parsed.where(parsed.notna(), month)
    precision = precision.mask(month.notna(), "month")
    # date objects (e.g. from a GeoPackage DATE column read as object)
    if series.dtype == object:
        objs = series.map(
            lambda v: pd.Timestamp(v) if hasattr(v, "year") and hasattr(v, "month") else pd.NaT
        )
        fill = parsed.isna() & objs.notna()
        parsed = parsed.where(~fill, objs)
        precision = precision.mask(fill, "day")
    present = text.notna() & (text != "")
    bad = list(series.index[present & parsed.isna()])
    return parsed.astype("datetime64[ns]"), precision, bad


def _map_fields(
    frame: gpd.GeoDataFrame, role: Role, report: LayerReport, rules: Rules
) -> gpd.GeoDataFrame:
    geom = frame.geometry.name
    columns = [c for c in frame.columns if c != geom]
    extra = rules.aliases(role.name)
    mapping = match_fields(columns, role.fields, extra)
    report.field_map = mapping
    report.unmapped = [c for c in columns if c not in mapping.values()]
    missing_required = [f for f in role.fields if f.required and f.name not in mapping]
    if role.name == "farmland" and "dlbm" not in mapping and "dlmc" not in mapping:
        f = role.field("dlbm")
        report.errors.append(
            f"no land-use code field: tried {', '.join(f.aliases)} and the class-name fields "
            f"{', '.join(role.field('dlmc').aliases)}. Add an alias under [fields.farmland] in the "
            'rules file (dlbm = ["YOUR_FIELD"]) or rename the field.'
        )
    for f in missing_required:
        tried = [*extra.get(f.name, ()), *f.aliases]
        report.errors.append(
            f"no {f.label_zh or f.name} field ({f.name}): tried {', '.join(tried)}. Fields present: "
            f"{', '.join(columns) or 'none'}. Add an alias under [fields.{role.name}] in the rules "
            f'file ({f.name} = ["YOUR_FIELD"]) or rename the field.'
        )
    renamed = frame.rename(columns={src: canon for canon, src in mapping.items()})
    out = renamed[[*mapping.keys(), *report.unmapped, geom]].copy()
    for f in role.fields:
        if f.name not in out.columns:
            continue
        src = mapping[f.name]
        col = out[f.name]
        if f.kind == "str":
            out[f.name] = _as_text(col)
        elif f.kind in ("float", "int"):
            if pd.api.types.is_numeric_dtype(col):
                num = pd.to_numeric(col, errors="coerce")
            else:
                num = pd.to_numeric(
                    col.astype("string").str.strip().replace("", None), errors="coerce"
                )
            failed = num.isna() & col.notna()
            bad = (
                out.index[failed][col[failed].astype(str).str.strip() != ""]
                if failed.any()
                else out.index[:0]
            )
            if len(bad):
                report.warnings.append(
                    f"field {src}: {len(bad)} value(s) are not numbers and were left empty: "
                    + ", ".join(f"{_row_label(out, i, report, role)} = {col[i]!r}" for i in bad[:5])
                )
            infinite = num.notna() & ~np.isfinite(num.astype("float64"))
            if infinite.any():
                report.warnings.append(
                    f"field {src}: {int(infinite.sum())} value(s) are not finite numbers (inf) and were left empty: "
                    + ", ".join(
                        f"{_row_label(out, i, report, role)} = {col[i]!r}"
                        for i in out.index[infinite][:5]
                    )
                )
                num = num.where(~infinite)
            if f.kind == "int":
                frac = num.notna() & (num % 1 != 0)
                if frac.any():
                    report.warnings.append(
                        f"field {src}: {int(frac.sum())} value(s) are not whole numbers and were rounded"
                    )
                num = num.round().astype("Int64")
            out[f.name] = num
        elif f.kind == "date":
            parsed, precision, bad_dates = _parse_dates(col)
            if bad_dates:
                report.warnings.append(
                    f"field {src}: {len(bad_dates)} value(s) are not dates (use YYYY-MM-DD or YYYY-MM) and were left empty: "
                    + ", ".join(
                        f"{_row_label(out, i, report, role)} = {col[i]!r}" for i in bad_dates[:5]
                    )
                )
            out[f.name] = parsed
            months = precision == "month"
            if months.any():
                # a month stays a month: the date is its first day, the precision says so
                out[f"{f.name}_precision"] = precision
                report.notes.append(
                    f"field {src}: {int(months.sum())} value(s) give a month only (kept as month precision, column {f.name}_precision)"
                )
    return _check_ids(out, role, report)


def _check_ids(frame: gpd.GeoDataFrame, role: Role, report: LayerReport) -> gpd.GeoDataFrame:
    idf = role.id_field
    if idf is None:
        return frame
    if idf not in frame.columns:
        if role.id_required:
            return frame  # already reported as a missing required field
        frame[idf] = [f"{role.id_prefix}{i + 1:06d}" for i in range(len(frame))]
        frame = frame[[idf, *[c for c in frame.columns if c != idf]]]
        report.notes.append(
            f"no id field; ids {role.id_prefix}000001... were generated from feature order"
        )
        return frame
    src = report.field_map.get(idf, idf)
    if not role.id_required and len(frame) > 1 and frame[idf].nunique(dropna=False) == 1:
        # e.g. ArcGIS's default "Id" field, 0 in every feature: not an id at all
        value = frame[idf].iloc[0]
        frame = frame.rename(columns={idf: src if src != idf else f"{idf}_source"})
        report.field_map.pop(idf, None)
        report.unmapped.append(src)
        frame.insert(0, idf, [f"{role.id_prefix}{i + 1:06d}" for i in range(len(frame))])
        report.notes.append(
            f"field {src} holds the same value ({value!r}) in every feature, so it is not an id; "
            f"ids {role.id_prefix}000001... were generated from feature order"
        )
        return frame
    blank = frame.index[frame[idf].isna()]
    if len(blank):
        report.errors.append(
            f"field {src}: {len(blank)} feature(s) have no id: "
            + ", ".join(f"feature FID {i}" for i in blank[:5])
            + ". Give every feature an id."
        )
    ids = frame[idf]
    dup_mask = ids.notna() & ids.duplicated(keep=False)
    if dup_mask.any() and role.name not in ("townships", "villages", "farmland", "pbf"):
        groups = frame[dup_mask].groupby(idf).groups
        items = [
            f"{k} at FID {', '.join(str(i) for i in list(v)[:4])}"
            for k, v in list(groups.items())[:5]
        ]
        report.errors.append(
            f"field {src}: {len(groups)} id(s) appear more than once: {'; '.join(items)}. "
            "Ids must be unique; renumber the duplicates or remove repeated features."
        )
    elif dup_mask.any():
        report.notes.append(
            f"field {src}: {int(dup_mask.sum())} features share an id (multi-part units)"
        )
    return frame


# ------------------------------------------------------------------------------------ geometry


def _check_mixed_encoding(path: Path, report: LayerReport) -> None:
    """A DBF whose records are not all in the decided encoding is refused, naming the records."""
    assert report.encoding is not None
    count, found = mixed_encoding_records(path, report.encoding.encoding)
    if count:
        raise EncodingError(
            format_problems(
                f"{report.where}: {count} text value(s) are not in the file's encoding "
                f"{report.encoding.describe()}; read as it, they would become mojibake",
                found,
                fix="The file mixes encodings (records edited with another program). Fix those records' text in the "
                "source and save the whole file in one encoding; if every listed record is UTF-8 and the rest is ASCII, "
                "pass --encoding utf-8.",
            )
        )


def check_shapefile_complete(shp: Path) -> None:
    """Raise InputError when a .shp (or its .shx) is shorter than its own header says.

    An interrupted copy or download cuts the file; GDAL would then print one raw error line per
    lost record and read those features as having no geometry.
    """
    short = []
    for p in (shp, shp.with_suffix(".shx")):
        if not p.is_file():
            continue
        size = p.stat().st_size
        with p.open("rb") as fh:
            head = fh.read(28)
        if len(head) < 28 or int.from_bytes(head[:4], "big") != 9994:
            raise InputError(
                f"Cannot read {shp}: {p.name} has no valid shapefile header ({size} bytes). The file is "
                "corrupt or not a shapefile; export it again from the source."
            )
        declared = int.from_bytes(head[24:28], "big") * 2  # 16-bit words
        if size < declared:
            short.append(f"{p.name} has {size} of the {declared} bytes its header declares")
    if short:
        raise InputError(
            f"{shp} is incomplete: {'; '.join(short)}. The file was cut off (an interrupted copy, "
            "download or unzip); copy the complete shapefile (.shp, .shx, .dbf, .prj) again from the source."
        )


# No CRS used in China has coordinates beyond 1e9 (metres with a zone prefix stay below 5e7).
MAX_COORDINATE = 1e9


def _check_coordinates(
    frame: pd.DataFrame, report: LayerReport, columns: list[str], role: Role | None, rules: Rules
) -> pd.DataFrame:
    """Features with NaN or infinite coordinates are bad input: reported by name, then set aside
    so that the remaining checks can run (a strict load raises with the list)."""
    if not isinstance(frame, gpd.GeoDataFrame) or len(frame) == 0:
        return frame
    geoms = np.asarray(frame.geometry.values)
    coords, index = shapely.get_coordinates(geoms, include_z=False, return_index=True)
    with np.errstate(invalid="ignore"):
        bad_xy = ~(np.abs(coords) <= MAX_COORDINATE)  # NaN compares False
    bad_rows = np.unique(index[bad_xy.any(axis=1)])
    if not len(bad_rows):
        return frame
    id_src = None
    if role is not None and role.id_field:
        id_src = match_fields(columns, role.fields, rules.aliases(role.name)).get(role.id_field)
    labels = []
    for i in bad_rows[:5]:
        label = f"feature FID {frame.index[i]}"
        if id_src is not None and isinstance(frame[id_src].iat[i], str) and frame[id_src].iat[i]:
            label += f" ({id_src} {frame[id_src].iat[i]})"
        xy = coords[index == i][bad_xy[index == i].any(axis=1)][0]
        labels.append(f"{label} at x={xy[0]:.6g}, y={xy[1]:.6g}")
    report.errors.append(
        f"{len(bad_rows)} feature(s) have NaN, infinite or impossibly large (beyond {MAX_COORDINATE:.0e}) coordinates: {', '.join(labels)}"
        + (" ..." if len(bad_rows) > 5 else "")
        + ". Fix or redraw their outlines in the source (a broken export or calculation wrote them)."
    )
    report.error_kind = GeometryError if len(report.errors) == 1 else report.error_kind
    keep = np.ones(len(frame), dtype=bool)
    keep[bad_rows] = False
    return frame[keep]


def _drop_z(frame: pd.DataFrame, report: LayerReport) -> pd.DataFrame:
    """3D outlines lose their heights (the ledger and the overlays are 2D), with a notice."""
    if not isinstance(frame, gpd.GeoDataFrame) or len(frame) == 0:
        return frame
    has_z = shapely.has_z(np.asarray(frame.geometry.values))
    if not has_z.any():
        return frame
    report.warnings.append(
        f"{int(has_z.sum())} feature(s) have 3D coordinates (Z); the heights were dropped: "
        "parcelwatch stores and compares outlines in 2D"
    )
    out = frame.copy()
    out[frame.geometry.name] = gpd.GeoSeries(
        shapely.force_2d(np.asarray(frame.geometry.values)), index=frame.index, crs=frame.crs
    )
    return out


def _check_geometry(
    frame: gpd.GeoDataFrame, report: LayerReport, role: Role | None
) -> gpd.GeoDataFrame:
    if len(frame) == 0:
        return frame
    geoms = frame.geometry.values
    missing = shapely.is_missing(np.asarray(geoms)) | shapely.is_empty(np.asarray(geoms))
    if missing.any():
        idx = frame.index[missing]
        report.errors.append(
            f"{len(idx)} feature(s) have no geometry (null or empty): "
            + ", ".join(_row_label(frame, i, report, role) for i in idx[:5])
            + ". Redraw them or delete them from the source."
        )
        report.error_kind = GeometryError if not report.errors[:-1] else report.error_kind
    present = ~missing
    types = shapely.get_type_id(np.asarray(geoms))
    polygonal = np.isin(types, [3, 6])  # Polygon, MultiPolygon
    wrong = present & ~polygonal
    if wrong.any():
        idx = frame.index[wrong]
        kinds = sorted({shapely.get_type_id(g) for g in np.asarray(geoms)[wrong]})
        names = {
            0: "Point",
            1: "LineString",
            2: "LinearRing",
            4: "MultiPoint",
            5: "MultiLineString",
            7: "GeometryCollection",
        }
        report.errors.append(
            f"{len(idx)} feature(s) are not polygons ({', '.join(names.get(k, str(k)) for k in kinds)}): "
            + ", ".join(_row_label(frame, i, report, role) for i in idx[:5])
            + ". This layer needs polygon outlines; load the polygon layer of the data set."
        )
        report.error_kind = GeometryError if len(report.errors) == 1 else report.error_kind
    check = present & polygonal
    invalid = np.zeros(len(frame), dtype=bool)
    invalid[check] = ~crsmod.in_halves(shapely.is_valid, np.asarray(geoms)[check])
    if invalid.any():
        fixed = shapely.make_valid(np.asarray(geoms)[invalid])
        polys = np.array([_polygonal_part(g) for g in fixed], dtype=object)
        bad = shapely.is_empty(polys) | (shapely.area(polys) <= 0)
        idx = frame.index[invalid]
        reasons = [shapely.is_valid_reason(g) for g in np.asarray(geoms)[invalid][:5]]
        if bad.any():
            report.errors.append(
                f"{int(bad.sum())} invalid geometry(ies) could not be repaired into a polygon: "
                + ", ".join(_row_label(frame, i, report, role) for i in idx[bad][:5])
                + ". Redraw them."
            )
            report.error_kind = GeometryError if len(report.errors) == 1 else report.error_kind
        ok_idx = idx[~bad]
        if len(ok_idx):
            new = frame.geometry.copy()
            new.loc[ok_idx] = polys[~bad]
            frame = frame.set_geometry(new)
            report.repaired = len(ok_idx)
            report.warnings.append(
                f"{len(ok_idx)} invalid polygon(s) repaired with make_valid: "
                + ", ".join(
                    f"{_row_label(frame, i, report, role)} [{r}]"
                    for i, r in zip(ok_idx[:5], reasons, strict=False)
                )
            )
    return frame


def _polygonal_part(geom: shapely.Geometry) -> shapely.Geometry:
    if shapely.get_type_id(geom) in (3, 6):
        return geom
    parts = [p for p in shapely.get_parts(geom) if shapely.get_type_id(p) in (3, 6)]
    if not parts:
        return shapely.Polygon()
    return shapely.union_all(parts)


# ------------------------------------------------------------------------------------ roles


def _role_specifics(
    frame: gpd.GeoDataFrame, role: Role, report: LayerReport, rules: Rules
) -> gpd.GeoDataFrame:
    if role.name == "farmland":
        frame = _farmland_codes(frame, report)
    if role.name == "villages" and "village_code" in frame.columns:
        frame["village_code"] = frame["village_code"].map(
            lambda v: v[:12] if isinstance(v, str) and len(v) > 12 else v
        )
    if role.name == "parcels" and "reported_area" in frame.columns and frame.crs is not None:
        frame = _sniff_area_unit(frame, report, rules)
    return frame


def _farmland_codes(frame: gpd.GeoDataFrame, report: LayerReport) -> gpd.GeoDataFrame:
    if "dlbm" not in frame.columns and "dlmc" not in frame.columns:
        return frame  # reported as a missing field
    if "dlbm" in frame.columns:
        codes = frame["dlbm"].astype(str).where(frame["dlbm"].notna())
        digits = codes.str.fullmatch(r"\d+").fillna(False).astype(bool)
        three = digits & (codes.str.len() == 3)
        if three.any():
            mapped = codes[three].map(ERDIAO_TO_SANDIAO)
            codes = codes.where(~three, mapped.where(mapped.notna(), codes))
            report.notes.append(
                f"{int(three.sum())} 二调 three-digit DLBM codes mapped to 三调 codes (e.g. 011 -> 0101)"
            )
        short = digits & (codes.str.len() < 4) & ~three
        frame["dlbm"] = codes.where(~short, codes.str.zfill(4))
    if "dlbm" not in frame.columns or frame["dlbm"].isna().any():
        if "dlmc" in frame.columns:
            names = frame["dlmc"].astype(object)
            from_names = names.astype(str).str.strip().map(DLMC_TO_DLBM).where(names.notna())
            if "dlbm" in frame.columns:
                fill = frame["dlbm"].isna()
                frame.loc[fill, "dlbm"] = from_names[fill]
            else:
                frame.insert(0, "dlbm", from_names)
                report.notes.append(
                    "no DLBM field: land-use codes derived from class names (DLMC), e.g. 水田 -> 0101, 旱地 -> 0103"
                )
            approx = sorted({n for n in names.dropna().unique() if n in APPROXIMATE_DLMC})
            if approx:
                report.notes.append(
                    f"二调 class names mapped approximately (not farmland either way): {', '.join(approx)}"
                )
            unknown = sorted({str(n) for n in names[frame["dlbm"].isna() & names.notna()].unique()})
            if unknown:
                report.warnings.append(
                    f"{int((frame['dlbm'].isna() & names.notna()).sum())} patch(es) have class names with no known code "
                    f"({', '.join(unknown[:10])}); they are not counted as farmland. Add DLBM codes to the data."
                )
        missing = frame["dlbm"].isna()
        if missing.any():
            report.warnings.append(
                f"{int(missing.sum())} patch(es) have no land-use code: "
                + ", ".join(f"feature FID {i}" for i in frame.index[missing][:5])
                + "; they are not counted as farmland"
            )
    if "tbdlmj" not in frame.columns and "tbmj" in frame.columns:
        if "kcmj" in frame.columns:
            frame["tbdlmj"] = frame["tbmj"] - frame["kcmj"].fillna(0)
            report.notes.append("TBDLMJ computed as TBMJ - KCMJ")
        elif "kcxs" in frame.columns:
            frame["tbdlmj"] = frame["tbmj"] * (1 - frame["kcxs"].fillna(0))
            report.notes.append("TBDLMJ computed as TBMJ x (1 - KCXS)")
    if "tbdlmj" not in frame.columns:
        report.notes.append("no TBMJ/TBDLMJ: farmland areas are not reduced for 田坎")
    return frame


def _sniff_area_unit(
    frame: gpd.GeoDataFrame, report: LayerReport, rules: Rules
) -> gpd.GeoDataFrame:
    """Decide whether 监测面积 is in m², 亩 or 公顷 by comparing with the geometry (DOMAIN §9.1 G8)."""
    geom_m2 = crsmod.ellipsoidal_area_m2(frame.geometry.values, frame.crs)
    reported = frame["reported_area"].to_numpy(dtype=float)
    ok = np.isfinite(reported) & (reported > 0) & (geom_m2 > 0)
    if not ok.any():
        return frame
    tol = rules.geometry.reported_area_tolerance
    src = report.field_map.get("reported_area", "reported_area")
    ratios = {
        unit: float(np.median(reported[ok] * f / geom_m2[ok]))
        for unit, f in (("m²", 1.0), ("亩", M2_PER_MU), ("公顷", 10000.0))
    }
    fits = [u for u, r in ratios.items() if abs(r - 1) <= tol]
    if not fits:
        report.warnings.append(
            f"field {src}: the values match the geometry neither in m², 亩 nor 公顷 (median ratio "
            f"{ratios['m²']:.3g} as m²); they are kept as delivered but not used as areas"
        )
        return frame
    unit = fits[0]
    factor = {"m²": 1.0, "亩": M2_PER_MU, "公顷": 10000.0}[unit]
    frame["reported_area_m2"] = frame["reported_area"] * factor
    report.notes.append(f"field {src} is in {unit} (checked against the ellipsoidal geometry area)")
    off = ok & (np.abs(reported * factor / np.where(geom_m2 > 0, geom_m2, 1) - 1) > tol)
    if off.any():
        idx = frame.index[off]
        report.warnings.append(
            f"field {src}: {int(off.sum())} feature(s) differ from their geometry area by more than "
            f"{tol:.0%}: "
            + ", ".join(_row_label(frame, i, report, ROLES["parcels"]) for i in idx[:5])
        )
    return frame


# ------------------------------------------------------------------------------------ inspect


def inspect_path(
    path: str | Path,
    *,
    layer: str | None = None,
    role: str | None = None,
    crs: Any = None,
    encoding: str | None = None,
    rules: Rules = DEFAULT_RULES,
    gcj02: bool = False,
) -> list[LayerReport]:
    """Reports for every layer of a data source (or one), collecting problems instead of raising.

    Errors that stop reading a layer at all (unreadable file, no CRS) are reported as that
    layer's error.
    """
    path = _check_path(Path(path))
    names = [layer] if layer else [n for n, _ in list_layers(path)]
    reports = []
    for name in names:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DataQualityWarning)
                loaded = load_layer(
                    path,
                    layer=name,
                    role=role,
                    crs=crs,
                    encoding=encoding,
                    rules=rules,
                    gcj02=gcj02,
                    allow_empty=True,
                    strict=False,
                )
            reports.append(loaded.report)
        except (InputError, CRSError, SchemaError, GeometryError) as exc:
            r = LayerReport(path=str(path), layer=name if len(names) > 1 else "")
            r.errors.append(str(exc))
            reports.append(r)
    return reports


@dataclass(frozen=True)
class LayerSource:
    """Where one role's layer comes from (file, optional layer name and per-file overrides)."""

    path: Path
    layer: str | None = None
    crs: Any = None
    encoding: str | None = None
    gcj02: bool = False

    @classmethod
    def parse(cls, spec: str | Path | LayerSource) -> LayerSource:
        """``file.gpkg:DLTB`` selects a layer; a plain path is taken as it is."""
        if isinstance(spec, LayerSource):
            return spec
        text = str(spec)
        if not Path(text).exists() and ":" in text[2:]:
            head, _, tail = text.rpartition(":")
            return cls(Path(head), tail)
        return cls(Path(text))
