"""explore_map(): the problems as a ``folium.Map`` for notebooks, with the battle map's styles.

The same view the battle map draws (one row per problem, the columns of
:data:`parcelwatch.maps.battle_map.MAP_COLUMNS`) becomes one folium layer per status, filled and
outlined with :data:`parcelwatch.labels.STATUS_STYLE`, overdue problems outlined with
:data:`parcelwatch.labels.OVERDUE_STYLE`, and a popup of the Chinese field labels.

Offline: folium's page template links Leaflet, jQuery, Bootstrap and Font Awesome from CDNs.
Those links are dropped from the map and Leaflet 1.9.3 (the version folium targets) is inlined
from ``xstatic-leaflet``, as the battle map does; no tile layer is added. The saved HTML (and the
notebook's ``_repr_html_``) therefore loads nothing from the network.
"""

from __future__ import annotations

import html
from typing import Any

import folium
import geopandas as gpd
import pandas as pd

from parcelwatch.errors import InputError
from parcelwatch.labels import OVERDUE_STYLE, STATUS_ORDER, STATUS_STYLE, class_label
from parcelwatch.maps.battle_map import MAP_COLUMNS
from parcelwatch.maps.offline import leaflet_assets

__all__ = ["explore_map", "POPUP_COLUMNS"]

# What the popup shows (no image chips, no event list: a notebook map stays light).
POPUP_COLUMNS: tuple[str, ...] = (
    "problem_id",
    "parcel_ids",
    "township_name",
    "village_name",
    "status",
    "candidate_class",
    "confirmed_class",
    "parcel_area_mu",
    "measure",
    "deadline",
    "days_overdue",
    "responsible_unit",
)


def _class_text(candidate: Any, confirmed: Any) -> tuple[str, str]:
    cand = "" if candidate is None or candidate != candidate else str(candidate)
    conf = "" if confirmed is None or confirmed != confirmed else str(confirmed)
    cand_text = "" if cand in ("", "none") else "疑似" + class_label(cand)
    return cand_text, class_label(conf)


def _text(col: str, value: Any) -> str:
    """A popup cell: escaped text, blank for none (and for 0 days overdue)."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NaT:
        return ""
    if col == "days_overdue" and not value:
        return ""
    return html.escape(str(value))


def _style(st: dict[str, Any], overdue: bool) -> dict[str, Any]:
    """The battle map's polygon style (battle_map.js): status fill and outline, overdue outline."""
    style: dict[str, Any] = {
        "color": st["stroke"],
        "weight": 1.5,
        "fillColor": st["color"],
        "fillOpacity": 0.55,
        "opacity": 1,
    }
    if overdue:
        style.update(
            color=OVERDUE_STYLE["color"],
            weight=OVERDUE_STYLE["weight"],
            dashArray=OVERDUE_STYLE["dashArray"],
        )
    return style


def _offline(m: folium.Map) -> folium.Map:
    """Drop folium's CDN links and inline Leaflet's CSS and JS into the page header."""
    m.default_js = []
    m.default_css = []
    css, js = leaflet_assets()
    root = m.get_root()
    assert isinstance(root, folium.Figure)
    header = root.header
    header.add_child(folium.Element(f"<style>{css}</style>"), name="leaflet_css_inline")
    header.add_child(folium.Element(f"<script>{js}</script>"), name="leaflet_js_inline")
    return m


def explore_map(view: gpd.GeoDataFrame, *, height: str | int = "600px") -> folium.Map:
    """A folium map of ``view`` (a problems view, see ``maps.view.problems_view``), offline.

    Needs the columns ``problem_id`` and ``status`` and a CRS; the others of
    :data:`POPUP_COLUMNS` are shown when present. Statuses the battle map hides by default
    (合法, 其他) are in the layer control, unticked. Raises :class:`InputError` naming the missing
    column or the unknown status.
    """
    missing = [c for c in ("problem_id", "status") if c not in view.columns]
    if missing:
        raise InputError(
            f"explore: the frame has no {', '.join(missing)} column. Pass a problems view "
            "(parcelwatch.maps.view.problems_view) or a workspace."
        )
    if view.crs is None:
        raise InputError("explore: the frame has no CRS. Set it (frame.set_crs(...)) first.")
    unknown = sorted(set(view["status"].dropna()) - set(STATUS_ORDER))
    if unknown:
        raise InputError(
            f"explore: unknown status {'、'.join(map(str, unknown))} in column status. "
            f"Use one of {'、'.join(STATUS_ORDER)}."
        )
    frame = view.to_crs(4326)
    frame = frame[~frame.geometry.isna() & ~frame.geometry.is_empty]
    m = folium.Map(tiles=None, prefer_canvas=True, height=height, control_scale=True)
    _offline(m)
    if len(frame):
        minx, miny, maxx, maxy = frame.total_bounds
        m.fit_bounds([[float(miny), float(minx)], [float(maxy), float(maxx)]])
    else:
        m.location = [35.0, 105.0]
    # popup values as escaped text: folium's popup template inserts them as HTML
    props = pd.DataFrame(index=frame.index)
    blank = [None] * len(frame)
    classes = [
        _class_text(a, b)
        for a, b in zip(
            frame["candidate_class"].tolist() if "candidate_class" in frame else blank,
            frame["confirmed_class"].tolist() if "confirmed_class" in frame else blank,
            strict=True,
        )
    ]
    for col in POPUP_COLUMNS:
        values: list[Any]
        if col == "candidate_class":
            values = [c[0] for c in classes]
        elif col == "confirmed_class":
            values = [c[1] for c in classes]
        else:
            values = frame[col].tolist() if col in frame else blank
        props[col] = [_text(col, v) for v in values]
    props["overdue"] = (
        frame["overdue"].fillna(False).astype(bool).tolist()
        if "overdue" in frame
        else [False] * len(frame)
    )
    for status in STATUS_ORDER:
        mask = (frame["status"] == status).to_numpy()
        if not mask.any():
            continue
        st = STATUS_STYLE[status]
        layer = gpd.GeoDataFrame(props[mask], geometry=frame.geometry[mask], crs=4326)
        group = folium.FeatureGroup(
            name=f"{status}（{int(mask.sum())}）", show=bool(st["visible"]), control=True
        )
        folium.GeoJson(
            layer,
            style_function=lambda f, st=st: _style(st, bool(f["properties"]["overdue"])),
            popup=folium.GeoJsonPopup(
                fields=list(POPUP_COLUMNS),
                aliases=[MAP_COLUMNS[c] for c in POPUP_COLUMNS],
                labels=True,
            ),
            tooltip=folium.GeoJsonTooltip(fields=["problem_id"], labels=False),
        ).add_to(group)
        group.add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m
