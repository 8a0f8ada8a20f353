"""parcelwatch: track problem land parcels from satellite detection to closure.

Public API::

    from parcelwatch import read_layer, load_layer, load_rules, load_inputs
    from parcelwatch import explore      # a workspace or problems frame as a folium.Map
"""

from __future__ import annotations

import logging
from typing import Any

from parcelwatch.config import DEFAULT_RULES, Rules, load_rules
from parcelwatch.crs import ellipsoidal_area_m2
from parcelwatch.errors import (
    ConfigError,
    CRSError,
    DataQualityWarning,
    EncodingError,
    GeometryError,
    InputError,
    OutputError,
    ParcelwatchError,
    SchemaError,
)
from parcelwatch.io.clues import join_clues, read_clues
from parcelwatch.io.layers import inspect_path, load_layer, read_layer
from parcelwatch.pipeline import load_inputs
from parcelwatch.units import M2_PER_MU, m2_to_mu, mu_to_m2

__version__ = "0.1.0"

logging.getLogger("parcelwatch").addHandler(logging.NullHandler())

__all__ = [
    "__version__",
    "explore",
    "DEFAULT_RULES",
    "Rules",
    "load_rules",
    "read_layer",
    "load_layer",
    "inspect_path",
    "load_inputs",
    "read_clues",
    "join_clues",
    "ellipsoidal_area_m2",
    "m2_to_mu",
    "mu_to_m2",
    "M2_PER_MU",
    "ParcelwatchError",
    "InputError",
    "EncodingError",
    "SchemaError",
    "GeometryError",
    "CRSError",
    "ConfigError",
    "OutputError",
    "DataQualityWarning",
]


def __getattr__(name: str) -> Any:
    # explore() imports folium: loaded on first use, not with the package
    if name == "explore":
        from parcelwatch.pipeline.explore import explore

        return explore
    raise AttributeError(f"module 'parcelwatch' has no attribute {name!r}")
