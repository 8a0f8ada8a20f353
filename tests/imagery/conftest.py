"""Synthetic rasters with known values: a field at NDVI 0.8 and a roof at NDVI 0.05.

Field pixel: blue 300, green 600, red 500, NIR 4500 -> NDVI (4500-500)/(4500+500) = 0.8,
brightness (300+600+500)/3 = 466.67. Roof pixel: blue 1800, green 1900, red 1900, NIR 2100 ->
NDVI 200/4000 = 0.05, brightness 1866.67 (reflectance x 10000).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import box

FIELD = (300, 600, 500, 4500)
ROOF = (1800, 1900, 1900, 2100)
SIZE = 100
PIXEL = 2.0
ORIGINS = {
    4549: (386000.0, 4082000.0),
    32650: (653460.0, 4080990.0),
}  # about the same place as the GK origin


def write_raster(
    path: Path,
    *,
    epsg: int = 4549,
    blocks: Sequence[tuple[slice, slice, Sequence[int]]] = (),
    nodata_blocks: Sequence[tuple[slice, slice]] = (),
    dtype: str = "uint16",
    bands: int = 4,
    factor: float = 1.0,
) -> Path:
    """A SIZE x SIZE raster of FIELD pixels with ``blocks`` (rows, cols, values) painted in."""
    data = np.empty((4, SIZE, SIZE), dtype=np.float64)
    data[:] = np.array(FIELD, dtype=np.float64)[:, None, None]
    for rows, cols, values in blocks:
        data[:, rows, cols] = np.array(values, dtype=np.float64)[:, None, None]
    for rows, cols in nodata_blocks:
        data[:, rows, cols] = 0
    data = np.round(data * factor).astype(dtype)
    if bands == 3:
        data = data[[2, 1, 0]]  # RGB order
    x0, y0 = ORIGINS[epsg]
    profile = {
        "driver": "GTiff", "width": SIZE, "height": SIZE, "count": bands, "dtype": dtype, "nodata": 0,
        "crs": f"EPSG:{epsg}", "transform": from_origin(x0, y0, PIXEL, PIXEL),
        "tiled": True, "blockxsize": 32, "blockysize": 32, "compress": "deflate",
    }  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return path


def pixel_box(epsg: int, rows: slice, cols: slice):  # type: ignore[no-untyped-def]
    """The polygon covering exactly the pixels rows x cols of a raster in ``epsg``."""
    x0, y0 = ORIGINS[epsg]
    return box(
        x0 + cols.start * PIXEL,
        y0 - rows.stop * PIXEL,
        x0 + cols.stop * PIXEL,
        y0 - rows.start * PIXEL,
    )


# The parcel: pixels 10-49 x 10-49 (1600 px); the roof block inside it: 20-39 x 20-39 (400 px).
PARCEL = (slice(10, 50), slice(10, 50))
ROOF_BLOCK = (slice(20, 40), slice(20, 40))


@pytest.fixture
def raster(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Factory: ``raster("name", **write_raster kwargs)`` -> path in tmp_path."""

    def make(name: str, **kw):  # type: ignore[no-untyped-def]
        return write_raster(tmp_path / f"{name}.tif", **kw)

    return make
