"""Reference layers registered once in a workspace, read back by the extents a batch touches.

A county's 三调 farmland, 永久基本农田, greenhouses, buildings, approvals, parks and
administrative boundaries change about once a year; 卫片 batches arrive every month or two.
``parcelwatch reference add`` loads each layer once with the same loader as every other command
(:func:`parcelwatch.io.layers.load_layer`: encoding, CRS, field mapping, validation, repair),
reprojects it to the workspace's working Gauss-Kruger zone and stores it under
``WS/reference/`` as an uncompressed Arrow IPC file (``.arrow``, geometry as WKB with GeoArrow
metadata and the CRS, so ``geopandas.GeoDataFrame.from_arrow`` and GDAL builds with the Arrow
driver read it):

* rows sorted along a Hilbert curve, so that neighbours lie side by side in the file;
* a ``bbox`` column (xmin, ymin, xmax, ymax per feature), read memory-mapped without a copy: the
  rows a batch touches are found from it and only their bytes are read, so a batch scattered over
  the whole county reads what it touches, not every block of the file.

Stores registered before (GeoParquet with the same columns and small row groups) are still read.

``catalog.json`` beside the files records, per version, the provenance: source file, layer, size
and sha256, when and by whom it was loaded, feature and repair counts, the stored file's size and
sha256. A newer year (or the same year from a changed file) replaces the active version; the
replaced version's record stays in the catalog, so every batch keeps naming the version it used
(the batch row's ``sources`` hold ``reference:<version id>``; see :func:`batch_references`).

:func:`load_batch_inputs` is what ``check`` and ``classify`` call: the layers given on the
command line win, every other role comes from the registered version, read by the bounding boxes
of the batch's parcels (each parcel's own box, never the batch's overall box) and of what those
parcels reach (the buildings on them, and greenhouses within the context distance of those
buildings). Reading by extent gives exactly the features the overlay can use, so the findings
equal those computed with the whole layers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from parcelwatch import crs as crsmod
from parcelwatch.atomic import commit_file, write_text_atomic
from parcelwatch.config import DEFAULT_RULES, Rules
from parcelwatch.errors import CRSError, InputError, ReferenceStoreError
from parcelwatch.io.layers import LayerReport
from parcelwatch.pipeline.inputs import older_objects_frozen

__all__ = [
    "REFERENCE_ROLES",
    "REFERENCE_DIR",
    "ROW_GROUP_ROWS",
    "ReferenceVersion",
    "AddOutcome",
    "ReferenceStore",
    "open_references",
    "add_references",
    "load_batch_inputs",
    "batch_references",
    "REFERENCE_PREFIX",
    "USED_COLUMNS",
    "closed_problem_boxes",
    "context_layers",
    "describe_versions",
    "extents_needed",
]

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
REFERENCE_DIR = "reference"
CATALOG_FILE = "catalog.json"
REFERENCE_PREFIX = "reference:"
ROW_GROUP_ROWS = 4096  # rows per record batch (row group in the older GeoParquet stores)
_FORMAT = 1
STORED_SUFFIX = ".arrow"
_OPTION = {r: f"--{r}" for r in REFERENCE_ROLES}
# What classification, re-checks and the map use of each layer; the other delivered fields stay
# in the store (and in the provenance) but are not decoded for a check.
USED_COLUMNS: dict[str, tuple[str, ...]] = {
    "farmland": ("dlbm", "tbmj", "tbdlmj"),
    "pbf": ("pbf_id",),
    "greenhouses": ("greenhouse_id",),
    "buildings": ("building_id", "use", "storeys"),
    "approvals": ("approval_id", "approval_type", "filed_use"),
    "parks": ("park_id",),
    "townships": ("township_code", "township_name"),
    "villages": ("village_code", "village_name"),
}

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ReferenceVersion:
    """One registered version of one reference layer, with its provenance."""

    version_id: str
    role: str
    year: int
    file: str  # relative to WS/reference
    file_size: int
    file_sha256: str
    source_path: str
    source_layer: str
    source_size: int
    source_sha256: str
    load_key: str  # source hash + layer + overrides + the rules the loader reads: equal keys load equal data
    loaded_at: str
    loaded_by: str
    features: int
    repaired: int
    bounds: tuple[float, float, float, float]  # in the working CRS
    declared_crs: str = ""
    encoding: str = ""
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    replaced_by: str | None = None
    replaced_at: str | None = None

    @property
    def active(self) -> bool:
        return self.replaced_by is None

    @property
    def source(self) -> str:
        return self.source_path + (f":{self.source_layer}" if self.source_layer else "")

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ReferenceVersion:
        d = dict(d)
        d["bounds"] = tuple(float(x) for x in d["bounds"])
        d["notes"] = tuple(d.get("notes", ()))
        d["warnings"] = tuple(d.get("warnings", ()))
        return cls(**d)

    def rebuild_command(self, ws: Path | str) -> str:
        return f"parcelwatch reference add {ws} {_OPTION[self.role]} {_quote(self.source)} --year {self.year}"


def _quote(s: str) -> str:
    return f'"{s}"' if any(c.isspace() for c in s) else s


@dataclass(frozen=True)
class AddOutcome:
    """What ``reference add`` did for one role: added, replaced (an older version), unchanged, rebuilt."""

    role: str
    action: str
    version: ReferenceVersion
    replaced: ReferenceVersion | None = None
    notes: tuple[str, ...] = ()

    def line(self) -> str:
        v = self.version
        what = {
            "added": "registered",
            "replaced": f"registered, replacing {self.replaced.version_id if self.replaced else ''}",
            "unchanged": "unchanged (same file, already registered)",
            "rebuilt": "stored file was missing or damaged: rebuilt from the source",
        }[self.action]
        return f"{v.role:<12} {v.version_id:<22} {v.features:>9} features  {what}  <- {v.source}"


# ------------------------------------------------------------------------------------------
# The store


class ReferenceStore:
    """The registered reference layers of a workspace (``WS/reference``)."""

    def __init__(self, workspace: str | Path) -> None:
        self.workspace = Path(workspace)
        self.dir = self.workspace / REFERENCE_DIR
        self.zone: int | None = None
        self.versions: list[ReferenceVersion] = []
        self._load_catalog()

    # -- catalog

    @property
    def catalog_path(self) -> Path:
        return self.dir / CATALOG_FILE

    def _load_catalog(self) -> None:
        path = self.catalog_path
        if not path.exists():
            if self.dir.is_dir() and (
                any(self.dir.glob("*.arrow")) or any(self.dir.glob("*.parquet"))
            ):
                raise ReferenceStoreError(
                    f"The reference store {self.dir} has layer files but no {CATALOG_FILE}: it was damaged or partly moved. "
                    f"Register the layers again with `parcelwatch reference add {self.workspace} --farmland FILE ... --year YEAR`."
                )
            return
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != _FORMAT:
                raise ValueError(f"unknown catalog format {data.get('format')!r}")
            self.zone = int(data["zone"]) if data.get("zone") is not None else None
            self.versions = [ReferenceVersion.from_json(v) for v in data["versions"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ReferenceStoreError(
                f"Cannot read the reference catalog {path}: {exc}. The reference store is damaged; register the layers again "
                f"with `parcelwatch reference add {self.workspace} --farmland FILE ... --year YEAR` (the sources of each version are "
                "listed in the catalog if it is still readable as text)."
            ) from exc

    def _write_catalog(self, zone: int, versions: Sequence[ReferenceVersion]) -> None:
        data = {
            "format": _FORMAT,
            "zone": zone,
            "crs": f"EPSG:{crsmod.working_crs(zone).to_epsg()}",
            "versions": [asdict(v) for v in versions],
        }
        text = json.dumps(data, ensure_ascii=False, indent=1)
        write_text_atomic(self.catalog_path, text)
        self.zone = zone
        self.versions = list(versions)

    # -- queries

    @property
    def working_crs(self) -> CRS:
        if self.zone is None:
            raise ReferenceStoreError(
                f"No reference layers are registered in {self.workspace}. Register them with `parcelwatch reference add {self.workspace} --farmland FILE ...`."
            )
        return crsmod.working_crs(self.zone)

    def active(self) -> dict[str, ReferenceVersion]:
        """The version in use per role (registered roles only)."""
        return {v.role: v for v in self.versions if v.active}

    def version(self, version_id: str) -> ReferenceVersion | None:
        return next((v for v in self.versions if v.version_id == version_id), None)

    def __bool__(self) -> bool:
        return bool(self.active())

    def _path(self, v: ReferenceVersion) -> Path:
        return self.dir / v.file

    def _damaged(self, v: ReferenceVersion, why: str) -> ReferenceStoreError:
        return ReferenceStoreError(
            f"The registered {v.role} layer {v.version_id} ({self._path(v)}) {why}. The reference store was moved, changed or "
            f"damaged; rebuild it from its source with `{v.rebuild_command(self.workspace)}`."
        )

    def _open(self, v: ReferenceVersion) -> Any:
        """The stored file: a memory-mapped Arrow IPC reader, or a ParquetFile (older stores)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = self._path(v)
        try:
            size = path.stat().st_size
        except OSError:
            raise self._damaged(v, "is missing") from None
        if size != v.file_size:
            raise self._damaged(v, f"has {size} bytes, not the {v.file_size} it was stored with")
        try:
            if path.suffix == ".parquet":
                return pq.ParquetFile(path)
            return pa.ipc.open_file(pa.memory_map(str(path), "r"))
        except (OSError, pa.ArrowException) as exc:
            raise self._damaged(v, f"cannot be read ({exc})") from exc

    def read(
        self,
        role: str,
        boxes: np.ndarray | BoxGrid | None = None,
        *,
        columns: Sequence[str] | None = None,
    ) -> gpd.GeoDataFrame:
        """The active version of ``role`` in the working CRS; with ``boxes`` ((n, 4) xmin, ymin,
        xmax, ymax in the working CRS) only the features whose bounding box meets one of them
        (a cell of :func:`_boxes_meet` beyond at most; a prebuilt :class:`BoxGrid` of them too);
        with ``columns`` only those attributes."""
        import pyarrow as pa

        v = self.active().get(role)
        if v is None:
            raise ReferenceStoreError(
                f"No {role} layer is registered in {self.workspace}. Register it with `parcelwatch reference add {self.workspace} {_OPTION[role]} FILE --year YEAR`."
            )
        import pyarrow.parquet as pq

        pf = self._open(v)
        names = pf.schema_arrow.names if isinstance(pf, pq.ParquetFile) else pf.schema.names
        cols = (
            None
            if columns is None
            else [c for c in names if c in set(columns) | {"geometry", "bbox"}]
        )
        try:
            if not isinstance(pf, pq.ParquetFile):
                # memory-mapped, no copy: the bbox column finds the rows, only theirs are read
                table = pf.read_all()
                if cols is not None:
                    table = table.select(cols)
                if boxes is not None and table.num_rows:
                    grid = boxes if isinstance(boxes, BoxGrid) else BoxGrid(boxes)
                    table = table.filter(pa.array(_rows_meeting(table, grid)))
            elif boxes is None:
                table = pf.read(columns=cols, use_threads=True)
            else:
                # built once for the row groups and the rows
                grid = boxes if isinstance(boxes, BoxGrid) else BoxGrid(boxes)
                groups = _row_groups_meeting(pf, grid)
                table = (
                    pf.read_row_groups(groups, columns=cols, use_threads=True)
                    if groups
                    else pf.schema_arrow.empty_table()
                )
                if cols is not None:
                    table = table.select(cols)
                if table.num_rows:
                    table = table.filter(pa.array(_rows_meeting(table, grid)))
            return _to_frame(table, self.working_crs)
        except (OSError, pa.ArrowException, shapely.errors.ShapelyError) as exc:
            raise self._damaged(v, f"cannot be read ({exc})") from exc


def open_references(workspace: str | Path) -> ReferenceStore:
    """The reference store of a workspace (empty when nothing is registered yet)."""
    return ReferenceStore(workspace)


# ------------------------------------------------------------------------------------------
# Reading by extent


def _bbox_columns(schema: Any) -> tuple[int, int, int, int]:
    names = [schema.column(i).path for i in range(len(schema))]
    try:
        return tuple(names.index(f"bbox.{k}") for k in ("xmin", "ymin", "xmax", "ymax"))  # type: ignore[return-value]
    except ValueError as exc:
        raise InputError("the stored layer has no bbox covering column") from exc


def _row_groups_meeting(pf: Any, boxes: np.ndarray | BoxGrid) -> list[int]:
    """Row groups whose features' bounding-box range meets at least one of ``boxes``."""
    md = pf.metadata
    cols = _bbox_columns(md.schema)
    rg = np.empty((md.num_row_groups, 4))
    for i in range(md.num_row_groups):
        g = md.row_group(i)
        stats = [g.column(c).statistics for c in cols]
        if any(s is None or not s.has_min_max for s in stats):
            rg[i] = (-np.inf, -np.inf, np.inf, np.inf)  # no statistics: read it
            continue
        rg[i] = (stats[0].min, stats[1].min, stats[2].max, stats[3].max)
    grid = boxes if isinstance(boxes, BoxGrid) else BoxGrid(boxes)
    if grid.given == 0 or len(rg) == 0:
        return []
    hit = grid.meets(rg)
    return [int(i) for i in np.flatnonzero(hit)]


def _boxes_meet(targets: np.ndarray, boxes: np.ndarray, *, cell_m: float = 25.0) -> np.ndarray:
    """For each target box, whether it may meet one of ``boxes`` (never a false "no").

    The boxes are burnt into a grid of ``cell_m`` cells (coarser when the extent is large); a
    target is kept when its cell range holds a burnt cell (a summed-area table answers that in
    constant time per target). Targets are at most one cell beyond what an exact box test keeps,
    which costs a few extra features and no wrong answer; no geometry objects are built.
    """
    return BoxGrid(boxes, cell_m=cell_m).meets(targets)


def _cumsum_rows(a: np.ndarray) -> None:
    """``np.cumsum(a, axis=0, out=a)`` row by row: each step a contiguous row add, several times
    faster than numpy's strided accumulation down the columns of a C-ordered array."""
    for i in range(1, len(a)):
        np.add(a[i], a[i - 1], out=a[i])


class BoxGrid:
    """The summed-area table of :func:`_boxes_meet`, built once for many queries (a layer's row
    groups, then its rows; every layer read with the same boxes)."""

    def __init__(self, boxes: np.ndarray, *, cell_m: float = 25.0) -> None:
        boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
        self.given = len(boxes)
        boxes = boxes[np.all(np.isfinite(boxes), axis=1)]
        self.empty = len(boxes) == 0
        if self.empty:
            return
        x0, y0 = boxes[:, 0].min(), boxes[:, 1].min()
        x1, y1 = boxes[:, 2].max(), boxes[:, 3].max()
        cell = max(cell_m, (x1 - x0) / 1000, (y1 - y0) / 1000)
        self.x0, self.y0, self.inv = x0, y0, 1.0 / cell
        # cells by one monotonic formula for the boxes and the targets alike (floor of a product:
        # much cheaper than floor division), so touching boxes fall in the same cell
        nx, ny = int(self._cell(x1, x0)) + 1, int(self._cell(y1, y0)) + 1
        bx0 = self._cell(boxes[:, 0], x0).astype(np.int64)
        bx1 = self._cell(boxes[:, 2], x0).astype(np.int64)
        by0 = self._cell(boxes[:, 1], y0).astype(np.int64)
        by1 = self._cell(boxes[:, 3], y0).astype(np.int64)
        # burn each box's cell range: difference array, then a 2-D cumulative sum
        w = nx + 1
        size = (ny + 1) * w
        corners = np.concatenate(
            [by0 * w + bx0, by0 * w + bx1 + 1, (by1 + 1) * w + bx0, (by1 + 1) * w + bx1 + 1]
        )
        signs = np.repeat(np.array([1, -1, -1, 1], dtype=np.int32), len(bx0))
        flat = np.zeros(size, dtype=np.int32)
        np.add.at(flat, corners, signs)
        diff = flat.reshape(ny + 1, w)
        _cumsum_rows(diff)
        np.cumsum(diff, axis=1, out=diff)
        sat = np.zeros((ny + 1, nx + 1), dtype=np.int32)
        sat[1:, 1:] = diff[:ny, :nx] > 0
        _cumsum_rows(sat)
        np.cumsum(sat, axis=1, out=sat)
        self.sat = sat
        self.x0, self.y0, self.x1, self.y1 = x0, y0, x1, y1
        self.cell, self.nx, self.ny = cell, nx, ny

    def _cell(self, v: Any, origin: float) -> Any:
        return np.floor((v - origin) * self.inv)

    def meets(self, targets: np.ndarray) -> np.ndarray:
        """For each target box (n, 4), whether it may meet one of the boxes (targets with a
        non-finite coordinate are always kept)."""
        targets = np.asarray(targets, dtype=float).reshape(-1, 4)
        return self.meets_xy(targets[:, 0], targets[:, 1], targets[:, 2], targets[:, 3])

    def meets_xy(
        self, xmin: np.ndarray, ymin: np.ndarray, xmax: np.ndarray, ymax: np.ndarray
    ) -> np.ndarray:
        """:meth:`meets` for the targets' four coordinate columns."""
        finite = np.isfinite(xmin) & np.isfinite(ymin) & np.isfinite(xmax) & np.isfinite(ymax)
        if self.empty or not finite.any():
            return ~finite
        x0, y0, x1, y1, nx, ny, sat = (
            self.x0, self.y0, self.x1, self.y1, self.nx, self.ny, self.sat,
        )  # fmt: skip
        if not finite.all():  # kept whatever the grid says: any finite stand-in will do
            xmin, xmax = np.where(finite, xmin, x0), np.where(finite, xmax, x0)
            ymin, ymax = np.where(finite, ymin, y0), np.where(finite, ymax, y0)
        tx0 = np.clip(self._cell(xmin, x0), 0, nx - 1).astype(np.intp)
        tx1 = np.clip(self._cell(xmax, x0), -1, nx - 1).astype(np.intp)
        ty0 = np.clip(self._cell(ymin, y0), 0, ny - 1).astype(np.intp)
        ty1 = np.clip(self._cell(ymax, y0), -1, ny - 1).astype(np.intp)
        inside = (xmax >= x0) & (xmin <= x1) & (ymax >= y0) & (ymin <= y1)
        inside &= (tx1 >= tx0) & (ty1 >= ty0)
        flat = sat.ravel()
        w = nx + 1
        lo, hi = ty0 * w, (ty1 + 1) * w
        count = flat.take(hi + tx1 + 1) - flat.take(lo + tx1 + 1) - flat.take(hi + tx0)
        count += flat.take(lo + tx0)
        return ~finite | (inside & (count > 0))


_BLOCK = 16


def _rows_meeting(table: Any, boxes: np.ndarray | BoxGrid) -> np.ndarray:
    """Which rows' boxes may meet ``boxes`` (:meth:`BoxGrid.meets_xy` of every row).

    The store is Hilbert-sorted, so runs of rows lie close together: the box of each run of
    ``_BLOCK`` rows is tested first, and only the rows of the runs it keeps are tested one by
    one (a run's box holds its rows' boxes, so no row that meets is missed; a scattered batch
    tests a fifth of the rows)."""
    bbox = table.column("bbox").combine_chunks()
    cols = [bbox.field(k).to_numpy(zero_copy_only=False) for k in ("xmin", "ymin", "xmax", "ymax")]
    grid = boxes if isinstance(boxes, BoxGrid) else BoxGrid(boxes)
    n = len(cols[0])
    if n < 8 * _BLOCK:
        return grid.meets_xy(*cols)
    starts = np.arange(0, n, _BLOCK)
    runs = grid.meets_xy(
        np.minimum.reduceat(cols[0], starts),
        np.minimum.reduceat(cols[1], starts),
        np.maximum.reduceat(cols[2], starts),
        np.maximum.reduceat(cols[3], starts),
    )
    if runs.mean() > 0.5:
        return grid.meets_xy(*cols)
    rows = (starts[runs][:, None] + np.arange(_BLOCK)).ravel()
    rows = rows[rows < n]
    out = np.zeros(n, dtype=bool)
    out[rows] = grid.meets_xy(*(c[rows] for c in cols))
    return out


def _to_frame(table: Any, crs: CRS) -> gpd.GeoDataFrame:
    wkb = table.column("geometry").to_numpy(zero_copy_only=False)
    attrs = table.drop_columns([c for c in ("geometry", "bbox") if c in table.column_names])
    frame = attrs.to_pandas()
    n = len(wkb)
    geoms = crsmod.in_halves(shapely.from_wkb, wkb) if n else np.zeros(0, dtype=object)
    frame.index = pd.RangeIndex(n)
    return gpd.GeoDataFrame(
        frame, geometry=gpd.GeoSeries(geoms, index=frame.index, crs=crs), crs=crs
    )


def _bounds(frame: gpd.GeoDataFrame | None) -> np.ndarray:
    if frame is None or len(frame) == 0:
        return np.zeros((0, 4))
    b = shapely.bounds(np.asarray(frame.geometry.values, dtype=object))
    return b[np.all(np.isfinite(b), axis=1)]


def extents_needed(
    parcels: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame | None, rules: Rules
) -> dict[str, np.ndarray]:
    """Per role, the boxes whose features the classification of ``parcels`` can use.

    Parcels meet farmland, 永农, greenhouses, buildings, approvals and townships/villages; the
    buildings on them are measured against farmland, 永农, greenhouses, parks and approvals, and
    the nearest greenhouse within ``max(context_distance_m, caretaker_distance_m)``.
    """
    p = _bounds(parcels)
    b = _bounds(buildings)
    reach = max(rules.greenhouse.context_distance_m, rules.greenhouse.caretaker_distance_m)
    near = b + np.array([-reach, -reach, reach, reach]) if len(b) else b
    pb = np.concatenate([p, b])
    return {
        "buildings": p,
        "farmland": pb,
        "pbf": pb,
        "approvals": pb,
        "parks": b,
        "greenhouses": np.concatenate([p, near]),
        "townships": p,
        "villages": p,
    }


@older_objects_frozen()
def load_batch_inputs(
    workspace: str | Path | ReferenceStore,
    sources: Mapping[str, Any],
    *,
    rules: Rules = DEFAULT_RULES,
    by_extent: bool = True,
    extra_building_boxes: np.ndarray | Callable[[CRS], np.ndarray] | None = None,
) -> Any:
    """The batch's layers: those in ``sources`` (the parcels, and any override), the other roles
    from the registered references (read by extent unless ``by_extent=False``).

    Returns :class:`parcelwatch.pipeline.Inputs`; each registered layer's report names its
    version as ``reference:<version id>`` (that is what a batch records). ``extra_building_boxes``
    (working CRS, or a function of the working CRS returning them) adds places whose buildings
    are needed too (closed problems, for rebounds).
    """
    from parcelwatch.pipeline.inputs import Inputs, load_inputs

    store = workspace if isinstance(workspace, ReferenceStore) else open_references(workspace)
    given = {k: v for k, v in sources.items() if v is not None}
    registered = {r: v for r, v in store.active().items() if r not in given}
    if not registered:
        return load_inputs(given, rules=rules)
    zone = store.zone
    if rules.county.gk_zone and rules.county.gk_zone != zone:
        raise CRSError(
            f"The rules file sets [county].gk_zone = {rules.county.gk_zone}, but the reference layers of {store.workspace} were "
            f"stored in zone {zone}. Register them again after changing the zone (`parcelwatch reference add {store.workspace} ...`), "
            "or set gk_zone back."
        )
    inputs = load_inputs(given, rules=rules, zone=zone)
    _check_against_references(inputs, registered, store)
    parcels = inputs.layers.get("parcels")
    layers = dict(inputs.layers)
    reports = dict(inputs.reports)

    def read(role: str, boxes: np.ndarray | BoxGrid | None) -> gpd.GeoDataFrame:
        return store.read(role, boxes, columns=USED_COLUMNS[role])

    if not by_extent or parcels is None:
        order = list(registered)
        with ThreadPoolExecutor(2) as pool:
            frames = dict(zip(order, pool.map(lambda r: read(r, None), order), strict=True))
    else:
        frames = {}
        if "buildings" in registered:
            boxes = _bounds(parcels)
            extra = (
                extra_building_boxes(inputs.working_crs)
                if callable(extra_building_boxes)
                else extra_building_boxes
            )
            if extra is not None and len(extra):
                boxes = np.concatenate([boxes, extra])
            frames["buildings"] = read("buildings", boxes)
        on_parcels = frames.get("buildings")
        if on_parcels is None and layers.get("buildings") is not None:
            # buildings given on the command line: only those near the parcels widen the reads
            given_b = layers["buildings"]
            near = _boxes_meet(
                shapely.bounds(np.asarray(given_b.geometry.values, dtype=object)), _bounds(parcels)
            )
            on_parcels = given_b[near]
        need = extents_needed(parcels, on_parcels, rules)
        rest = [r for r in registered if r != "buildings"]
        grids: dict[int, BoxGrid] = {}
        for a in need.values():  # roles sharing boxes share a grid, built once
            if id(a) not in grids:
                grids[id(a)] = BoxGrid(a)
        with ThreadPoolExecutor(2) as pool:
            frames.update(
                zip(rest, pool.map(lambda r: read(r, grids[id(need[r])]), rest), strict=True)
            )
    for role, v in registered.items():
        layers[role] = frames[role]
        rep = LayerReport(
            path=REFERENCE_PREFIX + v.version_id,
            layer="",
            role=role,
            feature_count=len(frames[role]),
        )
        rep.notes.append(
            f"registered {v.year} version of {v.source} (sha256 {v.source_sha256[:12]}...)"
        )
        reports[role] = rep
    used = ", ".join(f"{v.version_id} {len(frames[r])}/{v.features}" for r, v in registered.items())
    how = "features read by the batch's extents / stored" if by_extent else "features read / stored"
    notes = [*inputs.notes, f"registered reference layers ({how}): {used}"]
    return Inputs(layers, reports, inputs.working_crs, inputs.zone, notes, list(inputs.notices))


def closed_problem_boxes(snapshot: Any, crs: CRS) -> np.ndarray:
    """Bounding boxes (in ``crs``) of the closed (已销号) problems of a ledger snapshot and of
    their parcels: where a re-check looks for rebuilt buildings."""
    from parcelwatch.ledger.model import Status

    closed = [p for p, r in snapshot.records.items() if r.status is Status.CLOSED]
    if not closed:
        return np.zeros((0, 4))
    geoms = [snapshot.records[p].geometry for p in closed]
    lp = snapshot.parcels
    geoms += list(lp.geometry[lp["problem_id"].isin(closed)].values)
    series = gpd.GeoSeries([g for g in geoms if g is not None], crs=crsmod.STORAGE_CRS)
    return _bounds(gpd.GeoDataFrame(geometry=series.to_crs(crs)))


CONTEXT_ROLES = ("townships", "farmland", "pbf", "greenhouses", "buildings")


def context_layers(
    workspace: Any, *, rules: Rules = DEFAULT_RULES, margin_m: float = 200.0
) -> dict[str, gpd.GeoDataFrame]:
    """The battle map's context layers from the registered references: township boundaries
    whole, farmland, 永农, greenhouses and buildings within ``margin_m`` of the ledger's problems
    (a county's whole 三调 would not fit in a page). Empty when nothing is registered."""
    path = Path(getattr(workspace, "path", workspace))
    store = open_references(path)
    active = store.active()
    roles = [r for r in CONTEXT_ROLES if r in active]
    if not roles:
        return {}
    out: dict[str, gpd.GeoDataFrame] = {}
    if "townships" in roles:
        out["townships"] = store.read("townships", columns=USED_COLUMNS["townships"])
    near = [r for r in roles if r != "townships"]
    if near:
        from parcelwatch.ledger.workspace import opened

        with opened(workspace) as w:
            geoms = [r.geometry for r in w.store.records() if r.geometry is not None]
        series = gpd.GeoSeries(geoms, crs=crsmod.STORAGE_CRS).to_crs(store.working_crs)
        boxes = _bounds(gpd.GeoDataFrame(geometry=series)) + np.array(
            [-margin_m, -margin_m, margin_m, margin_m]
        )
        for r in near:
            out[r] = store.read(r, boxes, columns=USED_COLUMNS[r])
    return out


def _check_against_references(
    inputs: Any, registered: Mapping[str, ReferenceVersion], store: ReferenceStore
) -> None:
    """Refuse a batch that lies nowhere near the references: its declared CRS must be wrong."""
    boxes = [shapely.box(*v.bounds) for v in registered.values() if np.all(np.isfinite(v.bounds))]
    if not boxes:
        return
    cover = shapely.union_all(boxes).buffer(2000)
    for role, g in inputs.layers.items():
        b = _bounds(g)
        if not len(b):
            continue
        box = shapely.box(b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())
        if not box.intersects(cover):
            lon0, lat0, lon1, lat1 = (
                gpd.GeoSeries([box], crs=inputs.working_crs).to_crs(crsmod.STORAGE_CRS).total_bounds
            )
            rep = inputs.reports[role]
            raise CRSError(
                f"{rep.where} [{role}, declared {rep.crs}] lies at {lon0:.3f}-{lon1:.3f}E, {lat0:.3f}-{lat1:.3f}N, away from the "
                f"reference layers registered in {store.workspace}. Its declared CRS is wrong or it belongs to another county: "
                "check it with `parcelwatch inspect FILE` and pass the right one with --crs."
            )


def batch_references(
    workspace: str | Path, sources: Mapping[str, str]
) -> dict[str, ReferenceVersion | str]:
    """The reference versions a batch used, from its recorded ``sources`` (role -> where).

    Roles read from a file given on the command line map to that file's description (a str).
    """
    store = open_references(workspace)
    out: dict[str, ReferenceVersion | str] = {}
    for role, where in sources.items():
        if isinstance(where, str) and where.startswith(REFERENCE_PREFIX):
            vid = where[len(REFERENCE_PREFIX) :]
            v = store.version(vid)
            out[role] = v if v is not None else where
        else:
            out[role] = str(where)
    return out


# ------------------------------------------------------------------------------------------
# Registering


def _source_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file())
    if path.suffix.lower() in (".shp", ".dbf"):
        sidecars = [path.with_suffix(s) for s in (".shp", ".shx", ".dbf", ".prj", ".cpg")]
        return [p for p in sidecars if p.exists()]
    return [path]


def _sha256(files: Sequence[Path]) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    for f in files:
        with f.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
                size += len(chunk)
    return h.hexdigest(), size


@older_objects_frozen()
def add_references(
    workspace: str | Path,
    sources: Mapping[str, Any],
    *,
    year: int,
    now: datetime,
    user: str,
    rules: Rules = DEFAULT_RULES,
    progress: Progress | None = None,
) -> list[AddOutcome]:
    """Load, validate, reproject and store each given reference layer (see the module docstring).

    ``sources`` maps roles (:data:`REFERENCE_ROLES`) to ``file``, ``file:LAYER`` or a
    :class:`parcelwatch.pipeline.LayerSource`. A layer already registered for ``year`` from the
    same file (same sha256, layer, overrides, field aliases and zone) is left as it is; a newer year, or the same
    year from a changed file, replaces the active version. An older year than the active one is
    refused. The catalog is replaced atomically after every file is written: a failure leaves the
    store as it was.
    """
    from parcelwatch.pipeline.inputs import LayerSource, load_inputs

    unknown = [r for r in sources if r not in REFERENCE_ROLES]
    if unknown:
        raise InputError(
            f"{', '.join(unknown)} cannot be registered as reference layers; roles: {', '.join(REFERENCE_ROLES)} (the batch's parcels are given to `check`)."
        )
    specs = {r: LayerSource.parse(s) for r, s in sources.items() if s is not None}
    if not specs:
        raise InputError("Nothing to register: give at least one layer, e.g. --farmland FILE.")
    if not 1900 <= int(year) <= 2200:
        raise InputError(f"--year {year} is not a year; give the data's year, e.g. --year 2025.")
    ws = Path(workspace)
    store = open_references(ws)
    active = store.active()
    at = now.isoformat(timespec="seconds")

    # 1. provenance of each source, and what is already there
    todo: dict[str, tuple[Any, str, str, int]] = {}
    outcomes: dict[str, AddOutcome] = {}
    hashed: dict[Path, tuple[str, int]] = {}  # several layers of one GeoPackage: hash it once
    for role, src in specs.items():
        if not src.path.exists():
            raise InputError(f"{_OPTION[role]} {src.path}: file not found. Check the path.")
        try:
            if src.path.resolve() not in hashed:
                hashed[src.path.resolve()] = _sha256(_source_files(src.path))
            sha, size = hashed[src.path.resolve()]
        except OSError as exc:
            raise InputError(f"Cannot read {src.path}: {exc}.") from exc
        key = hashlib.sha256(
            json.dumps(
                [
                    sha,
                    src.layer,
                    str(src.crs),
                    src.encoding,
                    src.gcj02,
                    {k: list(v) for k, v in rules.aliases(role).items()},
                    rules.county.gk_zone,
                ],
                sort_keys=True,
            ).encode()
        ).hexdigest()
        cur = active.get(role)
        if cur is not None and year < cur.year:
            raise InputError(
                f"{role}: {cur.version_id} ({cur.year}, from {cur.source}) is registered; {year} is older. A newer year replaces "
                "an older one; give the newest data, or the right --year."
            )
        if cur is not None and cur.year == year and cur.load_key == key:
            if _intact(store, cur) and cur.file.endswith(STORED_SUFFIX):
                outcomes[role] = AddOutcome(role, "unchanged", cur)
                continue
            # damaged, missing, or in the older stored format: the same version, written again
            outcomes[role] = AddOutcome(role, "rebuilt", cur)
        todo[role] = (src, sha, key, size)
    if not todo:
        return [outcomes[r] for r in specs]

    # 2. load and validate as every command does, in the workspace's zone
    if rules.county.gk_zone and store.zone is not None and rules.county.gk_zone != store.zone:
        raise CRSError(
            f"The rules file sets [county].gk_zone = {rules.county.gk_zone}, but the reference layers of {ws} are stored in zone "
            f"{store.zone}. Register every layer again in a new workspace, or set gk_zone back."
        )
    inputs = load_inputs({r: t[0] for r, t in todo.items()}, rules=rules, zone=store.zone)
    zone = inputs.zone
    try:
        store.dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReferenceStoreError(
            f"Cannot create {store.dir}: {exc}. Check the workspace folder is writable."
        ) from exc

    # 3. write each layer beside its final name, then swap the catalog in one step
    versions = list(store.versions)
    written: list[Path] = []
    removed: list[Path] = []
    placed: list[Path] = []
    known = {v.file for v in store.versions}
    try:
        for i, (role, (src, sha, key, size)) in enumerate(todo.items()):
            frame = inputs.layers[role]
            rep = inputs.reports[role]
            prior = outcomes.get(role)
            if prior is not None and prior.action == "rebuilt":
                vid = prior.version.version_id
            else:
                n = sum(1 for v in versions if v.role == role and v.year == year) + 1
                vid = f"{role}-{year}-{n}"
            fname = f"{vid}{STORED_SUFFIX}"
            tmp = store.dir / f".{fname}.tmp"
            fsize = _write_layer(frame, tmp)
            fsha, _ = _sha256([tmp])
            written.append(tmp)
            b = frame.total_bounds if len(frame) else np.full(4, np.nan)
            v = ReferenceVersion(
                version_id=vid,
                role=role,
                year=int(year),
                file=fname,
                file_size=fsize,
                file_sha256=fsha,
                source_path=str(src.path.resolve()),
                source_layer=src.layer or rep.layer or "",
                source_size=size,
                source_sha256=sha,
                load_key=key,
                loaded_at=at,
                loaded_by=user,
                features=len(frame),
                repaired=rep.repaired,
                bounds=(float(b[0]), float(b[1]), float(b[2]), float(b[3])),
                declared_crs=rep.crs,
                encoding=rep.encoding.describe() if rep.encoding else "",
                notes=tuple(rep.notes),
                warnings=tuple(rep.warnings),
            )
            cur = active.get(role)
            if prior is not None and prior.action == "rebuilt":
                versions = [v if x.version_id == vid else x for x in versions]
                if prior.version.file != fname:
                    removed.append(store.dir / prior.version.file)
                outcomes[role] = AddOutcome(role, "rebuilt", v)
            else:
                if cur is not None:
                    versions = [
                        replace(x, replaced_by=vid, replaced_at=at)
                        if x.version_id == cur.version_id
                        else x
                        for x in versions
                    ]
                    removed.append(store.dir / cur.file)
                versions.append(v)
                outcomes[role] = AddOutcome(
                    role, "replaced" if cur is not None else "added", v, cur
                )
            if progress is not None:
                progress(i + 1, len(todo))
        for tmp in written:
            final = store.dir / tmp.name[1:-4]
            commit_file(tmp, final)
            placed.append(final)
        store._write_catalog(zone, versions)
    except OSError as exc:
        for tmp in written:
            tmp.unlink(missing_ok=True)
        for final in placed:
            if final.name not in known:  # a new version's file the catalog never named
                final.unlink(missing_ok=True)
        raise ReferenceStoreError(
            f"Cannot write the reference store {store.dir}: {exc}. Nothing was registered; check the disk space and that the folder is writable."
        ) from exc
    # the replaced versions' data go; their provenance stays in the catalog
    for path in removed:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass
    return [outcomes[r] for r in specs]


def _intact(store: ReferenceStore, v: ReferenceVersion) -> bool:
    path = store.dir / v.file
    try:
        return path.stat().st_size == v.file_size and _sha256([path])[0] == v.file_sha256
    except OSError:
        return False


def _write_layer(frame: gpd.GeoDataFrame, path: Path) -> int:
    """The stored layer, Hilbert-sorted with a per-feature ``bbox`` column; returns its size.

    Arrow IPC (uncompressed, record batches of :data:`ROW_GROUP_ROWS`) when ``path`` ends in
    ``.arrow``; GeoParquet 1.1 (bbox covering column, small row groups) for ``.parquet``.
    """
    import pyarrow as pa

    frame = frame.reset_index(drop=True)
    if len(frame):
        order = np.argsort(frame.geometry.hilbert_distance(), kind="stable")
        frame = frame.iloc[order].reset_index(drop=True)
    if path.name.endswith(".parquet") or path.name.endswith(".parquet.tmp"):
        frame.to_parquet(
            path,
            index=False,
            write_covering_bbox=True,
            row_group_size=ROW_GROUP_ROWS,
            schema_version="1.1.0",
        )
        return path.stat().st_size
    geoms = np.asarray(frame.geometry.values, dtype=object)
    b = shapely.bounds(geoms) if len(geoms) else np.zeros((0, 4))
    attrs = pa.Table.from_pandas(
        pd.DataFrame(frame.drop(columns=frame.geometry.name)), preserve_index=False
    )
    crs_json = frame.crs.to_json() if frame.crs is not None else None
    geom_field = pa.field(
        "geometry",
        pa.binary(),
        metadata={
            "ARROW:extension:name": "geoarrow.wkb",
            "ARROW:extension:metadata": json.dumps(
                {"crs": json.loads(crs_json)} if crs_json else {}
            ),
        },
    )
    bbox = pa.StructArray.from_arrays(
        [pa.array(b[:, k], pa.float64()) for k in range(4)],
        names=["xmin", "ymin", "xmax", "ymax"],
    )
    table = attrs.append_column(geom_field, pa.array(shapely.to_wkb(geoms), pa.binary()))
    table = table.append_column("bbox", bbox)
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=ROW_GROUP_ROWS)
    return path.stat().st_size


def describe_versions(store: ReferenceStore, *, all_versions: bool = False) -> list[str]:
    """Text lines for ``reference list``."""
    rows = [v for v in store.versions if all_versions or v.active]
    if not rows:
        return [
            f"No reference layers registered in {store.workspace}. Register them with `parcelwatch reference add {store.workspace} --farmland FILE ... --year YEAR`."
        ]
    out = [
        f"Reference layers of {store.workspace} (stored in EPSG:{store.working_crs.to_epsg()}, 3-degree Gauss-Kruger zone {store.zone}):"
    ]
    for v in sorted(rows, key=lambda v: (REFERENCE_ROLES.index(v.role), v.year, v.loaded_at)):
        state = "in use" if v.active else f"replaced by {v.replaced_by} on {v.replaced_at}"
        out.append(
            f"  {v.role:<12} {v.version_id:<22} {v.year}  {v.features:>9} features ({v.repaired} repaired)  {state}"
        )
        out.append(f"      source {v.source}  {v.source_size:,} bytes  sha256 {v.source_sha256}")
        out.append(
            f"      loaded {v.loaded_at} by {v.loaded_by}; CRS as delivered {v.declared_crs or '-'}; encoding {v.encoding or '-'}"
        )
    return out
