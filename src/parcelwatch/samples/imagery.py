"""A synthetic before/after pair of 4-band images over the planted greenhouse-park cases.

Both images are rendered from the same synthetic land cover (DLTB patches, greenhouses,
buildings) with :func:`rasterio.features.rasterize`: 2 m pixels, EPSG:4549, bands Blue, Green,
Red, NIR as uint16 surface reflectance x 10000, nodata 0, tiled GeoTIFF with DEFLATE and
predictor 2. Textures are smooth (a per-patch factor and a low-frequency field shared by both
images) plus mild independent pixel noise, so unchanged ground looks the same in both images.

Land-cover spectra (reflectance x 10000, B/G/R/NIR, NDVI):

=================  ============================  =======
cover              B     G     R     NIR         NDVI
=================  ============================  =======
crop               350   700   450   3800        0.79
bare soil          900   1300  1700  2200        0.13
roof / concrete    2000  2100  2200  2500        0.06
steel roof (blue)  2600  2100  1500  1700        0.06
greenhouse film    3500  3700  3800  4500        0.08
water              600   700   500   200         -0.43
=================  ============================  =======

The images differ only at the planted sites (see ``expected.json`` -> ``imagery``): buildings
that are new on the after image, the demolished-and-left-bare site (整改存疑), the demolished and
restored site (crop again), the rebound site (new roof inside a greenhouse) and the new
multi-span greenhouses; the pseudo-change parcel shows the same crop on both.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import rasterio
import shapely
from rasterio.features import rasterize
from rasterio.transform import Affine

from .geodesy import GK_PLAIN

if TYPE_CHECKING:
    from .county import SampleCounty

__all__ = ["PIXEL_SIZE", "SPECTRA", "BAND_NAMES", "write_imagery", "render"]

PIXEL_SIZE = 2.0
# Pixel noise (reflectance x 10000): deliberately mild, so that the small sample stays small.
NOISE_ABS = 1.5
NOISE_REL = 0.0005
BAND_NAMES = ("Blue", "Green", "Red", "NIR")

# cover -> (B, G, R, NIR) reflectance x 10000
SPECTRA: dict[str, tuple[int, int, int, int]] = {
    "none": (0, 0, 0, 0),
    "crop": (350, 700, 450, 3800),
    "bare": (900, 1300, 1700, 2200),
    "roof": (2000, 2100, 2200, 2500),
    "steel": (2600, 2100, 1500, 1700),
    "plastic": (3500, 3700, 3800, 4500),
    "water": (600, 700, 500, 200),
    "forest": (300, 550, 350, 3200),
    "orchard": (400, 650, 500, 3000),
    "grass": (500, 800, 700, 2600),
    "village": (1200, 1300, 1400, 2000),
    "road": (1100, 1150, 1200, 1400),
    "dirt": (1000, 1250, 1500, 1900),
    "facility": (1100, 1400, 1650, 2100),
    "concrete": (1500, 1550, 1600, 1800),
}
_COVERS = list(SPECTRA)
_COVER_OF_DLBM = {
    "0101": "crop", "0102": "crop", "0103": "crop", "0201": "orchard", "0301": "forest", "0307": "forest",
    "0404": "grass", "1203": "grass", "0601": "concrete", "0702": "village", "1003": "road", "1006": "dirt",
    "1101": "water", "1104": "water", "1107": "water", "1202": "facility",
}  # fmt: skip
_TEXTURE = {
    "crop": 0.06,
    "forest": 0.05,
    "orchard": 0.05,
    "grass": 0.06,
    "bare": 0.05,
    "village": 0.05,
    "roof": 0.04,
    "steel": 0.03,
    "plastic": 0.02,
}


def _transform(box: tuple[float, float, float, float]) -> Affine:
    """North-up transform of the image box with square PIXEL_SIZE pixels."""
    return Affine(PIXEL_SIZE, 0.0, box[0], 0.0, -PIXEL_SIZE, box[3])


def _smooth_field(shape: tuple[int, int], rng: np.random.Generator, cells: int = 24) -> np.ndarray:
    """Low-frequency noise in [-1, 1]: a coarse random grid, bilinearly upsampled."""
    h, w = shape
    gh, gw = max(2, h * cells // max(h, w)), max(2, cells)
    coarse = rng.uniform(-1, 1, (gh, gw))
    ys = np.linspace(0, gh - 1, h)
    xs = np.linspace(0, gw - 1, w)
    rows = np.array([np.interp(xs, np.arange(gw), coarse[k]) for k in range(gh)])
    return np.array([np.interp(ys, np.arange(gh), rows[:, k]) for k in range(w)]).T


def render(
    objects: list[tuple[shapely.Geometry, str, float]],
    box: tuple[float, float, float, float],
    low: np.ndarray,
    rng: np.random.Generator,
    gain: float = 1.0,
) -> np.ndarray:
    """Render (geometry, cover, texture factor) objects, drawn in order, into a (4, h, w) array."""
    x0, y0, x1, y1 = box
    w, h = int(round((x1 - x0) / PIXEL_SIZE)), int(round((y1 - y0) / PIXEL_SIZE))
    transform = _transform(box)
    ids = rasterize(
        ((g, k + 1) for k, (g, _, _) in enumerate(objects)),
        out_shape=(h, w),
        transform=transform,
        fill=0,
        dtype="int32",
    )
    cover_of = np.array([0] + [_COVERS.index(c) for _, c, _ in objects])
    factor_of = np.array([0.0] + [f for _, _, f in objects])
    amp_of = np.array([0.0] + [_TEXTURE.get(c, 0.03) for _, c, _ in objects])
    spectra = np.array([SPECTRA[c] for c in _COVERS], dtype=float)  # (n_cover, 4)
    cover = cover_of[ids]
    mult = 1.0 + amp_of[ids] * factor_of[ids] + 0.03 * low
    out = spectra[cover].transpose(2, 0, 1) * mult[None] * gain
    out += rng.normal(0.0, 1.0, out.shape) * (NOISE_ABS + NOISE_REL * out)
    out = np.clip(np.round(out), 1, 10000)
    out[:, cover == 0] = 0
    return out.astype(np.uint16)


def _write(path: Path, data: np.ndarray, box: tuple[float, float, float, float], date: str) -> None:
    profile = {
        "driver": "GTiff",
        "dtype": "uint16",
        "count": 4,
        "width": data.shape[2],
        "height": data.shape[1],
        "crs": GK_PLAIN,
        "transform": _transform(box),
        "nodata": 0,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "deflate",
        "predictor": 2,
        "zlevel": 9,
        "interleave": "pixel",
    }
    if path.exists():
        path.unlink()
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        for k, name in enumerate(BAND_NAMES, start=1):
            dst.set_band_description(k, name)
        dst.update_tags(
            ACQUISITION_DATE=date,
            SENSOR="synthetic 4-band (parcelwatch sample county)",
            SCALE="reflectance x 10000",
        )


def write_imagery(county: SampleCounty, before_path: Path, after_path: Path) -> None:
    """Render and write before.tif and after.tif over ``county.imagery_box``."""
    rng = np.random.default_rng([county.seed, 4])
    box = county.imagery_box
    win = shapely.box(*box)
    dltb = county.dltb[county.dltb.intersects(win)]
    cover = np.array([_COVER_OF_DLBM.get(c, "grass") for c in dltb["DLBM"]], dtype=object)
    bare_fields = (dltb["DLBM"].to_numpy() == "0103") & (rng.random(len(dltb)) < 0.25)
    cover[bare_fields] = "bare"
    patch_factor = rng.normal(0, 1, len(dltb))
    base = list(zip(dltb.geometry.values, cover.tolist(), patch_factor.tolist(), strict=True))

    gh = county.greenhouses[county.greenhouses.intersects(win)]
    gh_factor = rng.normal(0, 1, len(gh))
    hidden_gh = set(county.greenhouses_before_hidden)
    b1 = county.buildings1[county.buildings1.intersects(win)]
    b2 = county.buildings2[county.buildings2.intersects(win)]
    every = {
        **dict(zip(b1["JZBH"], b1.geometry.values, strict=True)),
        **dict(zip(b2["JZBH"], b2.geometry.values, strict=True)),
    }
    uses = {
        **dict(zip(b1["JZBH"], b1["YT"], strict=True)),
        **dict(zip(b2["JZBH"], b2["YT"], strict=True)),
    }
    b_factor = {
        k: float(v) for k, v in zip(sorted(every), rng.normal(0, 1, len(every)), strict=True)
    }

    def roof(jzbh: str) -> str:
        return "steel" if uses.get(jzbh) in ("厂房", "仓储") else "roof"

    hidden_b = set(county.hidden_before)
    before_b = [k for k in b1["JZBH"] if k not in hidden_b]
    after_b = list(b2["JZBH"])
    gh_before = [
        (g, "plastic", f)
        for k, g, f in zip(gh["大棚编号"], gh.geometry.values, gh_factor, strict=True)
        if k not in hidden_gh
    ]
    gh_after = [(g, "plastic", f) for g, f in zip(gh.geometry.values, gh_factor, strict=True)]
    objs_before = (
        base
        + [(g, "bare", 0.0) for g in county.bare_before]
        + gh_before
        + [(every[k], roof(k), b_factor[k]) for k in before_b]
    )
    objs_after = (
        base
        + gh_after
        + [(every[k], roof(k), b_factor[k]) for k in after_b]
        + [(g, "bare", 0.0) for g in county.bare_after]
    )
    h = int(round((box[3] - box[1]) / PIXEL_SIZE))
    w = int(round((box[2] - box[0]) / PIXEL_SIZE))
    low = _smooth_field((h, w), rng)
    before = render(objs_before, box, low, np.random.default_rng([county.seed, 5]))
    after = render(objs_after, box, low, np.random.default_rng([county.seed, 6]), gain=1.015)
    _write(before_path, before, box, "2025-10-15")
    _write(after_path, after, box, "2026-06-18")
