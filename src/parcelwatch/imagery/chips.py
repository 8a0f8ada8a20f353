"""Before/after image chips (PNG): a small true-colour picture of each problem with its outline.

Each chip covers the parcel's bounding box plus a margin, is read from the overview-friendly
decimated window (``out_shape``, so memory stays small even for a large parcel), stretched 2-98 %
per band (the same stretch for before and after, so brightness changes stay visible) and has
the parcel outline burned in yellow. Chips live in ``WS/imagery/chips/<problem_id>_{before,after}.png``.
"""

from __future__ import annotations

import base64
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from parcelwatch.atomic import write_bytes_atomic
from parcelwatch.errors import OutputError
from parcelwatch.imagery.stats import ImagePair

__all__ = [
    "CHIP_DIR",
    "chip_paths",
    "render_chip_pair",
    "write_chips",
    "chip_data_uris",
    "png_bytes",
]

CHIP_DIR = Path("imagery") / "chips"
OUTLINE_RGB = (255, 230, 0)


def chip_paths(ws_path: str | Path, problem_id: str) -> tuple[Path, Path]:
    """Where the before and after chips of a problem are (or would be) stored."""
    d = Path(ws_path) / CHIP_DIR
    return d / f"{problem_id}_before.png", d / f"{problem_id}_after.png"


def _stretch(bands: list[np.ndarray], valid: np.ndarray) -> np.ndarray:
    """(3, rows, cols*) uint8 from float bands, 2-98 % per band over all valid pixels given."""
    out = []
    for arr in bands:
        v = arr[valid]
        lo, hi = np.percentile(v, [2, 98]) if v.size else (0.0, 1.0)
        scaled = np.clip((arr - lo) / max(float(hi - lo), 1e-9) * 255.0, 0, 255)
        out.append(np.where(valid, scaled, 0).astype(np.uint8))
    return np.stack(out)


def _read_resized(ds: Any, bands: list[int], win: Any, shape: tuple[int, int]) -> np.ma.MaskedArray:
    """Read a window resized to ``shape``: GDAL decimates large windows; small windows are read
    at full resolution and enlarged by nearest neighbour in numpy (GDAL's upsampling path was
    measured at seconds per chip here)."""
    h, w = int(win.height), int(win.width)
    if h > shape[0] or w > shape[1]:
        return ds.read(bands, window=win, out_shape=(len(bands), *shape), masked=True)
    data = ds.read(bands, window=win, masked=True)
    rows = np.minimum((np.arange(shape[0]) + 0.5) * h / shape[0], h - 1).astype(int)
    cols = np.minimum((np.arange(shape[1]) + 0.5) * w / shape[1], w - 1).astype(int)
    return data[:, rows][:, :, cols]


def render_chip_pair(
    pair: ImagePair, geom: Any, *, size: int = 256, margin: float = 0.25
) -> tuple[np.ndarray, np.ndarray] | None:
    """Two (3, h, w) uint8 RGB arrays for a geometry in the raster CRS, or ``None`` without imagery."""
    from rasterio.errors import WindowError
    from rasterio.features import rasterize
    from rasterio.transform import from_bounds as transform_from_bounds
    from rasterio.windows import Window, from_bounds

    src = pair.before
    if geom is None or geom.is_empty:
        return None
    x0, y0, x1, y1 = geom.bounds
    t = src.transform
    pad = max((x1 - x0), (y1 - y0)) * margin + 8 * abs(t.a)
    # a square box, so the chip is not distorted
    cx, cy, half = (x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0) / 2 + pad
    box = (cx - half, cy - half, cx + half, cy + half)
    win = from_bounds(*box, transform=t).round_offsets(op="floor").round_lengths(op="ceil")
    full = Window(0, 0, src.width, src.height)
    try:
        inter = win.intersection(full)
    except WindowError:  # the box is off the raster
        return None
    out_side = int(size)  # small parcels are upsampled (nearest), large ones decimated
    out_shape = (out_side, out_side)
    # the part of the box on the raster, read decimated/upsampled into its place on the canvas
    k = out_side / max(win.width, win.height)
    dr, dc = (
        int(round((inter.row_off - win.row_off) * k)),
        int(round((inter.col_off - win.col_off) * k)),
    )
    dh = max(1, min(out_side - dr, int(round(inter.height * k))))
    dw = max(1, min(out_side - dc, int(round(inter.width * k))))
    rgb = [pair.bands.red, pair.bands.green, pair.bands.blue]
    arrays = []
    for ds, scale in ((src, pair.scale), (pair.after, pair.scale_after)):
        data = _read_resized(ds, rgb, inter, (dh, dw))
        canvas = np.full((3, *out_shape), np.nan)
        canvas[:, dr : dr + dh, dc : dc + dw] = (
            np.ma.filled(data.astype(np.float64), np.nan) * scale
        )
        arrays.append(canvas)
    valid_b = ~np.isnan(arrays[0]).any(axis=0) & (arrays[0] > 0).any(axis=0)
    valid_a = ~np.isnan(arrays[1]).any(axis=0) & (arrays[1] > 0).any(axis=0)
    if not (valid_b.any() or valid_a.any()):
        return None
    # one stretch per band over both images side by side
    joint = [
        np.concatenate([np.nan_to_num(arrays[0][i]), np.nan_to_num(arrays[1][i])], axis=1)
        for i in range(3)
    ]
    stretched = _stretch(joint, np.concatenate([valid_b, valid_a], axis=1))
    before_rgb, after_rgb = stretched[:, :, :out_side], stretched[:, :, out_side:]
    bounds = src.window_bounds(win)
    chip_t = transform_from_bounds(*bounds, out_side, out_side)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        line = rasterize(
            [(geom.boundary, 1)],
            out_shape=out_shape,
            transform=chip_t,
            all_touched=True,
            dtype="uint8",
        ).astype(bool)
    for img in (before_rgb, after_rgb):
        for i, c in enumerate(OUTLINE_RGB):
            img[i][line] = c
    return before_rgb, after_rgb


def png_bytes(rgb: np.ndarray) -> bytes:
    """Encode a (3, h, w) uint8 array as PNG (GDAL's PNG driver; no extra dependency)."""
    from rasterio.errors import NotGeoreferencedWarning
    from rasterio.io import MemoryFile

    _, h, w = rgb.shape
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with MemoryFile() as mem:
            with mem.open(driver="PNG", width=w, height=h, count=3, dtype="uint8") as png:
                png.write(rgb)
            return bytes(mem.read())


def write_chips(
    pair: ImagePair, items: Iterable[tuple[str, Any]], ws_path: str | Path, *, size: int = 256
) -> dict[str, tuple[Path, Path]]:
    """Write the chips of ``(problem_id, geometry in the raster CRS)`` items; returns their paths.

    Problems without imagery get no chips (and are left out of the result).
    """
    out: dict[str, tuple[Path, Path]] = {}
    d = Path(ws_path) / CHIP_DIR
    try:
        d.mkdir(parents=True, exist_ok=True)
        for pid, geom in items:
            rendered = render_chip_pair(pair, geom, size=size)
            if rendered is None:
                continue
            paths = chip_paths(ws_path, pid)
            for rgb, p in zip(rendered, paths, strict=True):
                write_bytes_atomic(p, png_bytes(rgb))
            out[pid] = paths
    except OSError as exc:
        raise OutputError(
            f"Cannot write image chips to {d}: {exc}. Check the workspace folder is writable."
        ) from exc
    return out


def _uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def chip_data_uris(
    ws_path: str | Path, problem_ids: Iterable[str] | None = None
) -> dict[str, tuple[str, str]]:
    """``problem_id -> (before, after)`` PNG data URIs of the chips stored in a workspace."""
    d = Path(ws_path) / CHIP_DIR
    if not d.is_dir():
        return {}
    if problem_ids is None:
        problem_ids = sorted(p.name[: -len("_before.png")] for p in d.glob("*_before.png"))
    out = {}
    for pid in problem_ids:
        b, a = chip_paths(ws_path, pid)
        if b.is_file() and a.is_file():
            out[pid] = (_uri(b), _uri(a))
    return out
