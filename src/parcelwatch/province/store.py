"""The province store: every county's layers as GeoParquet, partitioned by county code.

Layout (``STORE/``)::

    province.json                                  counties, batches, roles, CRS
    <role>/xzqdm=<county>/part-0.parquet           reference layers (farmland, pbf, ...)
    parcels/batch=<batch>/xzqdm=<county>/part-0.parquet

Every file is EPSG:4490 (the storage CRS) with a GeoParquet ``bbox`` covering column, rows sorted
along a Hilbert curve and written in row groups, so a read by extent touches few row groups. The
partition keys are declared as strings: a county code is text (``370101``), never a number.

Reference layers are read **by extent** (:meth:`ProvinceStore.read_extent`), not by county code:
a parcel near a county border lies partly on the neighbour county's farmland, which is in the
neighbour's partition.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import shapely

from parcelwatch import crs as crsmod
from parcelwatch.atomic import atomic_path, write_text_atomic
from parcelwatch.config import DEFAULT_RULES, Rules
from parcelwatch.errors import InputError, OutputError, SchemaError

__all__ = [
    "STORE_FORMAT",
    "REFERENCE_ROLES",
    "DEFAULT_LAYERS",
    "ID_FIELDS",
    "ProvinceStore",
    "PackReport",
    "pack_province",
    "pack_frames",
    "check_county_code",
    "check_batch_name",
]

STORE_FORMAT = "parcelwatch-province/1"
MANIFEST = "province.json"
KEY = "xzqdm"
REFERENCE_ROLES = (
    "farmland",
    "pbf",
    "greenhouses",
    "buildings",
    "approvals",
    "parks",
    "townships",
    "villages",
)
# Where each role's file is in a county's delivery folder (the sample county's names); ``--layer``
# overrides them. A role is packed when its file is in every county's folder.
DEFAULT_LAYERS: dict[str, str] = {
    "farmland": "基础数据.gpkg:DLTB",
    "pbf": "基础数据.gpkg:YJJBNTTB",
    "townships": "基础数据.gpkg:XZQ",
    "villages": "基础数据.gpkg:CJDCQ",
    "greenhouses": "大棚.geojson",
    "buildings": "建筑物.shp",
    "approvals": "审批备案.gpkg",
    "parks": "农业园区.geojson",
}
ID_FIELDS = {
    "farmland": "patch_id",
    "pbf": "pbf_id",
    "greenhouses": "greenhouse_id",
    "buildings": "building_id",
    "approvals": "approval_id",
    "parks": "park_id",
}
_ROW_GROUP = 50_000
_PARTITIONING = ds.partitioning(pa.schema([(KEY, pa.string())]), flavor="hive")
_BATCH_PARTITIONING = ds.partitioning(
    pa.schema([("batch", pa.string()), (KEY, pa.string())]), flavor="hive"
)


def check_county_code(code: str, *, where: str = "") -> str:
    """A county code is six digits of text (县级行政区划代码)."""
    code = str(code).strip()
    if not re.fullmatch(r"\d{6}", code):
        raise SchemaError(
            f"County code {code!r}{' in ' + where if where else ''} is not a 6-digit 行政区划代码 (e.g. 370123). "
            "Name each county's delivery folder by its code and pass the codes with --counties."
        )
    return code


def check_batch_name(batch: str) -> str:
    """A batch name becomes a folder name: no path separators, '=' or '%'."""
    b = str(batch).strip()
    if not b or b.startswith(".") or re.search(r"[/\\=%:*?\"<>|]", b):
        raise SchemaError(
            f"Batch name {batch!r} cannot be used as a folder name in the province store. "
            "Use letters, digits, Chinese and '-', e.g. --batch 2026年第1批 or --batch 2026-1."
        )
    return b


# ------------------------------------------------------------------------------------ writing


def _sorted_for_locality(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Rows along a Hilbert curve of their bounding-box centres (stable, deterministic)."""
    if len(frame) < 2:
        return frame
    order = np.argsort(
        frame.geometry.hilbert_distance(total_bounds=frame.total_bounds).to_numpy(), kind="stable"
    )
    return frame.iloc[order].reset_index(drop=True)


def _atomic_parquet(frame: gpd.GeoDataFrame, path: Path) -> None:
    """Write GeoParquet beside ``path`` and rename it into place."""
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False, write_covering_bbox=True, row_group_size=_ROW_GROUP)


def _to_storage(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = (
        frame
        if frame.crs is not None and frame.crs.equals(crsmod.STORAGE_CRS)
        else frame.to_crs(crsmod.STORAGE_CRS)
    )
    if KEY in out.columns:
        out = out.drop(columns=[KEY])
    return _sorted_for_locality(out.reset_index(drop=True))


@dataclass
class PackReport:
    """What :func:`pack_province` / :func:`pack_frames` wrote."""

    store: Path
    batch: str
    counties: list[str]
    rows: dict[str, dict[str, int]] = field(default_factory=dict)  # county -> role -> rows
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"Province store {self.store}: batch {self.batch}, {len(self.counties)} counties"]
        for code in self.counties:
            out.append(
                f"  {code}: " + ", ".join(f"{r} {n}" for r, n in self.rows.get(code, {}).items())
            )
        out += [f"  note: {n}" for n in self.notes]
        return out


def _read_manifest(store: Path) -> dict[str, Any]:
    path = store / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            f"{store} is not a province store: no {MANIFEST}. Create it with `parcelwatch province pack`."
        ) from None
    except (OSError, ValueError) as exc:
        raise InputError(
            f"Cannot read {path}: {exc}. Pack the store again with `parcelwatch province pack`."
        ) from exc
    if data.get("format") != STORE_FORMAT:
        raise InputError(
            f"{path} has format {data.get('format')!r}, this parcelwatch reads {STORE_FORMAT!r}. Pack the store again."
        )
    return data


def _write_manifest(store: Path, data: Mapping[str, Any]) -> None:
    write_text_atomic(
        store / MANIFEST, json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True)
    )


def _unique_ids(
    frames: Mapping[str, Mapping[str, gpd.GeoDataFrame]], existing: ProvinceStore | None
) -> tuple[dict[str, dict[str, gpd.GeoDataFrame]], list[str]]:
    """Reference ids must be unique province-wide: a county task sees its neighbours' features.

    Where two counties use the same id in one role, every id of that role is prefixed with its
    county code (``370101:B00001``), and a note says so.
    """
    out = {code: dict(layers) for code, layers in frames.items()}
    notes: list[str] = []
    for role, col in ID_FIELDS.items():
        seen: dict[str, str] = {}
        clash: list[str] = []
        sources: list[tuple[str, np.ndarray]] = [
            (c, layers[role][col].astype(str).to_numpy())
            for c, layers in frames.items()
            if role in layers and col in layers[role]
        ]
        if existing is not None and role in existing.roles:
            for c in existing.counties:
                if c not in frames:
                    ids = existing.read_county(role, c, columns=[col])
                    if col in ids:
                        sources.append((c, ids[col].astype(str).to_numpy()))
        for code, ids in sources:
            for i in pd.unique(ids):
                other = seen.setdefault(i, code)
                if other != code and len(clash) < 3:
                    clash.append(f"{i} in {other} and {code}")
        if clash:
            if any(":" in i for _, ids in sources for i in ids[:1]):
                raise SchemaError(
                    f"The {role} ids are not unique across counties even with county prefixes ({'; '.join(clash)}). Repack every county."
                )
            for code, layers in out.items():
                if role in layers and col in layers[role]:
                    g = layers[role].copy()
                    g[col] = code + ":" + g[col].astype(str)
                    layers[role] = g
            notes.append(
                f"{role} ids repeat across counties ({'; '.join(clash)}): every {col} is prefixed with its county code"
            )
    return out, notes


def pack_frames(
    frames: Mapping[str, Mapping[str, gpd.GeoDataFrame]],
    store: str | Path,
    *,
    batch: str,
    notes: Iterable[str] = (),
    zones: Mapping[str, int] | None = None,
    rules: Rules = DEFAULT_RULES,
) -> PackReport:
    """Write validated canonical frames ``{county: {role: GeoDataFrame}}`` into the store.

    Each county's working Gauss-Kruger zone is recorded as the county pipeline decides it from
    the frames as given (:func:`parcelwatch.pipeline.working_zone`: the rules file's, else the
    zone of the farmland layer's CRS, else by longitude), or taken from ``zones``; the county
    task overlays in that zone, so its areas equal the county CLI's even though the store is in
    EPSG:4490 and a province spans several zones.

    Each county must have ``parcels`` and the same reference roles as the store already has.
    Every partition file is written beside its place and renamed into it; the manifest last.
    """
    store = Path(store)
    batch = check_batch_name(batch)
    codes = [check_county_code(c) for c in frames]
    existing = ProvinceStore(store) if (store / MANIFEST).exists() else None
    roles = sorted({r for layers in frames.values() for r in layers if r != "parcels"})
    for code, layers in frames.items():
        if "parcels" not in layers:
            raise InputError(
                f"County {code} has no parcels layer for batch {batch}. Give each county folder the batch's 卫片图斑 file (--parcels)."
            )
        missing = [r for r in roles if r not in layers]
        if missing:
            raise InputError(
                f"County {code} lacks the {', '.join(missing)} layer(s) that other counties have. Every county needs the same layers; add the files or leave the role out for all."
            )
        unknown = [r for r in layers if r != "parcels" and r not in REFERENCE_ROLES]
        if unknown:
            raise InputError(
                f"Unknown layer role(s) {', '.join(unknown)} for county {code}. Roles: parcels, {', '.join(REFERENCE_ROLES)}."
            )
    if (
        existing is not None
        and existing.roles
        and set(existing.roles) != set(roles)
        and set(existing.counties) - set(codes)
    ):
        raise InputError(
            f"{store} holds the layers {', '.join(existing.roles)}; these counties bring {', '.join(roles)}. "
            "Every county needs the same layers: pack all counties again, or bring the same files."
        )
    from parcelwatch.pipeline import working_zone

    county_zone = {
        code: int(zones[code]) if zones and code in zones else working_zone(frames[code], rules)[0]
        for code in codes
    }
    frames, id_notes = _unique_ids(frames, existing)
    report = PackReport(store, batch, codes, notes=[*notes, *id_notes])
    try:
        store.mkdir(parents=True, exist_ok=True)
        for code in codes:
            rows: dict[str, int] = {}
            for role, frame in frames[code].items():
                target = (
                    (store / "parcels" / f"batch={batch}" if role == "parcels" else store / role)
                    / f"{KEY}={code}"
                    / "part-0.parquet"
                )
                _atomic_parquet(_to_storage(frame), target)
                rows[role] = len(frame)
            report.rows[code] = rows
        manifest: dict[str, Any] = (
            _read_manifest(store)
            if existing is not None
            else {
                "format": STORE_FORMAT,
                "crs": "EPSG:4490",
                "counties": [],
                "batches": {},
                "roles": [],
            }
        )
        manifest["counties"] = sorted(set(manifest["counties"]) | set(codes))
        manifest["roles"] = roles
        manifest.setdefault("zones", {}).update(county_zone)
        manifest["batches"].setdefault(batch, [])
        manifest["batches"][batch] = sorted(set(manifest["batches"][batch]) | set(codes))
        _write_manifest(store, manifest)
    except OSError as exc:
        raise OutputError(
            f"Cannot write the province store {store}: {exc}. Check the folder is writable and has free space."
        ) from exc
    return report


def _split_spec(spec: str) -> tuple[str, str | None]:
    """``file.gpkg:LAYER`` -> (file, LAYER); a plain file name -> (file, None)."""
    head, sep, tail = spec.rpartition(":")
    if sep and head and not re.fullmatch(r"[A-Za-z]", head):
        return head, tail
    return spec, None


_READABLE = {
    ".shp",
    ".gpkg",
    ".geojson",
    ".json",
    ".fgb",
    ".gdb",
    ".zip",
    ".kml",
    ".tab",
    ".mif",
    ".sqlite",
}


def _has_layer(path: Path, layer: str | None) -> bool:
    if layer is None:
        return True
    from parcelwatch.io.layers import list_layers

    return layer in [n for n, _ in list_layers(path)]


def _resolve(folder: Path, spec: str) -> tuple[Path | None, str | None]:
    """A file spec inside a county folder: an exact name, or a pattern (``卫片图斑*``) matching one file.

    A named layer that is not in the file counts as absent.
    """
    name, layer = _split_spec(spec)
    if (folder / name).exists():
        return (folder / name if _has_layer(folder / name, layer) else None), layer
    hits = sorted(p for p in folder.glob(name) if p.suffix.lower() in _READABLE)
    if len(hits) > 1:
        raise InputError(
            f"{len(hits)} files in {folder} match {name!r} ({', '.join(p.name for p in hits[:4])}). Name the one to use."
        )
    return (hits[0] if hits else None), layer


def pack_province(
    src: str | Path,
    store: str | Path,
    *,
    batch: str,
    parcels: str,
    counties: Iterable[str] | None = None,
    layers: Mapping[str, str] | None = None,
    rules: Rules = DEFAULT_RULES,
    encoding: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> PackReport:
    """Read every county's delivery (``SRC/<county code>/...``) with the county loader and pack it.

    ``parcels`` is the batch's parcels file inside each county folder (``file`` or
    ``file.gpkg:LAYER``); ``layers`` maps reference roles to files likewise (default
    :data:`DEFAULT_LAYERS`; a default role is packed when its file is in every county's folder).
    Each layer is validated once here (encoding, fields, ids, geometry, CRS) by
    :func:`parcelwatch.io.layers.load_layer`, so a county task reads clean data.
    """
    from parcelwatch.io.layers import load_layer

    src = Path(src)
    if not src.is_dir():
        raise InputError(
            f"{src} is not a folder. Give the folder that holds one sub-folder per county, named by its 6-digit code."
        )
    if counties is None:
        codes = sorted(
            p.name for p in src.iterdir() if p.is_dir() and re.fullmatch(r"\d{6}", p.name)
        )
        if not codes:
            raise InputError(
                f"{src} has no county folders (sub-folders named by a 6-digit county code such as 370101)."
            )
    else:
        codes = [check_county_code(c, where="--counties") for c in counties]
    for code in codes:
        if not (src / code).is_dir():
            raise InputError(
                f"No delivery folder for county {code}: {src / code} does not exist. Create it or leave {code} out of --counties."
            )
    given = dict(layers or {})
    specs: dict[str, str] = {}
    for role, spec in {**DEFAULT_LAYERS, **given}.items():
        if role not in REFERENCE_ROLES:
            raise InputError(
                f"Unknown layer role {role!r} in --layer. Roles: {', '.join(REFERENCE_ROLES)}."
            )
        present = [c for c in codes if _resolve(src / c, spec)[0] is not None]
        if len(present) == len(codes):
            specs[role] = spec
        elif role in given or present:
            missing = [c for c in codes if c not in present]
            raise InputError(
                f"The {role} file {_split_spec(spec)[0]} is missing in the folder(s) of "
                f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}. Every county needs the same layers: add it, or name another file with --layer {role}=FILE."
            )
    frames: dict[str, dict[str, gpd.GeoDataFrame]] = {}
    for code in codes:
        frames[code] = {}
        for role, spec in {"parcels": parcels, **specs}.items():
            path, layer = _resolve(src / code, spec)
            if path is None:
                raise InputError(
                    f"County {code} has no parcels file {src / code / _split_spec(spec)[0]} for batch {batch}. Check --parcels."
                )
            if progress is not None:
                progress(f"{code} {role}: {path}{':' + layer if layer else ''}")
            loaded = load_layer(path, role=role, layer=layer, rules=rules, encoding=encoding)
            frames[code][role] = loaded.frame
    return pack_frames(frames, store, batch=batch, rules=rules)


# ------------------------------------------------------------------------------------ reading


def _table_to_frame(table: pa.Table) -> gpd.GeoDataFrame:
    cols = [c for c in table.column_names if c not in ("bbox", KEY, "batch")]
    table = table.select(cols)
    geom = (
        shapely.from_wkb(table.column("geometry").to_numpy(zero_copy_only=False))
        if "geometry" in cols
        else None
    )
    attrs = table.drop_columns(["geometry"]) if "geometry" in cols else table
    df = attrs.to_pandas()
    if geom is None:
        return df
    return gpd.GeoDataFrame(
        df, geometry=gpd.GeoSeries(geom, crs=crsmod.STORAGE_CRS, index=df.index)
    )


class ProvinceStore:
    """Read access to a province store (safe to pickle: it holds only the path)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        manifest = _read_manifest(self.path)
        self.counties: list[str] = list(manifest["counties"])
        self.batches: dict[str, list[str]] = dict(manifest["batches"])
        self.roles: list[str] = list(manifest["roles"])
        self.zones: dict[str, int] = {c: int(z) for c, z in manifest.get("zones", {}).items()}

    def __reduce__(self) -> tuple[Any, ...]:
        return (ProvinceStore, (str(self.path),))

    def batch_counties(self, batch: str) -> list[str]:
        if batch not in self.batches:
            known = ", ".join(self.batches) or "none"
            raise InputError(
                f"The province store {self.path} has no batch {batch!r} (it has: {known}). Pack it with `parcelwatch province pack ... --batch {batch}`."
            )
        return list(self.batches[batch])

    def _file(self, role: str, county: str, batch: str | None = None) -> Path:
        base = self.path / "parcels" / f"batch={batch}" if role == "parcels" else self.path / role
        return base / f"{KEY}={county}" / "part-0.parquet"

    def size(self, county: str, batch: str) -> int:
        """Parcels of the county in the batch (from the Parquet footer, no data read)."""
        return int(pq.ParquetFile(self._file("parcels", county, batch)).metadata.num_rows)

    def parcels(self, county: str, batch: str) -> gpd.GeoDataFrame:
        """The county's parcels of the batch (by code: a parcel belongs to one county)."""
        path = self._file("parcels", county, batch)
        if not path.exists():
            raise InputError(
                f"The province store has no parcels of county {county} in batch {batch} ({path}). Pack them first."
            )
        return _table_to_frame(pq.read_table(path))

    def read_county(
        self, role: str, county: str, *, columns: list[str] | None = None
    ) -> gpd.GeoDataFrame:
        """One county's partition of a reference layer (the 'by code' read; see read_extent)."""
        table = self._dataset(role).to_table(filter=ds.field(KEY) == county, columns=columns)
        return _table_to_frame(table)

    def _dataset(self, role: str) -> ds.Dataset:
        if role not in self.roles:
            raise InputError(
                f"The province store {self.path} has no {role} layer (it has: {', '.join(self.roles) or 'none'}). Pack it with the {role} file."
            )
        return ds.dataset(self.path / role, format="parquet", partitioning=_PARTITIONING)

    def read_extent(
        self,
        role: str,
        bounds: tuple[float, float, float, float] | np.ndarray,
        *,
        boxes: np.ndarray | None = None,
    ) -> gpd.GeoDataFrame:
        """Every feature of ``role`` whose bounding box meets ``bounds`` (lon/lat), in any county;
        with ``boxes`` ((n, 4) lon/lat, all inside ``bounds``) only those whose box meets one of
        them (a grid cell of ~1/1000 of the extent beyond at most), before any geometry is decoded.

        Uses the bbox covering columns (row-group statistics prune most of the province). The
        result is a superset of the features that intersect the box(es); a county's partition
        column is dropped.
        """
        from parcelwatch.pipeline.reference import BoxGrid

        x0, y0, x1, y1 = (float(v) for v in bounds)
        flt = (ds.field("bbox", "xmin") <= x1) & (ds.field("bbox", "xmax") >= x0)
        flt &= (ds.field("bbox", "ymin") <= y1) & (ds.field("bbox", "ymax") >= y0)
        table = self._dataset(role).to_table(filter=flt)
        if boxes is not None and table.num_rows:
            bbox = table.column("bbox").combine_chunks()
            rows = np.column_stack(
                [
                    bbox.field(k).to_numpy(zero_copy_only=False)
                    for k in ("xmin", "ymin", "xmax", "ymax")
                ]
            )
            # cells in degrees: ~1e-4 deg (10 m) at least, else 1/1000 of the boxes' extent
            table = table.filter(pa.array(BoxGrid(boxes, cell_m=1e-4).meets(rows)))
        return _table_to_frame(table)
