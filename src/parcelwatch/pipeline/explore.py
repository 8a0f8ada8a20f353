"""``parcelwatch.explore``: a workspace's problems (or a problems frame) as a folium map.

For notebooks and Jupyter users: the same status colours, overdue outline and Chinese popup
labels as the battle map, working offline (see :mod:`parcelwatch.maps.explore`). The battle map
itself (``parcelwatch map``) stays the county's page; this is the analyst's quick look.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd

from parcelwatch.errors import InputError

if TYPE_CHECKING:
    import folium

__all__ = ["explore"]


def explore(
    ws_or_frame: Any, *, today: date | None = None, height: str | int = "600px"
) -> folium.Map:
    """A ``folium.Map`` of the problems of a workspace (a ``Workspace`` or its folder) or a frame.

    A frame is drawn as it is (the columns of ``maps.view.problems_view``). For a workspace the
    ledger is read once; ``today`` marks overdue problems (none are marked without it: the
    library does not read the clock).
    """
    from parcelwatch.maps.explore import explore_map

    if isinstance(ws_or_frame, gpd.GeoDataFrame):
        return explore_map(ws_or_frame, height=height)
    from parcelwatch.ledger.workspace import Workspace, opened
    from parcelwatch.maps.view import problems_view

    if not isinstance(ws_or_frame, (Workspace, str, Path)):
        raise InputError(
            f"explore: expected a workspace (or its folder) or a GeoDataFrame, got "
            f"{type(ws_or_frame).__name__}."
        )
    with opened(ws_or_frame) as ws:
        records = ws.store.records()
        events: dict[str, list[Any]] = {}
        for e in ws.store.events():
            events.setdefault(e.problem_id, []).append(e)
    # without a date nothing is overdue: a date far in the past marks no deadline as passed
    view = problems_view(records, events, today=today or date.min)
    return explore_map(view, height=height)
