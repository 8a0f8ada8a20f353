"""Creating a workspace: the ledger (:mod:`parcelwatch.ledger.workspace`) plus its QGIS styles."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from parcelwatch.exports.qgis_style import write_ledger_styles
from parcelwatch.ledger.workspace import Workspace, create_workspace

__all__ = ["init_workspace"]


def init_workspace(
    path: str | Path,
    *,
    now: datetime,
    rules_text: str | None = None,
    county_code: str = "",
    county_name: str = "",
    store: str = "",
) -> Workspace:
    """Create a workspace folder with an empty ledger and a rules file, and open it.

    See :func:`parcelwatch.ledger.workspace.create_workspace` for the arguments. A GeoPackage
    ledger also gets its QGIS default styles (Chinese aliases, status colours, read-only hints).
    """
    ws = create_workspace(
        path,
        now=now,
        rules_text=rules_text,
        county_code=county_code,
        county_name=county_name,
        store=store,
    )
    if not store:
        write_ledger_styles(ws.ledger_path, now=now)
    return ws
