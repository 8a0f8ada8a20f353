"""QGIS default styles stored inside a GeoPackage (the ``layer_styles`` table).

QGIS (every 3.x version) looks for a row in the GeoPackage's ``layer_styles`` table whose
``f_table_name`` / ``f_geometry_column`` match the layer it opens and whose ``useAsDefault`` is
true, and applies its ``styleQML``. GDAL reads the Chinese aliases of ``gpkg_data_columns`` only
from 3.7 on, so older county desktops show English column names unless the style carries them.

:func:`write_layer_style` writes such a row: field aliases (Chinese), a categorized renderer on
the status field with the battle map's colours (legend = the status names; 合法 / 其他 start
unticked as on the map), labels by 监测编号 and, where the data must not be edited from QGIS,
every field read-only in the attribute form. The table is created exactly as QGIS creates it
(``id`` primary key, registered in ``gpkg_contents`` as an attributes table), so QGIS can add its
own styles beside ours later.
"""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Collection, Sequence
from datetime import datetime, timezone
from pathlib import Path

from parcelwatch.errors import OutputError

__all__ = ["LAYER_STYLES_DDL", "layer_style_qml", "write_layer_style"]

# The table as QGIS's OGR provider creates it (QgsOgrProviderMetadata::saveStyle, via GDAL).
LAYER_STYLES_DDL = (
    'CREATE TABLE IF NOT EXISTS "layer_styles" ('
    '"id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, "f_table_catalog" TEXT(256), '
    '"f_table_schema" TEXT(256), "f_table_name" TEXT(256), "f_geometry_column" TEXT(256), '
    '"styleName" TEXT(30), "styleQML" TEXT, "styleSLD" TEXT, "useAsDefault" BOOLEAN, '
    '"description" TEXT, "owner" TEXT(30), "ui" TEXT(30), '
    '"update_time" DATETIME DEFAULT CURRENT_TIMESTAMP)'
)
_QGIS_VERSION = "3.22.16-Białowieża"  # the QML dialect written (read by 3.x from 3.10 on)
_LABEL_FONT = "Microsoft YaHei"  # county desktops run Windows; Qt substitutes where missing


def _rgba(hex_rgb: str, alpha: int = 255) -> str:
    h = hex_rgb.lstrip("#")
    return f"{int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{alpha}"


def _props(parent: ET.Element, values: dict[str, str]) -> None:
    """Symbol-layer properties in both QML dialects: ``<Option>`` (3.26+) and ``<prop>`` (older)."""
    opt = ET.SubElement(parent, "Option", type="Map")
    for k, v in values.items():
        ET.SubElement(opt, "Option", name=k, type="QString", value=v)
    for k, v in values.items():
        ET.SubElement(parent, "prop", k=k, v=v)


def _fill_symbol(parent: ET.Element, name: str, fill: str, stroke: str) -> None:
    sym = ET.SubElement(
        parent, "symbol", type="fill", name=name, alpha="1", clip_to_extent="1", force_rhr="0"
    )
    layer = ET.SubElement(sym, "layer", {"class": "SimpleFill", "enabled": "1", "locked": "0"})
    layer.set("pass", "0")
    _props(
        layer,
        {
            "border_width_map_unit_scale": "3x:0,0,0,0,0,0",
            "color": _rgba(fill, 128),
            "joinstyle": "bevel",
            "offset": "0,0",
            "offset_map_unit_scale": "3x:0,0,0,0,0,0",
            "offset_unit": "MM",
            "outline_color": _rgba(stroke),
            "outline_style": "solid",
            "outline_width": "0.46",
            "outline_width_unit": "MM",
            "style": "solid",
        },
    )


def _renderer(root: ET.Element, status_field: str) -> None:
    from parcelwatch.labels import STATUS_STYLE

    r = ET.SubElement(
        root,
        "renderer-v2",
        type="categorizedSymbol",
        attr=status_field,
        forceraster="0",
        symbollevels="0",
        enableorderby="0",
        referencescale="-1",
    )
    cats = ET.SubElement(r, "categories")
    syms = ET.SubElement(r, "symbols")
    for i, (status, st) in enumerate(STATUS_STYLE.items()):
        ET.SubElement(
            cats,
            "category",
            symbol=str(i),
            value=status,
            label=status,
            render="true" if st.get("visible", True) else "false",
            type="string",
        )
        _fill_symbol(syms, str(i), st["color"], st["stroke"])
    source = ET.SubElement(r, "source-symbol")
    _fill_symbol(source, "0", "#808080", "#404040")
    ET.SubElement(r, "rotation")
    ET.SubElement(r, "sizescale")


def _labeling(root: ET.Element, label: str, is_expression: bool) -> None:
    lab = ET.SubElement(root, "labeling", type="simple")
    settings = ET.SubElement(lab, "settings", calloutType="simple")
    ts = ET.SubElement(
        settings,
        "text-style",
        fieldName=label,
        isExpression="1" if is_expression else "0",
        fontFamily=_LABEL_FONT,
        fontSize="9",
        fontSizeUnit="Point",
        fontWeight="50",
        fontItalic="0",
        textColor="0,0,0,255",
        textOpacity="1",
        namedStyle="Regular",
        multilineHeight="1",
        allowHtml="0",
        capitalization="0",
    )
    ET.SubElement(
        ts,
        "text-buffer",
        bufferDraw="1",
        bufferSize="0.8",
        bufferSizeUnits="MM",
        bufferColor="255,255,255,255",
        bufferOpacity="1",
        bufferJoinStyle="128",
        bufferNoFill="1",
    )
    ET.SubElement(settings, "text-format", wrapChar="", autoWrapLength="0", multilineAlign="3")
    # placement 1 = OverPoint (on the polygon's centroid), inside the polygon when possible
    ET.SubElement(
        settings,
        "placement",
        placement="1",
        centroidInside="1",
        centroidWhole="0",
        fitInPolygonOnly="0",
        priority="5",
        overrunDistance="0",
        overrunDistanceUnit="MM",
    )
    ET.SubElement(
        settings,
        "rendering",
        obstacle="1",
        drawLabels="1",
        displayAll="0",
        labelPerPart="0",
        mergeLines="0",
        limitNumLabels="0",
        maxNumLabels="2000",
        scaleVisibility="0",
        upsidedownLabels="0",
        fontMinPixelSize="3",
        fontMaxPixelSize="10000",
        fontLimitPixelSize="0",
        zIndex="0",
    )


def layer_style_qml(
    aliases: Sequence[tuple[str, str]],
    *,
    polygon: bool = True,
    status_field: str | None = None,
    label: str | None = None,
    label_is_expression: bool = False,
    read_only: bool | Collection[str] = False,
) -> str:
    """The QML document of one layer.

    ``aliases`` = (column, Chinese name) for every attribute column in table order;
    ``status_field`` gives a categorized renderer with the battle map's status colours;
    ``label`` a field (or QGIS expression with ``label_is_expression``) to label features with;
    ``read_only`` = True for every field, or the columns the attribute form must not edit.
    """
    locked = {c for c, _ in aliases} if read_only is True else set(read_only or ())
    root = ET.Element(
        "qgis",
        version=_QGIS_VERSION,
        styleCategories="AllStyleCategories",
        readOnly="1" if read_only is True else "0",
        labelsEnabled="1" if label else "0",
        hasScaleBasedVisibilityFlag="0",
        minScale="100000000",
        maxScale="0",
        simplifyDrawingHints="1",
        simplifyLocal="1",
        simplifyAlgorithm="0",
        simplifyDrawingTol="1",
        simplifyMaxScale="1",
    )
    flags = ET.SubElement(root, "flags")
    for name in ("Identifiable", "Removable", "Searchable"):
        ET.SubElement(flags, name).text = "1"
    if polygon and status_field:
        _renderer(root, status_field)
    if polygon and label:
        _labeling(root, label, label_is_expression)
    ET.SubElement(root, "blendMode").text = "0"
    ET.SubElement(root, "featureBlendMode").text = "0"
    ET.SubElement(root, "layerOpacity").text = "1"
    fc = ET.SubElement(root, "fieldConfiguration")
    for column, _ in aliases:
        f = ET.SubElement(fc, "field", name=column, configurationFlags="None")
        w = ET.SubElement(f, "editWidget", type="TextEdit")
        cfg = ET.SubElement(w, "config")
        opt = ET.SubElement(cfg, "Option", type="Map")
        ET.SubElement(opt, "Option", name="IsMultiline", type="bool", value="false")
        ET.SubElement(opt, "Option", name="UseHtml", type="bool", value="false")
    al = ET.SubElement(root, "aliases")
    for i, (column, zh) in enumerate(aliases):
        ET.SubElement(al, "alias", field=column, index=str(i), name=zh)
    ET.SubElement(root, "editform", tolerant="1")
    ET.SubElement(root, "editforminit")
    ET.SubElement(root, "editforminitcodesource").text = "0"
    ET.SubElement(root, "editorlayout").text = "generatedlayout"
    ed = ET.SubElement(root, "editable")
    for column, _ in aliases:
        ET.SubElement(ed, "field", name=column, editable="0" if column in locked else "1")
    lot = ET.SubElement(root, "labelOnTop")
    for column, _ in aliases:
        ET.SubElement(lot, "field", name=column, labelOnTop="0")
    if label:
        ET.SubElement(root, "previewExpression").text = (
            label if label_is_expression else f'"{label}"'
        )
    ET.SubElement(root, "layerGeometryType").text = "2" if polygon else "4"
    body = ET.tostring(root, encoding="unicode")
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + body + "\n"


def write_layer_style(
    gpkg_path: str | Path,
    layer: str,
    aliases: Sequence[tuple[str, str]],
    *,
    status_field: str | None = None,
    label: str | None = None,
    label_is_expression: bool = False,
    read_only: bool | Collection[str] = False,
    description: str = "",
    now: datetime | None = None,
) -> None:
    """Store the default QGIS style of ``layer`` in the GeoPackage ``gpkg_path``.

    The geometry column is read from ``gpkg_geometry_columns`` (none: an attribute table). A
    default style parcelwatch wrote before for the layer is replaced; other styles are kept but
    no longer default. ``now`` stamps ``update_time`` (else SQLite's current time).
    """
    path = Path(gpkg_path)
    try:
        con = sqlite3.connect(str(path), timeout=15)
    except sqlite3.Error as exc:
        raise OutputError(f"Cannot open {path} to store the QGIS style: {exc}.") from exc
    try:
        with con:
            row = con.execute(
                "SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?", (layer,)
            ).fetchone()
            geom_col = row[0] if row else ""
            qml = layer_style_qml(
                aliases,
                polygon=bool(geom_col),
                status_field=status_field,
                label=label,
                label_is_expression=label_is_expression,
                read_only=read_only,
            )
            con.execute(LAYER_STYLES_DDL)
            con.execute(
                "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) "
                "VALUES ('layer_styles', 'attributes', 'layer_styles', 'QGIS 图层样式', 0)"
            )
            con.execute(
                "UPDATE layer_styles SET useAsDefault = 0 WHERE f_table_schema = '' AND f_table_name = ? "
                "AND f_geometry_column = ?",
                (layer, geom_col),
            )
            con.execute(
                "DELETE FROM layer_styles WHERE f_table_schema = '' AND f_table_name = ? "
                "AND f_geometry_column = ? AND styleName = ?",
                (layer, geom_col, layer),
            )
            stamp = (
                now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                if now is not None
                else None
            )
            con.execute(
                "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, "
                "styleName, styleQML, styleSLD, useAsDefault, description, owner, ui, update_time) "
                "VALUES ('', '', ?, ?, ?, ?, '', 1, ?, 'parcelwatch', NULL, "
                "COALESCE(?, strftime('%Y-%m-%dT%H:%M:%SZ', 'now')))",
                (layer, geom_col, layer, qml, description or "parcelwatch 默认样式", stamp),
            )
    except sqlite3.Error as exc:
        raise OutputError(
            f"Cannot store the QGIS style of layer {layer!r} in {path.name}: {exc}. "
            "Close the file in QGIS and try again."
        ) from exc
    finally:
        con.close()


# The ledger's 监测编号 are a JSON list (["3707902026Q001", ...]); QGIS shows them joined.
LEDGER_LABEL = "array_to_string(from_json(\"parcel_ids\"), '、')"


def write_ledger_styles(gpkg_path: str | Path, *, now: datetime | None = None) -> list[str]:
    """Default QGIS styles for every table of a parcelwatch ledger; returns the tables styled.

    Aliases come from the ledger's own ``gpkg_data_columns`` (so the style always matches the
    schema); every field is read-only in the attribute form, since the ledger refuses direct
    edits (changes go through ``parcelwatch ledger set`` / ``import-xlsx``, which record events).
    The problems are coloured by 状态 and labelled by 监测编号.
    """
    path = Path(gpkg_path)
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=15)
    except sqlite3.Error as exc:
        raise OutputError(f"Cannot open the ledger {path} to store QGIS styles: {exc}.") from exc
    try:
        tables = [
            t
            for (t,) in con.execute(
                "SELECT table_name FROM gpkg_contents WHERE data_type IN ('features', 'attributes') "
                "AND table_name != 'layer_styles' ORDER BY table_name"
            )
        ]
        titles = {
            (t, c): title
            for t, c, title in con.execute(
                "SELECT table_name, column_name, COALESCE(NULLIF(title, ''), name) FROM gpkg_data_columns"
            )
            if title
        }
        layout = {}
        for t in tables:
            geom = con.execute(
                "SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?", (t,)
            ).fetchone()
            skip = {"fid", geom[0] if geom else ""}
            cols = [r[1] for r in con.execute(f'PRAGMA table_info("{t}")') if r[1] not in skip]
            layout[t] = [(c, titles.get((t, c), c)) for c in cols]
    except sqlite3.Error as exc:
        raise OutputError(
            f"Cannot read the ledger {path} to build its QGIS styles: {exc}."
        ) from exc
    finally:
        con.close()
    for t, aliases in layout.items():
        problems = t == "problems"
        write_layer_style(
            path,
            t,
            aliases,
            status_field="status" if problems else None,
            label=LEDGER_LABEL if problems else None,
            label_is_expression=problems,
            read_only=True,
            description="台账（只读：请用 parcelwatch ledger set / import-xlsx 修改）",
            now=now,
        )
    return tables


__all__ += ["LEDGER_LABEL", "write_ledger_styles"]
