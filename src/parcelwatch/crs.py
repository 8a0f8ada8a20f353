"""Coordinate reference systems of Chinese land data, the working Gauss-Kruger zone, and areas.

* Storage CRS is CGCS2000 geographic, EPSG:4490 (DOMAIN.md §5.1).
* Overlay runs in one 3-degree Gauss-Kruger zone per county: zone ``n`` has central meridian
  ``3n`` degrees; EPSG ``4513 + (n - 25)`` carries the zone number in front of X (false easting
  ``n * 10**6 + 500000``), EPSG ``4534 + (n - 25)`` does not (false easting 500000).
* Every area reported is ellipsoidal on the CGCS2000 ellipsoid: for Gauss-Kruger data the planar
  area divided by the projection's exact areal scale at the centroid, otherwise in a Lambert
  azimuthal *equal-area* projection of the ellipsoid centred on the data; both vectorised. Tests
  check them against :class:`pyproj.Geod` (Karney's geodesic
  polygon area) to 1e-6 relative (or 0.01 m², the display precision) anywhere in China.
* 高德/腾讯 data are in GCJ-02, offset by hundreds of metres; :func:`gcj02_to_wgs84` removes it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import pyproj
import shapely
from pyproj import CRS, Transformer

from parcelwatch.errors import CRSError

__all__ = [
    "STORAGE_CRS",
    "gk3_epsg",
    "gk3_zone_from_lon",
    "gk3_zone_of_crs",
    "working_crs",
    "suggest_crs",
    "check_coordinates",
    "ellipsoidal_area_m2",
    "gcj02_to_wgs84",
    "wgs84_to_gcj02",
    "is_cgcs2000_or_wgs84",
]

STORAGE_CRS = CRS.from_epsg(4490)
_GEOD = pyproj.Geod(ellps="GRS80")  # CGCS2000 ellipsoid: a = 6378137, 1/f = 298.257222101

# China's extent with a margin (lon, lat), used for plausibility checks.
_CHINA_LON = (70.0, 140.0)
_CHINA_LAT = (0.0, 56.0)


def gk3_epsg(zone: int, *, prefixed: bool) -> int:
    """EPSG code of CGCS2000 3-degree Gauss-Kruger zone ``zone`` (25..45).

    >>> gk3_epsg(35, prefixed=True), gk3_epsg(40, prefixed=False)
    (4523, 4549)
    """
    if not 25 <= zone <= 45:
        raise CRSError(f"3-degree Gauss-Kruger zone {zone} is outside China's zones 25-45.")
    return (4513 if prefixed else 4534) + zone - 25


def gk3_zone_from_lon(lon: float) -> int:
    """The 3-degree zone whose central meridian is nearest ``lon`` (n = floor((lon + 1.5) / 3)).

    >>> gk3_zone_from_lon(106.14), gk3_zone_from_lon(118.75)
    (35, 40)
    """
    return int(math.floor((lon + 1.5) / 3.0))


def gk3_zone_of_crs(crs: CRS | None) -> int | None:
    """The zone number if ``crs`` is a CGCS2000 3-degree Gauss-Kruger CRS, else None."""
    if crs is None or not crs.is_projected:
        return None
    epsg = crs.to_epsg(min_confidence=70)
    if epsg is not None and 4513 <= epsg <= 4533:
        return epsg - 4513 + 25
    if epsg is not None and 4534 <= epsg <= 4554:
        return epsg - 4534 + 25
    # A custom transverse Mercator with a central meridian that is a multiple of 3 degrees.
    op = crs.coordinate_operation
    if op is None or "transverse mercator" not in op.method_name.lower():
        return None
    lon_0 = next(
        (p.value for p in op.params if "longitude of natural origin" in p.name.lower()), None
    )
    if lon_0 is not None and float(lon_0) % 3 == 0:
        return int(float(lon_0) // 3)
    return None


def is_cgcs2000_or_wgs84(crs: CRS) -> bool:
    """True for CRSs whose datum is CGCS2000 or WGS 84 (equal to well under a metre here)."""
    geodetic = crs.geodetic_crs
    datum = geodetic.datum.name if geodetic is not None and geodetic.datum is not None else ""
    return bool(re.search(r"China 2000|CGCS|World Geodetic System 1984|WGS.?84", datum))


def working_crs(zone: int) -> CRS:
    """The metric CRS overlay runs in: the zone's GK projection without the zone prefix."""
    return CRS.from_epsg(gk3_epsg(zone, prefixed=False))


def _to_lonlat_bounds(bounds: tuple[float, float, float, float], crs: CRS) -> tuple[float, ...]:
    tr = _transformer(crs.to_wkt(), STORAGE_CRS.to_wkt())
    return tuple(tr.transform_bounds(*bounds))


def suggest_crs(bounds: tuple[float, float, float, float]) -> str:
    """Suggest a CRS from raw coordinates (used when a file has none, or a wrong one).

    >>> suggest_crs((35607726, 3274305, 35612632, 3277481)).split(";")[0]
    'EPSG:4523 (CGCS2000 3-degree Gauss-Kruger zone 35, zone number in front of X)'
    """
    minx, miny, maxx, maxy = bounds
    if (
        _CHINA_LON[0] <= minx <= maxx <= _CHINA_LON[1]
        and _CHINA_LAT[0] <= miny <= maxy <= _CHINA_LAT[1]
    ):
        zone = gk3_zone_from_lon((minx + maxx) / 2)
        return (
            "EPSG:4490 (CGCS2000 longitude/latitude); the coordinates are degrees in China. "
            f"Its 3-degree Gauss-Kruger zone is {zone} (EPSG:{gk3_epsg(zone, prefixed=False)})"
        )
    if minx >= 1e7 and 1e6 <= miny <= maxy <= 6.5e6:
        zone = int(minx // 1e6)
        if 25 <= zone <= 45 and int(maxx // 1e6) == zone:
            return (
                f"EPSG:{gk3_epsg(zone, prefixed=True)} (CGCS2000 3-degree Gauss-Kruger zone {zone}, "
                "zone number in front of X); if the data are in the older Xian 1980 or Beijing 1954 "
                "datum, use that datum's zone CRS instead"
            )
        if 13 <= zone <= 23 and int(maxx // 1e6) == zone:
            return (
                f"EPSG:{4491 + zone - 13} (CGCS2000 6-degree Gauss-Kruger zone {zone}, zone number "
                "in front of X)"
            )
    if 1e5 <= minx <= maxx <= 9e5 and 1e6 <= miny <= maxy <= 6.5e6:
        return (
            "a CGCS2000 3-degree Gauss-Kruger CRS without zone prefix, EPSG:4534-4554: pick the "
            "zone whose central meridian (3n degrees E) is nearest your county, e.g. EPSG:4548 for "
            "117E, EPSG:4549 for 120E"
        )
    return (
        "none recognisable: the coordinates are neither CGCS2000 longitude/latitude in China nor "
        "Gauss-Kruger metres; check the data's source"
    )


def _num(v: float) -> str:
    """A coordinate for a message: whole metres/degrees, scientific notation when huge."""
    return f"{v:.0f}" if abs(v) < 1e10 else f"{v:.3e}"


def check_coordinates(bounds: tuple[float, float, float, float], crs: CRS, *, where: str) -> None:
    """Refuse a declared CRS that the coordinates contradict (e.g. GK metres labelled 4490)."""
    minx, miny, maxx, maxy = bounds
    if any(not math.isfinite(v) for v in bounds):
        return
    problem = ""
    if crs.is_geographic:
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            problem = (
                f"its CRS {crs.name} is longitude/latitude but the coordinates reach "
                f"x={_num(maxx)}, y={_num(maxy)}"
            )
    else:
        zone = gk3_zone_of_crs(crs)
        epsg = crs.to_epsg(min_confidence=70) or 0
        if zone is not None and 4513 <= epsg <= 4533 and minx < 1e7:
            problem = f"its CRS EPSG:{epsg} expects the zone number {zone} in front of X, but x={_num(minx)}"
        elif zone is not None and 4534 <= epsg <= 4554 and maxx > 1e7:
            problem = f"its CRS EPSG:{epsg} has no zone prefix, but x={_num(maxx)} carries one"
    if not problem:
        try:
            lon0, lat0, lon1, lat1 = _to_lonlat_bounds(bounds, crs)
        except (pyproj.exceptions.ProjError, ValueError):
            lon0 = lat0 = lon1 = lat1 = float("nan")
        ok = (
            _CHINA_LON[0] <= lon0 <= lon1 <= _CHINA_LON[1]
            and _CHINA_LAT[0] <= lat0 <= lat1 <= _CHINA_LAT[1]
        )
        if not ok:
            problem = f"with its CRS {crs.name} the data would lie outside China"
    if problem:
        raise CRSError(
            f"{where}: {problem}. The declared CRS does not fit the coordinates. Likely CRS: "
            f"{suggest_crs(bounds)}. Fix the .prj, or pass the right one with --crs."
        )


# --------------------------------------------------------------------------------------------
# Areas


@lru_cache(maxsize=64)
def _transformer(src_wkt: str, dst_wkt: str) -> Transformer:
    return Transformer.from_crs(CRS.from_wkt(src_wkt), CRS.from_wkt(dst_wkt), always_xy=True)


@lru_cache(maxsize=64)
def _laea_wkt(lon: float, lat: float) -> str:
    return CRS.from_user_input(
        f"+proj=laea +lat_0={lat} +lon_0={lon} +ellps=GRS80 +units=m +no_defs +type=crs"
    ).to_wkt()


# Polygons wider than this (m) in a transverse Mercator CRS use the equal-area projection; below
# it the areal scale varies so little across the polygon (~(w/R)^2/24 < 1e-8) that the planar
# area divided by the scale at the centroid is exact to the precision we report.
_SCALE_FACTOR_MAX_EXTENT_M = 5000.0


@lru_cache(maxsize=16)
def _tm_proj(wkt: str) -> tuple[pyproj.Proj, Transformer] | None:
    crs = CRS.from_wkt(wkt)
    op = crs.coordinate_operation
    if not crs.is_projected or op is None or "transverse mercator" not in op.method_name.lower():
        return None
    geodetic = crs.geodetic_crs
    if geodetic is None or not is_cgcs2000_or_wgs84(crs):
        return None
    return pyproj.Proj(crs), _transformer(wkt, geodetic.to_wkt())


def ellipsoidal_area_m2(geoms: np.ndarray | object, crs: CRS | str | int) -> np.ndarray:
    """Ellipsoidal (CGCS2000) area in m² of each geometry, whatever CRS it is in.

    ``geoms`` is an array-like of shapely geometries (a GeoSeries works); the result is a float
    array aligned to it (0 for empty or missing geometries).

    * Gauss-Kruger (transverse Mercator) input: planar area divided by the projection's areal
      scale at the centroid (conformal projection: exact scale from PROJ), for polygons up to
      5 km across; larger ones go through the equal-area projection. Edges are the straight
      lines of the CRS the data were delivered in, as digitised.
    * Anything else: projected into a Lambert azimuthal equal-area projection of the ellipsoid,
      centred on the data (rounded to 0.1 degree so results do not depend on which features are
      passed together).
    """
    arr = np.asarray(getattr(geoms, "values", geoms), dtype=object)
    if arr.size == 0:
        return np.zeros(0)
    crs = CRS.from_user_input(crs)
    out = np.zeros(arr.shape)
    present = ~(shapely.is_missing(arr) | shapely.is_empty(arr))
    if not present.any():
        return out
    tm = _tm_proj(crs.to_wkt())
    laea_mask = present
    if tm is not None:
        proj, to_geo = tm
        b = shapely.bounds(arr[present])
        small = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) <= _SCALE_FACTOR_MAX_EXTENT_M
        idx = np.flatnonzero(present)[small]
        if len(idx):
            out[idx] = _scaled_areas(arr[idx], proj, to_geo)
        laea_mask = present.copy()
        laea_mask[idx] = False
    if laea_mask.any():
        out[laea_mask] = _laea_area(arr[laea_mask], crs)
    return out


_AREA_CHUNK = 20_000


def in_halves(func: Callable[[np.ndarray], np.ndarray], arr: np.ndarray) -> np.ndarray:
    """``func(arr)`` for a function that works element by element (so any grouping gives the
    same result), a large array in two halves on two threads: shapely and PROJ release the GIL,
    and pyproj objects are thread-safe since 3.1."""
    if len(arr) <= _AREA_CHUNK:
        return func(arr)
    from concurrent.futures import ThreadPoolExecutor

    half = len(arr) // 2
    with ThreadPoolExecutor(2) as pool:
        return np.concatenate(list(pool.map(func, (arr[:half], arr[half:]))))


def transform_geometries(arr: np.ndarray, src: CRS, dst: CRS) -> np.ndarray:
    """The geometries of ``arr`` (shapely, x/y in ``src``) in ``dst``: the transformation of
    ``GeoSeries.to_crs`` (pyproj, always_xy), large arrays in halves on two threads."""
    tr = _transformer(src.to_wkt(), dst.to_wkt())
    return in_halves(
        lambda part: shapely.transform(
            part, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1]))
        ),
        np.asarray(arr, dtype=object),
    )


def _scaled_areas(geoms: np.ndarray, proj: pyproj.Proj, to_geo: Transformer) -> np.ndarray:
    """Planar area over the areal scale at the centroid, element by element (so the same for any
    grouping)."""

    def one(part: np.ndarray) -> np.ndarray:
        c = shapely.centroid(part)
        lon, lat = to_geo.transform(shapely.get_x(c), shapely.get_y(c))
        scale = proj.get_factors(lon, lat, errcheck=False).areal_scale
        return shapely.area(part) / np.asarray(scale)

    return in_halves(one, geoms)


def _laea_area(arr: np.ndarray, crs: CRS) -> np.ndarray:
    bounds = shapely.total_bounds(arr)
    if crs.is_geographic:
        lon, lat = (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2
    else:
        lon, lat = _transformer(crs.to_wkt(), STORAGE_CRS.to_wkt()).transform(
            (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2
        )
    laea = _laea_wkt(round(lon, 1), round(lat, 1))
    tr = _transformer(crs.to_wkt(), laea)

    def one(part: np.ndarray) -> np.ndarray:  # the centre is the whole array's: any halves agree
        area = shapely.area(
            shapely.transform(part, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
        )
        return np.where(np.isnan(area), 0.0, area)

    return in_halves(one, arr)


def geod_area_m2(geom: shapely.Geometry) -> float:
    """Reference ellipsoidal area of one lon/lat geometry with pyproj.Geod (slow; for checks)."""
    area, _ = _GEOD.geometry_area_perimeter(geom)
    return abs(area)


# --------------------------------------------------------------------------------------------
# GCJ-02 ("Mars coordinates" of 高德/腾讯 maps), published obfuscation formula


_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323


def _gcj_delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = lon - 105.0, lat - 35.0
    pi = math.pi
    dlat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
        + (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * pi) + 320 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    )
    dlon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
        + (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    )
    radlat = lat / 180.0 * pi
    magic = 1 - _GCJ_EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_GCJ_A * (1 - _GCJ_EE)) / (magic * sqrtmagic) * pi)
    dlon = (dlon * 180.0) / (_GCJ_A / sqrtmagic * np.cos(radlat) * pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apply the GCJ-02 offset (for display on 高德 tiles only; never store the result)."""
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    dlon, dlat = _gcj_delta(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Remove the GCJ-02 offset by fixed-point iteration (residual well under 1 cm)."""
    glon, glat = np.asarray(lon, float), np.asarray(lat, float)
    wlon, wlat = glon.copy(), glat.copy()
    for _ in range(6):
        dlon, dlat = _gcj_delta(wlon, wlat)
        wlon, wlat = glon - dlon, glat - dlat
    return wlon, wlat
