"""Per-geometry statistics of a before/after image pair, read window by window with rasterio.

For each geometry only the window covering it is read (the geometry is reprojected to the raster
CRS, never the raster; neighbouring windows are read together as one block of at most about
2048 x 2048 pixels, so each compressed tile is decoded about once), pixels whose centre lies inside are selected with
``rasterio.features.geometry_mask`` (``all_touched`` only when a small footprint holds no pixel
centre), and the statistics are vectorised numpy over that window. Memory is bounded by the
largest window, whatever the size of the raster. The after image is read on the before image's
grid (a ``WarpedVRT``, also windowed) when the two grids differ.

Units: NDVI is unitless (``(nir - red) / (nir + red)``); brightness is the mean of the blue, green
and red bands in reflectance × 10000 (8-bit rasters are scaled by 10000/255, i.e. treated as
reflectance = DN / 255); ``*_share`` columns are shares of the geometry's valid pixels (0-1);
``changed_m2`` is the area of the changed pixels in m².
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from parcelwatch.errors import ImageryError

__all__ = [
    "BandSpec",
    "parse_bands",
    "STAT_COLUMNS",
    "NO_IMAGERY",
    "ImagePair",
    "Thresholds",
    "open_pair",
    "pixel_stats",
    "zonal_change",
]

NO_IMAGERY = "无影像"
STAT_COLUMNS: dict[str, str] = {
    "coverage": "share of the geometry's pixels with valid data in both images (0-1)",
    "n_pixels": "pixels inside the geometry (centre inside; all touched for tiny footprints)",
    "ndvi_before": "mean NDVI before (NaN without a NIR band)",
    "ndvi_after": "mean NDVI after",
    "ndvi_change": "ndvi_after - ndvi_before",
    "brightness_before": "mean of blue, green, red before (reflectance x 10000)",
    "brightness_after": "mean of blue, green, red after (reflectance x 10000)",
    "brightness_change": "brightness_after / brightness_before - 1 (relative)",
    "share_ndvi_drop": "share of pixels whose NDVI fell by at least ndvi_change_min",
    "share_ndvi_rise": "share of pixels whose NDVI rose by at least ndvi_change_min",
    "share_brightness_change": "share of pixels whose brightness changed by at least brightness_change_min (relative)",
    "share_changed": "share of pixels changed by either test",
    "changed_m2": "area of the changed pixels, m²",
    "share_new_built": "share of pixels changed AND looking built/bare after (NDVI < ndvi_bare_max, or bright when no NIR)",
    "new_built_m2": "area of those pixels, m²",
    "share_after_vegetated": "share of pixels with NDVI >= ndvi_vegetated after",
    "share_after_unrestored": "share of pixels after that are bare (NDVI < ndvi_bare_max) or bright (>= brightness_built_min)",
    "imagery_status": "有影像 / 部分覆盖 / 无影像",
}


@dataclass(frozen=True)
class BandSpec:
    """1-based band numbers; ``nir`` is ``None`` for an RGB raster."""

    red: int = 3
    green: int = 2
    blue: int = 1
    nir: int | None = 4

    def check(self, count: int, where: str) -> None:
        """Raise when a band number does not exist in a raster of ``count`` bands."""
        bad = [f"{k}={v}" for k, v in self.items() if v is not None and not 1 <= v <= count]
        if bad:
            raise ImageryError(
                f"{where} has {count} band(s); the band spec {', '.join(bad)} names a band it does not have. Pass --bands red=R,green=G,blue=B[,nir=N] with 1-based band numbers."
            )

    def items(self) -> list[tuple[str, int | None]]:
        return [("red", self.red), ("green", self.green), ("blue", self.blue), ("nir", self.nir)]


def parse_bands(spec: str | Mapping[str, int] | BandSpec | None, count: int) -> BandSpec:
    """A band spec from ``"red=3,nir=4"`` (or a mapping) over the defaults for ``count`` bands.

    Defaults: blue=1, green=2, red=3 and nir=4 when the raster has 4 or more bands; with 3 bands
    the raster is RGB (red=1, green=2, blue=3) and has no NIR. ``nir=0`` or ``nir=none`` drops NIR.

    >>> parse_bands("red=3,nir=4", 4)
    BandSpec(red=3, green=2, blue=1, nir=4)
    >>> parse_bands(None, 3)
    BandSpec(red=1, green=2, blue=3, nir=None)
    """
    if isinstance(spec, BandSpec):
        return spec
    if count < 3:
        raise ImageryError(
            f"The raster has {count} band(s); imagery evidence needs at least 3 (red, green, blue; NIR optional). Give a multispectral or RGB GeoTIFF."
        )
    base: dict[str, int | None] = (
        {"red": 3, "green": 2, "blue": 1, "nir": 4}
        if count >= 4
        else {"red": 1, "green": 2, "blue": 3, "nir": None}
    )
    given: dict[str, Any] = {}
    if isinstance(spec, str):
        for part in filter(None, (p.strip() for p in spec.split(","))):
            m = re.fullmatch(r"(red|green|blue|nir)\s*=\s*(\d+|none)", part, flags=re.IGNORECASE)
            if not m:
                raise ImageryError(
                    f"Cannot read the band spec {part!r} in --bands {spec!r}. Write e.g. red=3,green=2,blue=1,nir=4."
                )
            given[m.group(1).lower()] = m.group(2).lower()
    elif spec:
        given = dict(spec)
    for k, v in given.items():
        base[k] = None if v in (None, 0, "0", "none") else int(v)
    if base["red"] is None or base["green"] is None or base["blue"] is None:
        raise ImageryError(f"--bands {spec!r} drops red, green or blue; only nir may be left out.")
    return BandSpec(int(base["red"]), int(base["green"]), int(base["blue"]), base["nir"])  # type: ignore[arg-type]


@dataclass(frozen=True)
class Thresholds:
    """The per-pixel thresholds (from ``rules.imagery``)."""

    ndvi_change_min: float = 0.3
    brightness_change_min: float = 0.25
    ndvi_bare_max: float = 0.25
    ndvi_vegetated: float = 0.4
    brightness_built_min: float = 1500.0

    @classmethod
    def from_rules(cls, section: Any) -> Thresholds:
        return cls(
            section.ndvi_change_min,
            section.brightness_change_min,
            section.ndvi_bare_max,
            section.ndvi_vegetated,
            section.brightness_built_min,
        )


def _scale(dtype: str) -> float:
    return 10000.0 / 255.0 if np.dtype(dtype).itemsize == 1 else 1.0


def pixel_stats(
    before: np.ndarray,
    after: np.ndarray,
    inside: np.ndarray,
    *,
    bands: BandSpec,
    nodata_before: float | None = None,
    nodata_after: float | None = None,
    scale: float = 1.0,
    pixel_m2: float = float("nan"),
    thresholds: Thresholds = Thresholds(),
) -> dict[str, Any]:
    """Statistics of the pixels ``inside`` (bool, rows x cols) of two (bands x rows x cols) arrays.

    Pure and vectorised. A pixel counts when no band used is nodata (or NaN) in either image.
    """
    idx = [bands.blue, bands.green, bands.red] + ([bands.nir] if bands.nir else [])
    b = before[[i - 1 for i in idx]].astype(np.float64) * scale
    a = after[[i - 1 for i in idx]].astype(np.float64) * scale
    valid = inside.copy()
    for arr, nd in ((b, nodata_before), (a, nodata_after)):
        bad = np.isnan(arr).any(axis=0)
        if nd is not None and not (isinstance(nd, float) and math.isnan(nd)):
            bad |= (arr == nd * scale).any(axis=0)
        valid &= ~bad
    total = int(inside.sum())
    n = int(valid.sum())
    out: dict[str, Any] = {k: float("nan") for k in STAT_COLUMNS}
    out["n_pixels"] = total
    out["coverage"] = n / total if total else 0.0
    if n == 0:
        out["imagery_status"] = NO_IMAGERY
        return out
    out["imagery_status"] = "有影像" if n == total else "部分覆盖"
    bv, av = b[:, valid], a[:, valid]  # (bands, n)
    bright_b = bv[:3].mean(axis=0)
    bright_a = av[:3].mean(axis=0)
    th = thresholds
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(bright_b > 0, bright_a / bright_b - 1.0, np.where(bright_a > 0, np.inf, 0.0))
    bright_changed = np.abs(rel) >= th.brightness_change_min
    out["brightness_before"] = float(bright_b.mean())
    out["brightness_after"] = float(bright_a.mean())
    out["brightness_change"] = (
        out["brightness_after"] / out["brightness_before"] - 1.0
        if out["brightness_before"] > 0
        else float("nan")
    )
    out["share_brightness_change"] = float(bright_changed.mean())
    bright_after = bright_a >= th.brightness_built_min
    if bands.nir:
        with np.errstate(divide="ignore", invalid="ignore"):
            nd_b = np.nan_to_num((bv[3] - bv[2]) / (bv[3] + bv[2]), nan=0.0)
            nd_a = np.nan_to_num((av[3] - av[2]) / (av[3] + av[2]), nan=0.0)
        d = nd_a - nd_b
        drop, rise = d <= -th.ndvi_change_min, d >= th.ndvi_change_min
        out["ndvi_before"] = float(nd_b.mean())
        out["ndvi_after"] = float(nd_a.mean())
        out["ndvi_change"] = out["ndvi_after"] - out["ndvi_before"]
        out["share_ndvi_drop"] = float(drop.mean())
        out["share_ndvi_rise"] = float(rise.mean())
        changed = bright_changed | drop | rise
        built_after = nd_a < th.ndvi_bare_max
        out["share_after_vegetated"] = float((nd_a >= th.ndvi_vegetated).mean())
        out["share_after_unrestored"] = float((built_after | bright_after).mean())
    else:
        changed = bright_changed
        built_after = bright_after
        out["share_after_unrestored"] = float(bright_after.mean())
    new_built = changed & built_after
    out["share_changed"] = float(changed.mean())
    out["share_new_built"] = float(new_built.mean())
    out["changed_m2"] = float(changed.sum() * pixel_m2)
    out["new_built_m2"] = float(new_built.sum() * pixel_m2)
    return out


class ImagePair:
    """Two open rasters; the after image is read on the before image's grid. Use :func:`open_pair`."""

    def __init__(
        self,
        before: Path,
        after: Path,
        bands: str | Mapping[str, int] | BandSpec | None,
        *,
        cache_mb: int = 256,
    ) -> None:
        import rasterio
        from rasterio.vrt import WarpedVRT

        self.paths = (Path(before), Path(after))
        self._open: list[Any] = []
        self._env: Any = None
        # bounded block cache (MB): memory stays flat whatever the raster size
        self._env = rasterio.Env(GDAL_CACHEMAX=cache_mb)
        self._env.__enter__()
        try:
            self.before = self._opened(rasterio, self.paths[0])
            after_src = self._opened(rasterio, self.paths[1])
            if after_src.count != self.before.count:
                raise ImageryError(
                    f"{self.paths[1]} has {after_src.count} bands but {self.paths[0]} has {self.before.count}. Give a before/after pair of the same sensor product (same band order)."
                )
            same_grid = (
                after_src.crs == self.before.crs
                and after_src.transform == self.before.transform
                and after_src.shape == self.before.shape
            )
            if same_grid:
                self.after = after_src
            else:
                from rasterio.enums import Resampling

                self.after = WarpedVRT(
                    after_src,
                    crs=self.before.crs,
                    transform=self.before.transform,
                    width=self.before.width,
                    height=self.before.height,
                    resampling=Resampling.bilinear,
                    src_nodata=after_src.nodata,
                    nodata=after_src.nodata if after_src.nodata is not None else 0,
                )
                self._open.append(self.after)
            self.bands = parse_bands(bands, self.before.count)
            self.bands.check(self.before.count, str(self.paths[0]))
        except BaseException:
            self.close()
            raise
        self.scale = _scale(self.before.dtypes[0])
        self.scale_after = _scale(after_src.dtypes[0])

    def _opened(self, rasterio: Any, path: Path) -> Any:
        if not path.is_file():
            raise ImageryError(
                f"Image {path} does not exist. Check the path given to --before / --after."
            )
        from rasterio.errors import RasterioError

        try:
            src = rasterio.open(path)
        except (RasterioError, OSError) as exc:  # RasterioIOError is both
            raise ImageryError(
                f"Cannot open {path} as a raster: {exc}. Give a GeoTIFF (COG or plain)."
            ) from exc
        self._open.append(src)
        if src.crs is None:
            raise ImageryError(
                f"{path} has no CRS. Georeference the image (e.g. gdal_edit.py -a_srs EPSG:4549) and try again."
            )
        return src

    def close(self) -> None:
        for src in reversed(self._open):
            src.close()
        self._open.clear()
        if self._env is not None:
            self._env.__exit__(None, None, None)
            self._env = None

    def __enter__(self) -> ImagePair:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def crs(self) -> Any:
        return self.before.crs

    def pixel_m2(self, x: float, y: float) -> float:
        """Ground area of one pixel at raster coordinates (x, y), m²."""
        t = self.before.transform
        if self.crs.is_projected:
            f = self.crs.linear_units_factor[1]
            return abs(t.a * t.e - t.b * t.d) * f * f
        from pyproj import Geod

        geod = Geod(ellps="WGS84")
        xs = [x, x + t.a, x + t.a, x, x]
        ys = [y, y, y + t.e, y + t.e, y]
        return abs(geod.polygon_area_perimeter(xs, ys)[0])

    def _empty(self) -> dict[str, Any]:
        z = np.zeros((3, 0, 0))
        return pixel_stats(z, z, np.zeros((0, 0), bool), bands=BandSpec(1, 2, 3, None))

    def window_of(self, geom: Any) -> Any:
        """The pixel window (rasterio ``Window``) covering a geometry, or ``None`` off the raster."""
        from rasterio.errors import WindowError
        from rasterio.windows import Window, from_bounds

        src = self.before
        if geom is None or geom.is_empty:
            return None
        win = from_bounds(*geom.bounds, transform=src.transform)
        win = win.round_offsets(op="floor").round_lengths(op="ceil")
        full = Window(0, 0, src.width, src.height)
        try:
            win = win.intersection(full)
        except WindowError:  # no overlap
            return None
        if win.width < 1 or win.height < 1:
            return None
        w = Window(
            int(win.col_off),
            int(win.row_off),
            int(math.ceil(win.width)) + 1,
            int(math.ceil(win.height)) + 1,
        )
        return w.intersection(full)

    def read_window(self, win: Any) -> tuple[np.ndarray, np.ndarray, BandSpec]:
        """Before and after pixels of the bands used in ``win``, and the band spec into them."""
        idx = sorted({i for _, i in self.bands.items() if i})
        pos = {band: k + 1 for k, band in enumerate(idx)}
        local = BandSpec(
            pos[self.bands.red],
            pos[self.bands.green],
            pos[self.bands.blue],
            pos[self.bands.nir] if self.bands.nir else None,
        )
        b = self.before.read(idx, window=win)
        a = self.after.read(idx, window=win)
        if self.scale_after != self.scale:
            a = a.astype(np.float64) * (self.scale_after / self.scale)
        return b, a, local

    def stats_in(
        self,
        geom: Any,
        win: Any,
        block: tuple[Any, np.ndarray, np.ndarray, BandSpec],
        *,
        thresholds: Thresholds,
    ) -> dict[str, Any]:
        """Statistics of a geometry whose window ``win`` lies inside an already read ``block``."""
        from rasterio.features import geometry_mask

        bwin, b, a, local = block
        r0, c0 = int(win.row_off - bwin.row_off), int(win.col_off - bwin.col_off)
        shape = (int(win.height), int(win.width))
        sl = (slice(None), slice(r0, r0 + shape[0]), slice(c0, c0 + shape[1]))
        transform = self.before.window_transform(win)
        inside = ~geometry_mask([geom], out_shape=shape, transform=transform)
        if not inside.any():
            inside = ~geometry_mask([geom], out_shape=shape, transform=transform, all_touched=True)
        cx, cy = transform @ (shape[1] / 2, shape[0] / 2)
        nodata_after = self.after.nodata
        return pixel_stats(
            b[sl],
            a[sl],
            inside,
            bands=local,
            nodata_before=self.before.nodata,
            nodata_after=None
            if nodata_after is None
            else nodata_after * self.scale_after / self.scale,
            scale=self.scale,
            pixel_m2=self.pixel_m2(cx, cy),
            thresholds=thresholds,
        )

    def read(self, geom: Any, *, thresholds: Thresholds) -> dict[str, Any]:
        """Statistics of one geometry given in the raster CRS (see :func:`pixel_stats`)."""
        win = self.window_of(geom)
        if win is None:
            return self._empty()
        return self.stats_in(geom, win, (win, *self.read_window(win)), thresholds=thresholds)


def open_pair(
    before: str | Path,
    after: str | Path,
    *,
    bands: str | Mapping[str, int] | BandSpec | None = None,
    cache_mb: int = 256,
) -> ImagePair:
    """Open a before/after pair (the only function here that takes file names).

    ``cache_mb`` bounds GDAL's block cache while the pair is open (it changes no result).
    """
    return ImagePair(Path(before), Path(after), bands, cache_mb=cache_mb)


def zonal_change(
    pair: ImagePair,
    geometries: gpd.GeoSeries,
    *,
    thresholds: Thresholds = Thresholds(),
    progress: Callable[[int, int], None] | None = None,
    chunk: int = 1024,
) -> pd.DataFrame:
    """One row of statistics (:data:`STAT_COLUMNS`) per geometry, index aligned to ``geometries``.

    The geometries are reprojected to the raster CRS (never the raster). Windows are read in
    blocks of at most about ``2 * chunk`` pixels a side (see the comment in the body), so memory
    stays bounded whatever the raster size. A geometry outside the raster or over nodata only gets
    ``coverage`` 0 and ``imagery_status`` 无影像; an empty or missing geometry likewise.
    """
    if geometries.crs is None:
        from parcelwatch.errors import CRSError

        raise CRSError(
            "The geometries given to zonal_change have no CRS. Set it (GeoSeries.set_crs) before reading imagery."
        )
    geoms = geometries.to_crs(pair.crs) if geometries.crs != pair.crs else geometries
    total = len(geoms)
    # Geometries are grouped by the chunk (chunk x chunk pixels) holding their window's corner;
    # each group's windows are read as one block (their union, at most about 2 chunks a side),
    # so that a compressed tile is decoded about once and small reads do not dominate. Memory is
    # bounded by one block; a geometry whose window is larger than a chunk is read on its own.
    arr = geoms.array
    wins = [pair.window_of(g) for g in arr]
    groups: dict[tuple[int, int], list[int]] = {}
    alone: list[int] = []
    for i, w in enumerate(wins):
        if w is None:
            continue
        if w.width > chunk or w.height > chunk:
            alone.append(i)
        else:
            groups.setdefault((int(w.row_off) // chunk, int(w.col_off) // chunk), []).append(i)
    empty = pair._empty()
    rows: list[dict[str, Any]] = [empty] * total
    done = total - sum(len(v) for v in groups.values()) - len(alone)
    from rasterio.windows import Window

    for key in sorted(groups):
        members = groups[key]
        r0 = min(int(wins[i].row_off) for i in members)
        c0 = min(int(wins[i].col_off) for i in members)
        r1 = max(int(wins[i].row_off + wins[i].height) for i in members)
        c1 = max(int(wins[i].col_off + wins[i].width) for i in members)
        bwin = Window(c0, r0, c1 - c0, r1 - r0)
        block = (bwin, *pair.read_window(bwin))
        for i in members:
            rows[i] = pair.stats_in(arr[i], wins[i], block, thresholds=thresholds)
        done += len(members)
        if progress is not None:
            progress(done, total)
    for i in alone:
        rows[i] = pair.stats_in(
            arr[i], wins[i], (wins[i], *pair.read_window(wins[i])), thresholds=thresholds
        )
        done += 1
        if progress is not None and (done % 100 == 0 or done == total):
            progress(done, total)
    frame = pd.DataFrame(rows, index=geometries.index, columns=list(STAT_COLUMNS))
    frame["n_pixels"] = frame["n_pixels"].astype("int64") if total else frame["n_pixels"]
    return frame
