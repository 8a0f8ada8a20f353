"""Every status and class label a user reads comes from parcelwatch.labels (issue 17, done-when 3).

Each output of the session's demo is read back as a user gets it: the battle map's data, the Excel
forms, the CSV and GeoJSON exports and `ledger stats` on the terminal. Every status and class
word in them must be one of labels.py's (zh; en where the output has an English mode: the map's
second language), and each output must show some (so a renamed column cannot pass vacuously).
"""

from __future__ import annotations

import csv
import json
import re

import openpyxl
import pytest
from click.testing import CliRunner

from parcelwatch.cli import cli
from parcelwatch.labels import (
    CANDIDATE_PREFIX,
    CLASS_LABELS,
    CLASS_ORDER,
    CONFIRMED_CLASS_CODES,
    FIGURE_LABELS,
    STATUS_EN,
    STATUS_ORDER,
    STATUS_STYLE,
)
from tests.conftest import DemoRun

STATUSES = set(STATUS_ORDER)
CLASS_WORDS = set(CLASS_LABELS["zh"].values()) | {
    CANDIDATE_PREFIX + CLASS_LABELS["zh"][c] for c in CLASS_ORDER if c != "none"
}


def _check(values: list[str], allowed: set[str], what: str) -> None:
    shown = {v for v in values if v not in (None, "")}
    assert shown, f"{what}: no label at all (column renamed?)"
    assert shown <= allowed, f"{what}: {sorted(shown - allowed)} not in parcelwatch.labels"


def _map_blocks(html: str) -> tuple[dict, dict]:
    blocks = dict(
        re.findall(r'<script id="(pw-[a-z]+)" type="application/json">(.*?)</script>', html, re.S)
    )
    return json.loads(blocks["pw-config"]), json.loads(blocks["pw-data"])


def test_battle_map_labels(demo_run: DemoRun) -> None:
    html = demo_run.outputs["battle map (挂图作战, opens offline)"].read_text(encoding="utf-8")
    config, data = _map_blocks(html)
    assert config["classNames"] == {c: CLASS_LABELS["zh"][c] for c in CLASS_ORDER}
    assert config["statusEn"] == STATUS_EN  # the page's English mode
    assert set(config["statusStyle"]) == STATUSES
    assert {k: v["color"] for k, v in config["statusStyle"].items()} == {
        k: v["color"] for k, v in STATUS_STYLE.items()
    }
    column = dict(zip(data["columns"], data["values"], strict=True))  # columnar page data
    _check(column["status"], STATUSES, "map status")
    _check(column["status_en"], set(STATUS_EN.values()), "map status (en)")
    _check([config["classNames"][c] for c in column["map_class"]], CLASS_WORDS, "map class layer")
    assert "其他/未分类" not in html


def _sheet_columns(path, sheet: str | None = None) -> dict[str, list]:
    wb = openpyxl.load_workbook(path, read_only=True)
    ws = wb[sheet] if sheet else wb.worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    wb.close()
    head = next(
        i
        for i, r in enumerate(rows)
        if r and {"状态", "整改状态"} & {str(v or "").strip() for v in r}
    )
    names = [str(v or "").strip() for v in rows[head]]
    return {n: [r[j] for r in rows[head + 1 :] if j < len(r)] for j, n in enumerate(names) if n}


@pytest.mark.parametrize(
    "key", ["export xlsx_ledger", "ledger as Excel for editing (import-xlsx takes it back)"]
)
def test_excel_ledger_forms_labels(demo_run: DemoRun, key: str) -> None:
    cols = _sheet_columns(demo_run.outputs[key])
    status = cols.get("整改状态") or cols["状态"]
    _check([str(v) for v in status if v], STATUSES, f"{key} 状态")
    for name in ("疑似类别", "认定类别", "问题类型"):
        if name in cols:
            _check([str(v) for v in cols[name] if v], CLASS_WORDS, f"{key} {name}")


def test_editing_workbook_dropdowns_are_the_labels(demo_run: DemoRun) -> None:
    path = demo_run.outputs["ledger as Excel for editing (import-xlsx takes it back)"]
    wb = openpyxl.load_workbook(path)
    lists = []
    for ws in wb.worksheets:
        for dv in ws.data_validations.dataValidation:
            if dv.type == "list" and dv.formula1:
                f = dv.formula1.strip('"')
                if "!" in f:  # a range on a lists sheet
                    sheet, ref = f.split("!")
                    cells = wb[sheet.strip("'")][ref.replace("$", "")]
                    cells = cells if isinstance(cells, tuple) else ((cells,),)
                    lists.append({str(c.value) for row in cells for c in row if c.value})
                else:
                    lists.append(set(f.split(",")))
    assert STATUSES in lists or any(STATUSES <= s for s in lists), lists
    confirmed = {CLASS_LABELS["zh"][c] for c in CONFIRMED_CLASS_CODES}
    assert any(confirmed <= s and s <= CLASS_WORDS for s in lists), lists


def test_csv_and_geojson_exports_labels(demo_run: DemoRun) -> None:
    with open(demo_run.outputs["export csv"], encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    _check([r["整改状态"] for r in rows], STATUSES, "CSV 整改状态")
    for name in ("疑似类别", "认定类别", "问题类型"):
        _check([r[name] for r in rows], CLASS_WORDS, f"CSV {name}")
    gj = json.loads(demo_run.outputs["export geojson"].read_text(encoding="utf-8"))
    props = [f["properties"] for f in gj["features"]]
    status_key = next(k for k in props[0] if k in ("整改状态", "status", "ZGZT"))
    _check([p[status_key] for p in props], STATUSES, "GeoJSON status")
    class_keys = [
        k
        for k in props[0]
        if k
        in (
            "疑似类别",
            "认定类别",
            "问题类型",
            "candidate_class",
            "confirmed_class",
            "problem_type",
        )
    ]
    assert class_keys, list(props[0])
    for k in class_keys:
        _check([p[k] for p in props], CLASS_WORDS, f"GeoJSON {k}")


def test_ledger_stats_cli_labels(demo_run: DemoRun) -> None:
    res = CliRunner().invoke(
        cli, ["ledger", "stats", str(demo_run.workspace), "--today", "2026-11-07"]
    )
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()

    def block(title: str) -> tuple[str, list[str]]:
        i = lines.index(f"{title}:")
        body = []
        for line in lines[i + 3 :]:
            if not line.startswith("  "):
                break
            body.append(line.split()[0])
        return lines[i + 1], body

    head, statuses = block("按状态")
    _check(statuses, STATUSES, "ledger stats 按状态")
    assert statuses == [s for s in STATUS_ORDER if s in statuses]  # in labels.py's order
    assert FIGURE_LABELS["zh"]["rectifying"] in head and FIGURE_LABELS["zh"]["closed"] in head
    _, classes = block("按类别")
    _check(classes, CLASS_WORDS, "ledger stats 按类别")


def test_campaign_clue_choices_are_the_reports_words() -> None:
    """`--suspected` offers exactly reports.campaign.SUSPECTED, whose classes are labels.py's."""
    import click

    from parcelwatch.reports.campaign import SUSPECTED

    def options(group: click.Command):
        if isinstance(group, click.Group):
            for sub in group.commands.values():
                yield from options(sub)
        for p in group.params:
            if "--suspected" in getattr(p, "opts", ()) and isinstance(p.type, click.Choice):
                yield p

    found = list(options(cli))
    assert found and all(tuple(p.type.choices) == SUSPECTED for p in found)
    assert {CLASS_LABELS["zh"][c] for c in ("I", "II", "III")} <= set(SUSPECTED)
