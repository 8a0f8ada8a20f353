"""Issue 18, "Done when": a table of hostile values run through ``check`` (as parcel id and
township name of an input layer), ``ledger set`` (person, unit, project, owner, note),
``import-xlsx`` (责任人 edited in the returned workbook) into every output: the map in headless
Chromium (combined and split by township), every export format read back, every Excel form.

No internal error (exit 3), no script executed (``window.__pwned`` stays unset), no formula
evaluated (no formula cell in any workbook; CSV text cells starting with = + - @ TAB CR carry
the neutralising ``'``), and no value silently changed: what is read back equals what went in.
The one documented normalisation is that the ledger trims surrounding whitespace of text fields
(``expected()``; layer values and ``ledger set`` alike), so "\\t=1+1" is stored as "=1+1" (and
exported to CSV as "'=1+1"); the event keeps the note verbatim.

The whole table is one workspace (one problem per value, so one map, one export): each test
below is parametrised over the values and reads its own result.
"""

from __future__ import annotations

import csv
import html
import json
import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import geopandas as gpd
import openpyxl
import pyogrio
import pytest

from parcelwatch.cli import main
from tests.ledger.conftest import box, parcels, write_batch

# name -> value; every value is used as parcel id, township name and every free-text field
HOSTILE: dict[str, str] = {
    "html_comment": "<!--<script>",
    "script_end": "</script><script>window.__pwned=1</script>",
    "img_onerror": "<img src=x onerror=window.__pwned=1>",
    "remote_img": "<img src=//evil.example/x.png>",
    "hyperlink": '=HYPERLINK("http://evil.example","点我")',
    "dde": "=cmd|' /C calc'!A0",
    "plus": "+1+1",
    "minus": "-2+3",
    "at": "@SUM(1,2)",
    "tab": "\t=1+1",
    "cr": "\r=2+2",
    "control": "a\x01b\x1fc",
    "u2028": "a\u2028b\u2029c",
    "emoji": "🏠🚜镇",
    "rare": "𠀀𪚥村",
    "entities": "& &amp; &lt;",
    "quotes": "'\"; DROP TABLE problems;--",
    "cdata_end": "]]><x>",
}
NAMES = list(HOSTILE)
TODAY = "2026-05-10"
XLSX_FORMS = (
    "问题台账.xlsx",
    "大棚房问题县级自验表.xlsx",
    "乡镇整改进度.xlsx",
    "违法占用耕地面积比例.xlsx",
)
# Lossy by design (issue 18 point 10): a GBK shapefile writes characters outside GBK as "?" and
# `export` reports them (tests/exports/test_cli.py); KML drops control characters, which XML cannot
# carry, and reports them (tests/exports/test_layers.py). Those cases cannot read back unchanged.
NOT_GBK = {"emoji", "rare", "u2028"}
XML_INVALID = {"control"}


def expected(value: str) -> str:
    return value.strip()


def csv_cell(value: str) -> str:
    return "'" + value if value.startswith(("=", "+", "-", "@", "\t", "\r")) else value


def excel_text(value: str) -> str:
    """A string as Excel reads it: OOXML stores control characters as _xHHHH_."""
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), value)


def run(*args: str) -> int:
    rc = main([*args])
    assert rc != 3, f"internal error: parcelwatch {' '.join(args)}"
    return rc


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    ws = tmp / "ws"
    assert run("init", str(ws), "--county-code", "370790", "--county-name", "禾丰县") == 0
    rows = [(v, box(150 * i, 0, 150 * i + 100, 100), v) for i, v in enumerate(HOSTILE.values())]
    src = write_batch(tmp / "b1", parcels(*rows))
    assert run("check", str(ws), "--batch", "2026年第1批", "--issued", "2026-03-01", "--user", "张三",
               "--parcels", src["parcels"], "--farmland", src["farmland"]) == 0  # fmt: skip
    ids = {}
    for name, v in HOSTILE.items():
        with _open(ws) as w:
            ids[name] = _pid(w, expected(v))
        assert run("ledger", "set", str(ws), ids[name], "--person", v, "--unit", v, "--note", v,
                   "--field", f"project_name={v}", "--field", f"owner_name={v}", "--user", v) == 0  # fmt: skip
    # the Excel round trip: 责任人 of each row set to the value of the "next" name
    assert (
        run("ledger", "export-xlsx", str(ws), "-o", str(tmp / "ledger.xlsx"), "--today", TODAY) == 0
    )
    wb = openpyxl.load_workbook(tmp / "ledger.xlsx")
    sheet = wb["问题台账"]
    head = {c.value: c.column for c in sheet[1]}
    row_of = {sheet.cell(r, head["问题编号"]).value: r for r in range(2, sheet.max_row + 1)}
    turned = {}
    typed = [n for n in NAMES if n not in XML_INVALID]  # openpyxl cannot write control characters
    for k, name in enumerate(NAMES):
        other = typed[(k + 1) % len(typed)]
        cell = sheet.cell(row_of[ids[name]], head["责任人"])
        cell.value = HOSTILE[other]
        cell.data_type = "s"  # typed text, as Excel stores "=..." typed into a text-formatted cell
        turned[name] = HOSTILE[other]
    wb.save(tmp / "returned.xlsx")
    rc_import = run("ledger", "import-xlsx", str(ws), str(tmp / "returned.xlsx"), "--user", "李四")
    out = tmp / "out"
    assert run("export", str(ws), "--format", "all", "-o", str(out), "--today", TODAY) == 0
    assert run("map", str(ws), "-o", str(tmp / "map.html"), "--today", TODAY) == 0
    assert (
        run(
            "map",
            str(ws),
            "-o",
            str(tmp / "split" / "index.html"),
            "--split-by",
            "township",
            "--today",
            TODAY,
        )
        == 0
    )
    return {"tmp": tmp, "ws": ws, "ids": ids, "out": out, "turned": turned, "rc_import": rc_import}


def _open(ws: Path):
    from parcelwatch.ledger.workspace import open_workspace

    return open_workspace(ws)


def _pid(w, v: str) -> str:
    from parcelwatch.ledger.workspace import problem_for_parcel

    rec = problem_for_parcel(w, v)
    assert rec is not None, f"no problem recorded for parcel {v!r}"
    return rec.problem_id


def record(world, name):
    with _open(world["ws"]) as w:
        return w.store.get(world["ids"][name])


# ------------------------------------------------------------------------------ the ledger


@pytest.mark.parametrize("name", NAMES)
def test_check_and_set_store_every_value_unchanged(world, name):
    v = expected(HOSTILE[name])
    with _open(world["ws"]) as w:
        events = w.store.events(world["ids"][name])
    rec = record(world, name)
    assert rec.parcel_ids == (v,) and rec.township_name == v
    assert rec.responsible_unit == v and rec.project_name == v and rec.owner_name == v
    assert rec.notes == v and events[1].note == HOSTILE[name]  # the event keeps the note verbatim


def test_import_xlsx_round_trip_has_no_error(world):
    assert world["rc_import"] == 0


@pytest.mark.parametrize("name", NAMES)
def test_import_xlsx_stores_the_typed_text(world, name):
    assert record(world, name).responsible_person == expected(world["turned"][name])


# ------------------------------------------------------------------------------ exports


def _by_parcel(frame, key="parcel_id"):
    return {r[key]: r for r in frame.to_dict("records")}


@pytest.mark.parametrize("name", NAMES)
def test_gpkg_reads_back(world, name):
    raw = v = expected(HOSTILE[name])
    frame = pyogrio.read_dataframe(
        world["out"] / "问题图斑.gpkg",
        layer=pyogrio.list_layers(world["out"] / "问题图斑.gpkg")[0][0],
    )
    row = _by_parcel(frame)[raw]
    assert row["township_name"] == raw and row["responsible_unit"] == v and row["owner_name"] == v


@pytest.mark.parametrize("name", NAMES)
def test_geojson_reads_back(world, name):
    raw = v = expected(HOSTILE[name])
    data = json.loads((world["out"] / "问题图斑.geojson").read_text(encoding="utf-8"))
    rows = {f["properties"]["parcel_id"]: f["properties"] for f in data["features"]}
    assert rows[raw]["township_name"] == raw and rows[raw]["responsible_unit"] == v


@pytest.mark.parametrize("name", NAMES)
def test_csv_reads_back_with_formulas_neutralised(world, name):
    with open(world["out"] / "问题图斑.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    raw = v = expected(HOSTILE[name])
    row = next(r for r in rows if r["监测编号"] == csv_cell(raw))
    assert (
        row["乡镇名称"] == csv_cell(raw)
        and row["责任单位"] == csv_cell(v)
        and row["项目名称"] == csv_cell(v)
    )
    assert float(row["图斑面积(亩)"]) == pytest.approx(15.0)  # numeric columns stay plain numbers
    for r in rows:  # nothing anywhere in the file starts a formula
        for k, cell in r.items():
            if k not in ("中心经度", "中心纬度") and not re.fullmatch(r"-?\d+(\.\d+)?", cell or ""):
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (k, cell)


def _shp_case(name):
    mark = (
        pytest.mark.xfail(strict=True, reason="not in GBK: written '?' and reported")
        if name in NOT_GBK
        else ()
    )
    return pytest.param(name, marks=mark)


@pytest.mark.parametrize("name", [_shp_case(n) for n in NAMES])
def test_shapefile_reads_back(world, name):
    raw = v = expected(HOSTILE[name])
    frame = pyogrio.read_dataframe(world["out"] / "问题图斑.shp")
    rows = {r["JCBH"]: r for r in frame.to_dict("records")}
    assert raw in rows, sorted(rows)
    assert rows[raw]["XZQMC"] == raw and rows[raw]["ZRDW"] == v


def _kml_case(name):
    mark = (
        pytest.mark.xfail(
            strict=True, reason="control characters are dropped from KML and reported"
        )
        if name in XML_INVALID
        else ()
    )
    return pytest.param(name, marks=mark)


_XML_INVALID_CHARS = re.compile(b"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _kml_text(world, fmt: str) -> bytes:
    path = world["out"] / f"问题图斑.{fmt}"
    if fmt == "kml":
        return path.read_bytes()
    with zipfile.ZipFile(path) as z:
        return z.read(z.namelist()[0])


@pytest.mark.parametrize("fmt", ["kml", "kmz"])
def test_kml_is_well_formed_with_control_characters(world, fmt):
    ET.fromstring(_kml_text(world, fmt))


@pytest.mark.parametrize("fmt", ["kml", "kmz"])
@pytest.mark.parametrize("name", [_kml_case(n) for n in NAMES])
def test_kml_and_kmz_read_back(world, name, fmt):
    """Read with the characters XML forbids removed (the writer drops them too), so that every
    other value is checked."""
    raw = expected(HOSTILE[name])
    ns = "{http://www.opengis.net/kml/2.2}"
    root = ET.fromstring(_XML_INVALID_CHARS.sub(b"", _kml_text(world, fmt)))
    pms = {pm.find(f"{ns}name").text: pm for pm in root.iter(f"{ns}Placemark")}
    pm = pms[raw]
    data = {d.get("name"): d.find(f"{ns}value").text or "" for d in pm.iter(f"{ns}Data")}
    assert data["township_name"] == raw
    assert html.escape(expected(raw)) in pm.find(f"{ns}description").text


@pytest.mark.parametrize("form", XLSX_FORMS)
def test_excel_forms_hold_text_never_formulas(world, form):
    wb = openpyxl.load_workbook(world["out"] / form)
    texts = set()
    for sheet in wb.worksheets:
        for row in sheet.iter_rows():
            for c in row:
                assert c.data_type != "f", (form, sheet.title, c.coordinate, c.value)
                if isinstance(c.value, str):
                    texts.add(excel_text(c.value))
    shown = {n for n, v in HOSTILE.items() if any(expected(v) in t for t in texts)}
    if form in ("问题台账.xlsx", "乡镇整改进度.xlsx"):  # every problem / every township, as text
        assert shown == set(NAMES), set(NAMES) - shown
    # the self-check form lists 大棚房 problems only and the ratio form is county-wide: none here


def test_ledger_workbook_holds_text_never_formulas(world):
    wb = openpyxl.load_workbook(world["tmp"] / "ledger.xlsx")
    sheet = wb["问题台账"]
    values = set()
    for row in sheet.iter_rows():
        for c in row:
            assert c.data_type != "f", (c.coordinate, c.value)
            values.add(excel_text(c.value) if isinstance(c.value, str) else c.value)
    for v in HOSTILE.values():
        assert expected(v) in values


# ------------------------------------------------------------------------------ the map


def _plain(text: str) -> str:
    """Text as a browser's innerText shows it: without whitespace and control characters."""
    return re.sub(r"[\s\x00-\x1f\u2028\u2029]+", "", text)


def test_map_combined_in_chromium(world, offline_page):
    pg = offline_page()
    page = pg.open(world["tmp"] / "map.html")
    assert page.evaluate("window.__pwned") is None
    assert sum(page.evaluate("pw.drawnByStatus()").values()) == len(HOSTILE)
    for name in NAMES:
        pid = world["ids"][name]
        assert page.evaluate(f"pw.search({json.dumps(pid)})"), name
        assert page.evaluate("pw.openPopupId()") == pid
        popup = _plain(page.inner_text(".leaflet-popup-content"))
        assert _plain(HOSTILE[name]) in popup
        assert _plain(expected(world["turned"][name])) in popup
    assert page.evaluate("window.__pwned") is None
    assert pg.errors == [] and pg.remote == []


def test_map_split_by_township_in_chromium(world, offline_page):
    index = world["tmp"] / "split" / "index.html"
    pages = sorted(p for p in index.parent.glob("*.html") if p != index)
    assert len(pages) == len(HOSTILE)  # one page per township; no two names collide
    pg = offline_page()
    page = pg.open(index)
    assert page.locator("#pw-links a").count() == len(HOSTILE)
    name_of = {pid: name for name, pid in world["ids"].items()}
    seen = set()
    for p in pages:
        page = pg.open(p)
        assert page.evaluate("window.__pwned") is None
        assert sum(page.evaluate("pw.drawnByStatus()").values()) == 1
        # the page's one problem: its popup opens and shows its township as text
        here = [pid for pid in name_of if page.evaluate(f"pw.search({json.dumps(pid)})")]
        assert len(here) == 1 and page.evaluate("pw.openPopupId()") == here[0]
        name = name_of[here[0]]
        assert _plain(HOSTILE[name]) in _plain(page.inner_text(".leaflet-popup-content"))
        assert _plain(HOSTILE[name]) in _plain(page.inner_text("#pw-title"))
        assert page.evaluate("window.__pwned") is None
        seen.add(name)
    assert seen == set(NAMES)
    assert pg.errors == [] and pg.remote == []


# ------------------------------------------------------------------------------ numbers

# (text typed, accepted?) for an amount in 万元 / an area in 亩
NUMBERS = [("inf", False), ("-inf", False), ("nan", False), ("1e999", False), ("Infinity", False), ("-5", False),
           ("1e300", False), ("-0.01", False), ("0", True), ("1e9", True), ("12.5", True)]  # fmt: skip


@pytest.fixture(scope="module")
def numbers_ws(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("numbers")
    ws = tmp / "ws"
    assert run("init", str(ws), "--county-code", "370790") == 0
    src = write_batch(tmp / "b1", parcels(("N1", box(0, 0, 100, 100))))
    assert (
        run(
            "check",
            str(ws),
            "--batch",
            "b1",
            "--issued",
            "2026-03-01",
            "--user",
            "u",
            "--parcels",
            src["parcels"],
            "--farmland",
            src["farmland"],
        )
        == 0
    )
    return tmp, ws, "370790-2026-000001"


@pytest.mark.parametrize(("text", "ok"), NUMBERS)
def test_numbers_through_ledger_set_and_import(numbers_ws, text, ok):
    tmp, ws, pid = numbers_ws
    with _open(ws) as w:
        before = w.store.get(pid)
    rc = run("ledger", "set", str(ws), pid, "--field", f"investment_wan={text}", "--user", "u")
    with _open(ws) as w:
        after = w.store.get(pid)
    if ok:
        assert rc == 0 and after.investment_wan == float(text)
    else:
        assert rc == 1 and after == before
    rc = run("ledger", "set", str(ws), pid, "--remaining-mu", text, "--user", "u")
    assert (rc == 0) if ok else (rc in (1, 2))
    # the same text typed into the returned workbook
    path = tmp / f"n{abs(hash(text))}.xlsx"
    assert run("ledger", "export-xlsx", str(ws), "-o", str(path), "--today", TODAY) == 0
    wb = openpyxl.load_workbook(path)
    sheet = wb["问题台账"]
    head = {c.value: c.column for c in sheet[1]}
    sheet.cell(2, head["县级财政补助(万元)"]).value = text
    wb.save(path)
    with _open(ws) as w:
        before = w.store.get(pid)
    rc = run("ledger", "import-xlsx", str(ws), str(path), "--user", "u")
    with _open(ws) as w:
        after = w.store.get(pid)
    if ok:
        assert rc == 0 and after.subsidy_county_wan == float(text)
    else:
        assert rc == 1 and after == before
    # and every export still works and holds the stored numbers
    out = tmp / f"out{abs(hash(text))}"
    assert run("export", str(ws), "--format", "all", "-o", str(out), "--today", TODAY) == 0
    rows = json.loads((out / "问题图斑.geojson").read_text(encoding="utf-8"))["features"]
    remaining = pyogrio.read_dataframe(out / "问题图斑.shp")["SYMJ"].iloc[0]
    assert rows[0]["properties"]["remaining_mu"] == pytest.approx(remaining)
    if ok:
        assert remaining == pytest.approx(float(text))  # the shapefile holds it too
    wb = openpyxl.load_workbook(out / "问题台账.xlsx")
    assert float(text) in {c.value for row in wb.worksheets[0].iter_rows() for c in row} or not ok


@pytest.mark.parametrize("bad", [float("inf"), -float("inf"), float("nan")])
def test_non_finite_numbers_in_an_input_layer_are_left_empty_with_a_warning(tmp_path, bad):
    g = parcels(("N1", box(0, 0, 100, 100)))
    g["JCMJ"] = [bad]
    src = write_batch(tmp_path / "b", g)
    frame = gpd.read_file(src["parcels"])
    assert "JCMJ" in frame.columns
    from parcelwatch.io.layers import load_layer

    if bad != bad:  # NaN is an empty number in GIS files: no warning
        loaded = load_layer(src["parcels"], role="parcels")
    else:
        with pytest.warns(UserWarning, match="not finite numbers"):
            loaded = load_layer(src["parcels"], role="parcels")
    assert loaded.frame["reported_area"].isna().all()


# ------------------------------------------------------------------------------ empty strings


def test_empty_strings(tmp_path, offline_page, capsys):
    """An empty parcel id is refused by name; an empty township is 未知乡镇 on the map; an empty
    person clears the field (typed on the command line or left blank in the workbook)."""
    ws = tmp_path / "ws"
    assert run("init", str(ws), "--county-code", "370790") == 0
    bad = write_batch(
        tmp_path / "bad", parcels(("", box(0, 0, 100, 100)), ("E2", box(200, 0, 300, 100)))
    )
    capsys.readouterr()
    assert (
        run(
            "check",
            str(ws),
            "--batch",
            "b1",
            "--user",
            "u",
            "--parcels",
            bad["parcels"],
            "--farmland",
            bad["farmland"],
        )
        == 1
    )
    err = capsys.readouterr().err
    assert "feature FID" in err and "Traceback" not in err
    src = write_batch(
        tmp_path / "b1", parcels(("E1", box(0, 0, 100, 100), ""), ("E2", box(200, 0, 300, 100)))
    )
    assert (
        run(
            "check",
            str(ws),
            "--batch",
            "b1",
            "--user",
            "u",
            "--parcels",
            src["parcels"],
            "--farmland",
            src["farmland"],
        )
        == 0
    )
    with _open(ws) as w:
        pid = _pid(w, "E1")
        assert w.store.get(pid).township_name == ""
    assert run("ledger", "set", str(ws), pid, "--person", "张三", "--user", "u") == 0
    assert run("ledger", "set", str(ws), pid, "--person", "", "--user", "u") == 0
    assert record({"ws": ws, "ids": {"e": pid}}, "e").responsible_person == ""
    files = tmp_path / "split" / "m.html"
    assert run("map", str(ws), "-o", str(files), "--split-by", "township", "--today", TODAY) == 0
    assert (files.parent / "m_未知乡镇.html").exists()
    pg = offline_page()
    page = pg.open(files.parent / "m_未知乡镇.html")
    assert sum(page.evaluate("pw.drawnByStatus()").values()) == 1 and pg.errors == []
    assert (
        run("export", str(ws), "--format", "all", "-o", str(tmp_path / "out"), "--today", TODAY)
        == 0
    )
