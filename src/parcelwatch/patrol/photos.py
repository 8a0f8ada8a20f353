"""Photos with place and time (SEED-SYSTEMS 0.P7): EXIF ``DateTimeOriginal`` and GPS via Pillow.

Pillow is an optional extra (``pip install parcelwatch[photos]``). Without it, or without EXIF,
:func:`read_photo_exif` returns empty values and the command needs ``--at`` / ``--lon --lat``.
EXIF GPS is WGS 84 and is stored as EPSG:4490 unchanged (the difference is below 1 m).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from parcelwatch.errors import InputError

__all__ = ["PhotoExif", "read_photo_exif", "distance_m", "pillow_available"]

_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_DATETIME_ORIGINAL = 0x9003
_OFFSET_TIME_ORIGINAL = 0x9011
_SHANGHAI = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class PhotoExif:
    """What a photo says about itself (None when the photo does not say it)."""

    at: datetime | None = None
    lon: float | None = None
    lat: float | None = None

    @property
    def detail(self) -> str:
        """``exif_time=…;lon=…;lat=…`` for ``Evidence.detail`` (empty parts left out)."""
        parts = []
        if self.at is not None:
            parts.append(f"exif_time={self.at.isoformat()}")
        if self.lon is not None and self.lat is not None:
            parts.append(f"lon={self.lon:.7f};lat={self.lat:.7f}")
        return ";".join(parts)


def pillow_available() -> bool:
    try:
        import PIL  # noqa: F401
    except ImportError:
        return False
    return True


def _deg(value: Any, ref: str) -> float:
    d, m, s = (float(x) for x in value)
    out = d + m / 60 + s / 3600
    return -out if ref in ("S", "W") else out


def read_photo_exif(path: str | Path) -> PhotoExif:
    """EXIF time (aware; ``OffsetTimeOriginal`` or Asia/Shanghai) and WGS 84 position of a photo."""
    if not pillow_available():
        return PhotoExif()
    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    try:
        with Image.open(p) as im:
            exif = im.getexif()
    except (UnidentifiedImageError, OSError) as exc:
        raise InputError(
            f"Cannot read the photo {p}: {exc}. Attach a JPEG/PNG/TIFF photo."
        ) from exc
    at = None
    sub = exif.get_ifd(_EXIF_IFD)
    raw = sub.get(_DATETIME_ORIGINAL)
    if raw:
        try:
            naive = datetime.strptime(str(raw).strip(), "%Y:%m:%d %H:%M:%S")  # noqa: DTZ007 - zone set below
        except ValueError:
            naive = None
        if naive is not None:
            tz = _SHANGHAI
            off = sub.get(_OFFSET_TIME_ORIGINAL)
            if off:
                try:
                    tz = datetime.strptime(str(off).strip(), "%z").tzinfo or _SHANGHAI  # type: ignore[assignment]
                except ValueError:
                    tz = _SHANGHAI
            at = naive.replace(tzinfo=tz)
    lon = lat = None
    gps = exif.get_ifd(_GPS_IFD)
    if gps and 2 in gps and 4 in gps:
        try:
            lat = _deg(gps[2], str(gps.get(1, "N")))
            lon = _deg(gps[4], str(gps.get(3, "E")))
        except (TypeError, ValueError, ZeroDivisionError):
            lon = lat = None
    return PhotoExif(at, lon, lat)


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres (haversine on a 6371 km sphere; enough for a 500 m check)."""
    r = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))
