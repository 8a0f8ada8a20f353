"""Round-half-up figures for reports (SEED-SYSTEMS §0.1 "Numbers").

Every percentage and count printed by ``ledger stats --as-of/--by`` and the 巡察 report goes
through here. The rounding itself is the project's one rule, :func:`parcelwatch.ledger.figures.half_up`,
with exact rates of counts beside it (``Decimal`` fractions, so 1/8 is 12.5% exactly and rounds
half-up to 13%, where Python's ``round`` would give 12); re-exported here for the reports.
"""

from __future__ import annotations

from parcelwatch.ledger.figures import half_up, percent_text, rate

__all__ = ["half_up", "percent_text", "rate"]
