"""Windowed statistics on synthetic rasters with known answers (see conftest for the pixel values)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest

from parcelwatch.errors import CRSError, ImageryError
from parcelwatch.imagery.stats import BandSpec, open_pair, parse_bands, pixel_stats, zonal_change
from tests.imagery.conftest import PARCEL, ROOF, ROOF_BLOCK, pixel_box

FIELD_NDVI, ROOF_NDVI = 0.8, 0.05
FIELD_B, ROOF_B = 1400 / 3, 5600 / 3


def _parcel(epsg: int, to: int | None = 4490) -> gpd.GeoSeries:
    s = gpd.GeoSeries([pixel_box(epsg, *PARCEL)], index=["P1"], crs=epsg)
    return s.to_crs(to) if to else s


@pytest.mark.parametrize("epsg", [4549, 32650])
def test_field_to_roof_statistics(raster, epsg: int) -> None:
    """Parcel 1600 px of field; 400 px (25 %) become roof.

    NDVI before 0.8; after (1200 x 0.8 + 400 x 0.05) / 1600 = 0.6125; brightness before 466.667,
    after (1200 x 466.667 + 400 x 1866.667) / 1600 = 816.667; changed 400 px x 4 m² = 1600 m².
    The ledger geometry is in EPSG:4490, the raster in ``epsg`` (GK zone 40 or UTM 50N).
    """
    before = raster("b", epsg=epsg)
    after = raster("a", epsg=epsg, blocks=[(*ROOF_BLOCK, ROOF)])
    with open_pair(before, after) as pair:
        s = zonal_change(pair, _parcel(epsg)).loc["P1"]
    assert s["n_pixels"] == 1600 and s["coverage"] == 1.0 and s["imagery_status"] == "有影像"
    assert s["ndvi_before"] == pytest.approx(FIELD_NDVI, abs=1e-6)
    assert s["ndvi_after"] == pytest.approx(0.75 * FIELD_NDVI + 0.25 * ROOF_NDVI, abs=1e-6)
    assert s["ndvi_change"] == pytest.approx(0.6125 - 0.8, abs=1e-6)
    assert s["brightness_before"] == pytest.approx(FIELD_B, abs=1e-6)
    assert s["brightness_after"] == pytest.approx(0.75 * FIELD_B + 0.25 * ROOF_B, abs=1e-6)
    assert s["brightness_change"] == pytest.approx(
        (0.75 * FIELD_B + 0.25 * ROOF_B) / FIELD_B - 1, abs=1e-6
    )
    for k in ("share_ndvi_drop", "share_brightness_change", "share_changed", "share_new_built"):
        assert s[k] == pytest.approx(0.25, abs=1e-6), k
    assert s["share_ndvi_rise"] == 0.0
    assert s["changed_m2"] == pytest.approx(1600.0, abs=1e-6)
    assert s["share_after_vegetated"] == pytest.approx(0.75, abs=1e-6)
    assert s["share_after_unrestored"] == pytest.approx(0.25, abs=1e-6)


def test_roof_footprint_alone(raster) -> None:
    """A footprint exactly on the roof block: NDVI 0.8 -> 0.05, every pixel changed."""
    before = raster("b")
    after = raster("a", blocks=[(*ROOF_BLOCK, ROOF)])
    fp = gpd.GeoSeries([pixel_box(4549, *ROOF_BLOCK)], crs=4549).to_crs(4490)
    with open_pair(before, after) as pair:
        s = zonal_change(pair, fp).iloc[0]
    assert s["ndvi_after"] == pytest.approx(ROOF_NDVI, abs=1e-6)
    assert s["brightness_after"] == pytest.approx(ROOF_B, abs=1e-6)
    assert s["share_changed"] == 1.0 and s["share_after_unrestored"] == 1.0


def test_after_image_in_another_crs(raster) -> None:
    """Before in GK zone 40, after (all field) in UTM 50N over the same place: the after image is
    read on the before grid through a WarpedVRT, so a uniform field stays exactly NDVI 0.8."""
    before = raster("b", epsg=4549)
    after = raster("a", epsg=32650)
    with open_pair(before, after) as pair:
        s = zonal_change(pair, _parcel(4549)).loc["P1"]
    assert s["coverage"] == 1.0
    assert s["ndvi_after"] == pytest.approx(FIELD_NDVI, abs=1e-6)
    assert s["brightness_after"] == pytest.approx(FIELD_B, abs=1e-3)
    assert s["share_changed"] == 0.0


def test_outside_and_nodata_give_no_imagery(raster) -> None:
    """A parcel off the raster and a parcel over nodata: coverage 0, 无影像, never an exception."""
    before = raster("b", nodata_blocks=[PARCEL])
    after = raster("a")
    far = gpd.GeoSeries([pixel_box(4549, slice(500, 510), slice(500, 510))], crs=4549)
    geoms = gpd.GeoSeries(
        [*far, *_parcel(4549, None), None], index=["off", "nodata", "null"], crs=4549
    )
    with open_pair(before, after) as pair:
        s = zonal_change(pair, geoms)
    assert (s["coverage"] == 0).all()
    assert (s["imagery_status"] == "无影像").all()
    assert s["ndvi_before"].isna().all()


def test_partial_nodata_is_excluded(raster) -> None:
    """Half the parcel nodata in the after image: coverage 0.5, means over valid pixels only."""
    before = raster("b")
    after = raster("a", nodata_blocks=[(slice(10, 30), slice(10, 50))])
    with open_pair(before, after) as pair:
        s = zonal_change(pair, _parcel(4549)).loc["P1"]
    assert s["coverage"] == pytest.approx(0.5)
    assert s["imagery_status"] == "部分覆盖"
    assert s["ndvi_after"] == pytest.approx(FIELD_NDVI, abs=1e-6)


def test_eight_bit_rgb_without_nir(raster) -> None:
    """3-band 8-bit RGB: NDVI is NaN; brightness in reflectance x 10000 (DN x 10000/255)."""
    f = 255 / 10000
    before = raster("b", dtype="uint8", bands=3, factor=f)
    after = raster("a", dtype="uint8", bands=3, factor=f, blocks=[(*ROOF_BLOCK, ROOF)])
    with open_pair(before, after) as pair:
        assert pair.bands == BandSpec(red=1, green=2, blue=3, nir=None)
        s = zonal_change(pair, _parcel(4549)).loc["P1"]
    assert np.isnan(s["ndvi_before"]) and np.isnan(s["share_ndvi_drop"])
    dn = np.round(np.array([300, 600, 500]) * f)  # what the 8-bit file holds
    assert s["brightness_before"] == pytest.approx(dn.mean() * 10000 / 255, abs=1e-6)
    assert s["share_brightness_change"] == pytest.approx(0.25, abs=1e-6)
    assert s["share_new_built"] == pytest.approx(0.25, abs=1e-6)


def test_pixel_stats_is_pure_and_vectorised() -> None:
    """Two pixels: field and roof, before = after: nothing changed."""
    arr = np.array(list(zip((300, 600, 500, 4500), ROOF, strict=True)), dtype=np.uint16).reshape(
        4, 1, 2
    )
    s = pixel_stats(arr, arr.copy(), np.ones((1, 2), bool), bands=BandSpec(), pixel_m2=4.0)
    assert s["ndvi_before"] == pytest.approx((0.8 + 0.05) / 2, abs=1e-9)
    assert s["share_changed"] == 0.0 and s["changed_m2"] == 0.0


def test_band_spec() -> None:
    assert parse_bands("red=3,nir=4", 4) == BandSpec(3, 2, 1, 4)
    assert parse_bands("nir=none", 4).nir is None
    assert parse_bands({"red": 1, "blue": 3}, 3) == BandSpec(1, 2, 3, None)
    with pytest.raises(ImageryError, match="red=3,green=2"):
        parse_bands("rouge=3", 4)
    with pytest.raises(ImageryError, match="at least 3"):
        parse_bands(None, 1)


def test_errors_name_the_file_and_fix(raster, tmp_path) -> None:
    before = raster("b")
    with pytest.raises(ImageryError, match="missing.tif does not exist"):
        open_pair(before, tmp_path / "missing.tif")
    with pytest.raises(ImageryError, match="--bands"):
        open_pair(before, before, bands="nir=9")
    (tmp_path / "junk.tif").write_text("not a tiff")
    with pytest.raises(ImageryError, match="Cannot open .*junk.tif"):
        open_pair(before, tmp_path / "junk.tif")
    with open_pair(before, before) as pair, pytest.raises(CRSError, match="set_crs"):
        zonal_change(pair, gpd.GeoSeries([pixel_box(4549, *PARCEL)]))
