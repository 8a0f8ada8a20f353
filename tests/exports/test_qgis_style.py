"""QGIS default styles in the ledger and in exported GeoPackages, read back with GDAL.

The style is a row of the GeoPackage's ``layer_styles`` table (QGIS's own mechanism, read by
every QGIS 3.x). GDAL (pyogrio) reads the table; :mod:`xml.etree` reads the QML. An optional
check loads the layer in PyQGIS (Debian's ``python3-qgis``) when /usr/bin/python3 has it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

import pyogrio
import pytest

from parcelwatch.exports.fields import EXPORT_FIELDS
from parcelwatch.exports.qgis_style import LEDGER_LABEL
from parcelwatch.labels import STATUS_STYLE
from parcelwatch.ledger.model import FIELDS, Status
from parcelwatch.pipeline import init_workspace
from tests.exports.conftest import Exported

NOW = datetime(2026, 11, 7, 9, 0, tzinfo=timezone.utc)


def _rgba(hex_rgb: str, alpha: int) -> str:
    h = hex_rgb.lstrip("#")
    return f"{int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{alpha}"


def default_style(gpkg: Path, layer: str) -> tuple[dict, ET.Element]:
    """The default style row of ``layer`` (read by GDAL) and its parsed QML."""
    styles = pyogrio.read_dataframe(gpkg, layer="layer_styles")
    rows = styles[(styles["f_table_name"] == layer) & styles["useAsDefault"].astype(bool)]
    assert len(rows) == 1, f"{layer}: {len(rows)} default styles"
    row = rows.iloc[0].to_dict()
    return row, ET.fromstring(row["styleQML"].split("\n", 1)[1])


def aliases(qml: ET.Element) -> dict[str, str]:
    return {a.get("field"): a.get("name") for a in qml.iter("alias")}


def categories(qml: ET.Element) -> dict[str, tuple[str, str]]:
    """status value -> (fill colour, render flag) from the categorized renderer."""
    r = qml.find("renderer-v2")
    assert r is not None and r.get("type") == "categorizedSymbol" and r.get("attr") == "status"
    colours = {
        s.get("name"): s.find("layer/prop[@k='color']").get("v")
        for s in r.find("symbols").iter("symbol")
    }
    return {c.get("value"): (colours[c.get("symbol")], c.get("render")) for c in r.iter("category")}


def editable(qml: ET.Element) -> dict[str, str]:
    return {f.get("name"): f.get("editable") for f in qml.find("editable")}


def test_exported_gpkg_has_default_qgis_style(exported: Exported) -> None:
    """Every exported layer has a default style; problems: Chinese aliases for every exported
    field, one category per status with the battle map's fill (alpha 128), labels by 监测编号."""
    gpkg = exported.paths["gpkg"]
    row, qml = default_style(gpkg, "problems")
    assert row["f_geometry_column"] == "geom" and row["f_table_schema"] == ""
    assert aliases(qml) == {f.key: f.zh for f in EXPORT_FIELDS}
    cats = categories(qml)
    assert set(cats) == {s.value for s in Status}
    for status, (colour, render) in cats.items():
        assert colour == _rgba(STATUS_STYLE[status]["color"], 128)
        assert render == ("true" if STATUS_STYLE[status]["visible"] else "false")
    style = qml.find("labeling/settings/text-style")
    assert qml.get("labelsEnabled") == "1" and style.get("fieldName") == "parcel_id"
    assert aliases(qml)["parcel_id"] == "监测编号"
    assert set(editable(qml).values()) == {"1"}  # an export is the clerk's copy
    for layer, zh in (("events", "新状态"), ("findings", "建筑编号")):
        _, q = default_style(gpkg, layer)
        assert zh in aliases(q).values()
    # GDAL still lists the data layers first and reads them unchanged
    assert [n for n, _ in pyogrio.list_layers(gpkg)][:1] == ["problems"]


def test_ledger_has_read_only_default_styles(tmp_path: Path) -> None:
    """A new ledger carries styles for every table: problems with every field's Chinese name
    (from the ledger's own gpkg_data_columns), coloured by 状态, labelled by the 监测编号 list,
    and every field read-only in the form (the ledger refuses direct edits)."""
    ws = init_workspace(tmp_path / "ws", county_code="370790", county_name="测试县", now=NOW)
    ws.close()
    gpkg = tmp_path / "ws" / "ledger.gpkg"
    row, qml = default_style(gpkg, "problems")
    assert row["f_geometry_column"] == "geom" and str(row["update_time"]).startswith(
        "2026-11-07 09:00"
    )
    assert aliases(qml) == {f.name: f.zh for f in FIELDS}
    assert set(categories(qml)) == {s.value for s in Status}
    assert set(editable(qml).values()) == {"0"} and qml.get("readOnly") == "1"
    label = qml.find("labeling/settings/text-style")
    assert label.get("isExpression") == "1" and label.get("fieldName") == LEDGER_LABEL
    styled = set(pyogrio.read_dataframe(gpkg, layer="layer_styles")["f_table_name"])
    assert {"problems", "problem_parcels", "findings", "events", "batches"} <= styled
    _, ev = default_style(gpkg, "events")
    assert aliases(ev)["to_status"] == "新状态" and set(editable(ev).values()) == {"0"}


_PYQGIS = r"""
import json, os, sys
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from qgis.core import QgsApplication, QgsVectorLayer
app = QgsApplication([], False)
app.initQgis()
out = {}
for path, layer in json.loads(sys.argv[1]):
    vl = QgsVectorLayer(f"{path}|layername={layer}", layer, "ogr")
    r = vl.renderer()
    out[path] = {
        "valid": vl.isValid(),
        "aliases": {f.name(): vl.attributeAlias(i) for i, f in enumerate(vl.fields())},
        "renderer": r.type(),
        "categories": [c.value() for c in r.categories()] if r.type() == "categorizedSymbol" else [],
        "labels": vl.labelsEnabled(),
        "status_editable": vl.editFormConfig().readOnly(vl.fields().indexOf("status")) is False,
    }
print(json.dumps(out, ensure_ascii=False))
"""


def _pyqgis_python() -> str | None:
    py = shutil.which("python3", path="/usr/bin")
    if py is None:
        return None
    ok = subprocess.run([py, "-c", "import qgis.core"], capture_output=True, check=False)
    return py if ok.returncode == 0 else None


@pytest.mark.skipif(
    _pyqgis_python() is None,
    reason="PyQGIS not installed for /usr/bin/python3 (apt-get install python3-qgis)",
)
def test_pyqgis_loads_the_stored_styles(exported: Exported, tmp_path: Path) -> None:
    """QGIS itself (3.22 on Debian 12) applies the stored default style when it opens a layer."""
    ws = init_workspace(tmp_path / "ws", county_code="370790", county_name="测试县", now=NOW)
    ws.close()
    ledger = str(tmp_path / "ws" / "ledger.gpkg")
    export = str(exported.paths["gpkg"])
    res = subprocess.run(
        [_pyqgis_python(), "-c", _PYQGIS, json.dumps([[ledger, "problems"], [export, "problems"]])],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    got = json.loads(res.stdout.strip().splitlines()[-1])
    statuses = {s.value for s in Status}
    assert got[ledger]["valid"] and got[export]["valid"]
    assert got[ledger]["aliases"]["status"] == "状态"
    assert got[ledger]["aliases"]["parcel_ids"] == "监测编号"
    assert got[export]["aliases"]["status"] == "整改状态"
    assert got[export]["aliases"]["candidate_reasons"] == "疑似依据"
    for path in (ledger, export):
        assert got[path]["renderer"] == "categorizedSymbol"
        assert set(got[path]["categories"]) == statuses
        assert got[path]["labels"]
    assert not got[ledger]["status_editable"] and got[export]["status_editable"]
