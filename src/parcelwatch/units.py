"""Area units used by county staff: square metres, 亩 and 公顷.

1 亩 = 10000/15 m² = 666.667 m² exactly by definition; 1 公顷 = 15 亩 = 10000 m².
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np

M2_PER_MU = 10000.0 / 15.0
M2_PER_HECTARE = 10000.0

T = TypeVar("T")


def m2_to_mu(m2: T) -> T:
    """Convert square metres to 亩 (works on scalars, arrays and Series).

    >>> round(m2_to_mu(666.6666666666666), 9)
    1.0
    """
    return m2 / M2_PER_MU  # type: ignore[operator, no-any-return, return-value]


def mu_to_m2(mu: T) -> T:
    """Convert 亩 to square metres.

    >>> mu_to_m2(15.0)
    10000.0
    """
    return mu * M2_PER_MU  # type: ignore[operator, no-any-return, return-value]


def round_display(value: float | np.ndarray, digits: int = 2) -> float | np.ndarray:
    """Round for display only (m² and 亩 to 2 decimals, as on county forms)."""
    return np.round(value, digits)
