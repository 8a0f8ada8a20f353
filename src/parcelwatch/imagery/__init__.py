"""Imagery evidence (影像佐证): rasterio at the edge, arrays inside.

* :mod:`~parcelwatch.imagery.stats` - windowed per-geometry statistics of a before/after pair;
* :mod:`~parcelwatch.imagery.hints` - pure hints (整改存疑, 整改属实, 疑似反弹, 疑似伪变化);
* :mod:`~parcelwatch.imagery.chips` - before/after PNG chips with the parcel outline;
* :mod:`~parcelwatch.imagery.evidence` - the one-page printable evidence sheet;
The whole job over a workspace is :func:`parcelwatch.pipeline.analyse_imagery`.
"""

from __future__ import annotations

from parcelwatch.imagery.chips import chip_data_uris, write_chips
from parcelwatch.imagery.evidence import evidence_html
from parcelwatch.imagery.hints import HINTS, evidence_hints
from parcelwatch.imagery.stats import BandSpec, open_pair, parse_bands, pixel_stats, zonal_change

__all__ = [
    "BandSpec",
    "HINTS",
    "chip_data_uris",
    "evidence_hints",
    "evidence_html",
    "open_pair",
    "parse_bands",
    "pixel_stats",
    "write_chips",
    "zonal_change",
]
