"""Round-half-up figures for reports (SEED-SYSTEMS §0.1 "Numbers").

Every percentage and count printed by ``ledger stats --as-of/--by`` and the 巡察 report goes
through here. The rounding itself is the project's one rule, :func:`parcelwatch.ledger.figures.half_up`
(re-exported here); this module adds exact rates of counts (``Decimal`` fractions, so 1/8 is
12.5% exactly and rounds half-up to 13%, where Python's ``round`` would give 12).
"""

from __future__ import annotations

from decimal import Decimal

from parcelwatch.ledger.figures import half_up

__all__ = ["half_up", "percent_text", "rate"]


def rate(num: int, den: int) -> Decimal | None:
    """``num / den`` as an exact Decimal fraction (``None`` when ``den`` is 0)."""
    return None if den == 0 else Decimal(num) / Decimal(den)


def percent_text(num: int, den: int, places: int = 2) -> str:
    """``num / den`` as a percent string, half-up: (2, 3, 0) -> "67%", (1, 8, 0) -> "13%".

    An empty denominator gives "—" (nothing to rate).
    """
    r = rate(num, den)
    if r is None:
        return "—"
    return f"{half_up(r * 100, places)}%"
