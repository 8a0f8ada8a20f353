"""The demo's battle map, Excel forms, exports and `ledger stats` agree on every figure they share.

Before one definition per figure (issue 10, point 3) they did not: the map's per-township 整改完成率
divided 已销号 by all parcels (禾丰镇 6 %), the Excel 乡镇整改进度 by 认定违法 (33.33 %), the map's
headline by a status list (25 % county-wide); 违法占用耕地 mixed confirmed and candidate problems in
`ledger stats` and 乡镇整改进度 but not in the ratio form; `ledger stats` summed unrounded areas
(东河乡 117.30) and the form rounded rows (117.31); counts printed as "29.00"; classes sorted III
before II.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from datetime import date

import openpyxl
import pytest
from click.testing import CliRunner

from parcelwatch.cli import cli
from parcelwatch.ledger import open_workspace
from parcelwatch.ledger.figures import figure_rows, figures, figures_by, mu_text, rate_text

TODAY = date(2026, 11, 7)  # the demo's map day and review day


@pytest.fixture(scope="module")
def demo(demo_run):
    out, result = demo_run.out, demo_run  # the session's demo, read-only
    ws = open_workspace(out / "workspace")
    records = ws.store.records(geometry=False)
    rows = figure_rows(records, today=TODAY)
    return out, result, records, rows


def _stats_text(out) -> str:
    res = CliRunner().invoke(
        cli, ["ledger", "stats", str(out / "workspace"), "--today", TODAY.isoformat()]
    )
    assert res.exit_code == 0, res.output
    return res.output


def _block(text: str, title: str) -> dict[str, list[str]]:
    lines = text.splitlines()
    i = lines.index(f"{title}:")
    out = {}
    for line in lines[i + 3 :]:
        if not line.startswith("  ") or line.endswith(":"):
            break
        cells = line.split()
        out[cells[0]] = cells[1:]
    return out


def test_ledger_stats_prints_the_figures(demo):
    out, _, _, rows = demo
    text = _stats_text(out)
    county = figures(rows)
    towns = _block(text, "按乡镇")
    for f in figures_by(rows, "township"):
        d = f.display()
        assert towns[f.name] == [
            str(d[k]) for k in ("count", "confirmed", "closed", "rectifying", "overdue")
        ] + [
            d["parcel_mu"],
            d["illegal_confirmed_mu"],
            d["illegal_candidate_mu"],
            d["remaining_mu"],
        ]
    assert (
        f"整改完成率 {rate_text(county.completion_rate)}（{county.closed}/{county.confirmed}）"
        in text
    )
    # counts are integers; classes in the one order (I, II, III, 非农化 ...)
    status = _block(text, "按状态")
    assert all(re.fullmatch(r"\d+", v[0]) for v in status.values())
    classes = list(_block(text, "按类别"))
    order = [c for c in ("第一类", "第二类", "第三类", "耕地非农化") if c in classes]
    assert [c for c in classes if c in order] == order
    assert classes.index("疑似第二类") < classes.index("疑似第三类")


def test_progress_form_equals_the_figures(demo):
    _, result, _, rows = demo
    wb = openpyxl.load_workbook(result.outputs["export xlsx_progress"], read_only=True)
    table = [tuple(r) for r in wb["乡镇整改进度"].iter_rows(values_only=True)]
    header = table[2]
    body = {r[0]: r for r in table[4:] if r[0]}
    for f in [*figures_by(rows, "township"), figures(rows)]:
        r = body[f.name]
        d = f.display()
        assert r[1:6] == (d["count"], d["confirmed"], d["closed"], d["rectifying"], d["overdue"])
        assert (rate_text(r[6]) if r[6] is not None else "—") == d["rate"]
        assert [f"{v:.2f}" for v in r[7:11]] == [
            d["parcel_mu"],
            d["illegal_confirmed_mu"],
            d["illegal_candidate_mu"],
            d["remaining_mu"],
        ]
    assert "违法占用耕地（已认定）" in header and "疑似违法占用耕地（未认定）" in header


def test_ratio_form_equals_ledger_stats(demo):
    out, result, _, _ = demo
    text = _stats_text(out)
    wb = openpyxl.load_workbook(result.outputs["export xlsx_ratio"], read_only=True)
    values = {r[0]: r[1] for r in wb["违法占用耕地面积比例"].iter_rows(values_only=True) if r[0]}
    m = re.search(r"违法占用耕地（已认定）(\S+) 亩 ÷ 新增建设占用耕地 (\S+) 亩 = (\S+)（", text)
    assert m, text
    assert f"{values['违法占用耕地面积(已认定，亩)']:.2f}" == m.group(1)
    assert f"{values['新增建设占用耕地面积(亩)']:.2f}" == m.group(2)
    assert rate_text(values["违法占用耕地面积比例"]) == m.group(3)


def _map_config(path) -> dict:
    html = path.read_text(encoding="utf-8")
    return json.loads(
        re.search(
            r'<script id="pw-config" type="application/json">(.*?)</script>', html, re.S
        ).group(1)
    )


def test_battle_map_shows_the_same_figures(demo, offline_page):
    _, result, _, rows = demo
    path = result.outputs["battle map (挂图作战, opens offline)"]
    county = figures(rows)
    towns = figures_by(rows, "township")
    pg = offline_page()
    page = pg.open(path)
    assert page.inner_text("#pw-rate") == rate_text(county.completion_rate)
    shown = {}
    for tr in page.query_selector_all("#pw-by-township tbody tr"):
        cells = [td.inner_text() for td in tr.query_selector_all("td")]
        shown[cells[0]] = cells[1:]
    for f in towns:
        d = f.display()
        assert shown[f.name] == [
            str(d[k]) for k in ("count", "confirmed", "closed", "rectifying", "overdue")
        ] + [d["rate"], d["parcel_mu"]]
        page.select_option("#pw-township", f.name)
        assert page.inner_text("#pw-rate") == d["rate"]
        assert d["illegal_confirmed_mu"] in page.inner_text("#pw-illegal")
    page.select_option("#pw-township", "")
    by_status = {
        tr.query_selector_all("td")[0].inner_text().strip(): [
            td.inner_text() for td in tr.query_selector_all("td")[1:]
        ]
        for tr in page.query_selector_all("#pw-by-status tbody tr")
    }
    for f in figures_by(rows, "status"):
        assert by_status[f.name] == [str(f.count), f.display()["parcel_mu"]]


def test_exports_share_counts_and_areas_with_the_forms_and_the_map(demo):
    _, result, records, rows = demo
    with open(result.outputs["export csv"], encoding="utf-8-sig", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert Counter(r["乡镇名称"] for r in table) == {
        f.name: f.count for f in figures_by(rows, "township")
    }
    assert Counter(r["整改状态"] for r in table) == {
        f.name: f.count for f in figures_by(rows, "status")
    }
    assert sum(r["是否逾期"] == "是" for r in table) == figures(rows).overdue
    # per problem: the same 图斑面积(亩) in the CSV, the ledger form and the map's data
    by_id = {r.problem_id: r for r in records}
    wb = openpyxl.load_workbook(result.outputs["export xlsx_ledger"], read_only=True)
    form = [tuple(r) for r in wb["问题台账"].iter_rows(values_only=True)]
    col = {h: j for j, h in enumerate(form[2])}
    form_mu = {r[col["问题编号"]]: r[col["图斑面积(亩)"]] for r in form[3:] if r[0] != "合计"}
    cfg_data = result.outputs["battle map (挂图作战, opens offline)"].read_text(encoding="utf-8")
    data = json.loads(
        re.search(
            r'<script id="pw-data" type="application/json">(.*?)</script>', cfg_data, re.S
        ).group(1)
    )
    ids, areas = (
        data["values"][data["columns"].index("problem_id")],
        data["values"][data["columns"].index("parcel_area_mu")],
    )
    map_mu = dict(zip(ids, areas, strict=True))
    for r in table:
        pid = r["问题编号"]
        want = mu_text(by_id[pid].parcel_area_m2)
        assert (
            r["图斑面积(亩)"] == want.rstrip("0").rstrip(".")
            or f"{float(r['图斑面积(亩)']):.2f}" == want
        )
        assert f"{form_mu[pid]:.2f}" == want and f"{map_mu[pid]:.2f}" == want


# ------------------------------------------------------------------------------------------
# Issue 12, done-when 3 and 5: the demo's ledger with every source (卫片 + a 巡查 and a 巡察 point
# problem, workspace-sources) says the same figures, the source breakdown included, in its battle
# map, its forms and `ledger stats --by source`; the two point problems are markers on the map.


@pytest.fixture(scope="module")
def sources(demo, tmp_path_factory):
    from parcelwatch.pipeline import export_all

    out, result, _, _ = demo
    ws = open_workspace(out / "workspace-sources")
    try:
        records = ws.store.records(geometry=False)
        forms = export_all(ws, tmp_path_factory.mktemp("sources-forms"), today=TODAY)
    finally:
        ws.close()
    return out, result, records, figure_rows(records, today=TODAY), forms


def test_sources_ledger_figures_agree_in_map_forms_and_stats(sources, offline_page):
    out, result, records, rows, forms = sources
    assert Counter(r.source for r in records) == {"卫片": 35, "巡查": 1, "巡察": 1}
    res = CliRunner().invoke(cli, ["ledger", "stats", str(out / "workspace-sources"), "--today",
                                   TODAY.isoformat(), "--by", "source"])  # fmt: skip
    assert res.exit_code == 0, res.output
    by_source = _block(res.output, "按问题来源")
    towns = _block(res.output, "按乡镇")
    want = {f.name: f.display() for f in figures_by(rows, "source")}
    assert set(want) == set(by_source) == {"卫片", "巡查", "巡察"}
    for name, d in want.items():
        cells = by_source[name]
        assert cells[:5] == [
            str(d[k]) for k in ("count", "confirmed", "closed", "rectifying", "overdue")
        ]
        assert cells[5] == d["parcel_mu"] and cells[-1] == d["rate"]
    for f in figures_by(rows, "township"):
        assert towns[f.name][:5] == [
            str(v) for v in (f.count, f.confirmed, f.closed, f.rectifying, f.overdue)
        ]
    # the forms: 乡镇整改进度 (per township and per 问题来源) and one 问题台账 row per problem
    wb = openpyxl.load_workbook(forms["xlsx_progress"], read_only=True)
    for sheet, key in (("乡镇整改进度", "township"), ("按问题来源", "source")):
        table = [tuple(r) for r in wb[sheet].iter_rows(values_only=True)]
        body = {r[0]: r for r in table[4:] if r[0]}
        for f in [*figures_by(rows, key), figures(rows)]:
            d = f.display()
            r = body[f.name]
            assert r[1:6] == (
                d["count"],
                d["confirmed"],
                d["closed"],
                d["rectifying"],
                d["overdue"],
            )
            assert (rate_text(r[6]) if r[6] is not None else "—") == d["rate"]
            assert f"{r[7]:.2f}" == d["parcel_mu"]
    led = [
        tuple(r)
        for r in openpyxl.load_workbook(forms["xlsx_ledger"], read_only=True)["问题台账"].iter_rows(
            values_only=True
        )
    ]
    col = led[2].index("问题来源")
    assert Counter(r[col] for r in led[3:] if r[0] != "合计") == {
        k: d["count"] for k, d in want.items()
    }
    # the map: headline, township table and the 问题来源 table; the point problems as markers
    path = result.outputs["battle map with every source (卫片 + 巡查/巡察 points)"]
    page = offline_page().open(path)
    assert page.inner_text("#pw-rate") == rate_text(figures(rows).completion_rate)
    shown = {}
    for tr in page.query_selector_all("#pw-by-township tbody tr"):
        cells = [td.inner_text() for td in tr.query_selector_all("td")]
        shown[cells[0]] = cells[1:]
    for f in figures_by(rows, "township"):
        d = f.display()
        assert shown[f.name] == [
            str(d[k]) for k in ("count", "confirmed", "closed", "rectifying", "overdue")
        ] + [d["rate"], d["parcel_mu"]]
    src = {}
    for tr in page.query_selector_all("#pw-by-source tbody tr"):
        cells = [td.inner_text() for td in tr.query_selector_all("td")]
        src[cells[0]] = cells[1:]
    assert src == {k: [str(d["count"]), str(d["confirmed"]), str(d["closed"]), d["rate"], d["parcel_mu"]]
                   for k, d in want.items()}  # fmt: skip
    points = {r.problem_id: r for r in records if r.source in ("巡查", "巡察")}
    assert all(r.geometry is None and r.lon is not None for r in points.values())
    markers = {m["problem_id"]: m for m in page.evaluate("window.pw.markers()")}
    assert set(markers) == set(points)
    from parcelwatch.labels import STATUS_STYLE

    for pid, m in markers.items():
        assert m["fillColor"] == STATUS_STYLE[points[pid].status.value]["color"]
