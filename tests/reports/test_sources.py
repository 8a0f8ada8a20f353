"""SEED-SYSTEMS 0.P1: problems from every source, the new fields, stats as of a date and by group.

Hand-made cases: an empty workspace of county 370790; the point (113.6E, 35.3N) is in 获嘉县 (seed
001); the farmland square below is drawn in EPSG:4549 so the expected areas are planar ratios.
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta, timezone

import geopandas as gpd
import pyogrio
import pytest

from parcelwatch.cli import main
from parcelwatch.errors import SchemaError
from parcelwatch.ledger.add import NewProblem, add_problem
from parcelwatch.ledger.model import Change, Status
from parcelwatch.ledger.stats import group_table, ledger_stats, records_as_of
from parcelwatch.ledger.store import GpkgStore
from parcelwatch.ledger.workspace import open_workspace
from tests.ledger.conftest import FARM, box

TZ = timezone(timedelta(hours=8))


def run(args, capsys):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def ws(tmp_path, capsys):
    path = tmp_path / "ws"
    code, _, err = run(["init", path, "--county-code", "370790", "--county-name", "获嘉县"], capsys)
    assert code == 0, err
    return path


def at(y, m, d, h=10):
    return datetime(y, m, d, h, tzinfo=TZ)


def test_T_P1_01_ledger_add_a_point_problem_from_the_inspection(ws, capsys):
    code, out, err = run(
        ["ledger", "add", ws, "--source", "巡察", "--township", "太山镇", "--lon", "113.6", "--lat", "35.3",
         "--found", "2024-10-14", "--user", "张三"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert out.strip() == "370790-2024-000001: 未核查 (来源 巡察)"
    with open_workspace(ws) as w:
        rec = w.store.get("370790-2024-000001")
        evs = w.store.events("370790-2024-000001")
    assert (rec.source, rec.found_on, rec.lon, rec.lat, rec.geometry) == (
        "巡察",
        date(2024, 10, 14),
        113.6,
        35.3,
        None,
    )
    assert [e.kind for e in evs] == ["create"] and evs[0].user == "张三"
    code, out, _ = run(["ledger", "list", ws], capsys)
    assert "370790-2024-000001" in out and "1 problem(s)" in out


def test_T_P1_02_ledger_add_without_source_names_the_allowed_sources(ws, capsys):
    code, out, err = run(
        ["ledger", "add", ws, "--township", "太山镇", "--lon", "113.6", "--lat", "35.3"], capsys
    )
    assert code == 2
    assert "--source" in err and all(s in err for s in ("巡察", "巡查", "举报", "上级交办"))
    with open_workspace(ws) as w:
        assert w.store.records() == []


def _one(ws, **kw):
    with open_workspace(ws) as w:
        return add_problem(
            w.store,
            NewProblem("巡查", "太山镇", lon=113.6, lat=35.3, **kw),
            user="u",
            now=at(2025, 1, 2),
            rules=w.rules,
        )


def test_T_P1_03_recovered_plus_in_recovery_cannot_exceed_suspected(ws, capsys):
    pid = _one(ws)
    code, out, err = run(
        ["ledger", "set", ws, pid, "--field", "funds_suspected_wan=10", "--field", "funds_recovered_wan=8",
         "--field", "funds_in_recovery_wan=3", "--user", "u"],
        capsys,
    )  # fmt: skip
    assert code != 0 and "涉嫌骗取资金" in err and "Nothing was changed" in err
    with open_workspace(ws) as w:
        rec = w.store.get(pid)
    assert rec.version == 1 and rec.funds_suspected_wan is None and rec.funds_recovered_wan is None
    code, _, err = run(["ledger", "set", ws, pid, "--field", "funds_suspected_wan=10", "--field", "funds_recovered_wan=8",
                        "--field", "funds_in_recovery_wan=2", "--user", "u"], capsys)  # fmt: skip
    assert code == 0, err


def test_T_P1_04_acceptance_result_yes_is_stored_as_pass(ws, capsys):
    pid = _one(ws)
    code, _, err = run(
        ["ledger", "set", ws, pid, "--field", "acceptance_result=是", "--user", "u"], capsys
    )
    assert code == 0, err
    with open_workspace(ws) as w:
        assert w.store.get(pid).acceptance_result == "合格"


def test_new_fields_are_checked_like_any_other(ws):
    with pytest.raises(SchemaError, match="1900 and 2100"):
        _one(ws, fields={"construction_year": 1800})
    with pytest.raises(SchemaError, match="是、否"):
        _one(ws, fields={"reclaimed": "好"})
    with pytest.raises(SchemaError, match="not in China"):
        with open_workspace(ws) as w:
            add_problem(
                w.store,
                NewProblem("巡查", "太山镇", lon=35.3, lat=113.6),
                user="u",
                now=at(2025, 1, 2),
            )
    with pytest.raises(SchemaError, match="either as a polygon"):
        with open_workspace(ws) as w:
            add_problem(w.store, NewProblem("巡查", "太山镇"), user="u", now=at(2025, 1, 2))
    with open_workspace(ws) as w:
        assert w.store.records() == []


def test_a_polygon_gets_the_overlay_of_check(ws, tmp_path, capsys):
    """A 40 m x 50 m site (2000 m²) whose western 10 m lie off the farmland square (0..2000 m):
    drawn from x = -10 to 30, the farmland part is 30 x 50 = 1500 m²."""
    site = gpd.GeoDataFrame(
        {"name": ["a", "b"]}, geometry=[box(-10, 100, 30, 150), box(500, 500, 510, 510)], crs=4549
    )
    pyogrio.write_dataframe(site, tmp_path / "site.gpkg")
    pyogrio.write_dataframe(FARM.rename(columns={"dlbm": "DLBM"}), tmp_path / "farm.gpkg")
    code, out, err = run(["ledger", "add", ws, "--source", "巡查", "--township", "太山镇", "--geometry", tmp_path / "site.gpkg",
                          "--found", "2025-03-01", "--user", "u"], capsys)  # fmt: skip
    assert code != 0 and "2 features" in err and "--where" in err
    code, out, err = run(
        ["ledger", "add", ws, "--source", "巡查", "--township", "太山镇", "--geometry", tmp_path / "site.gpkg",
         "--where", "name = 'a'", "--farmland", tmp_path / "farm.gpkg", "--found", "2025-03-01", "--user", "u"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    with open_workspace(ws) as w:
        rec = w.store.get("370790-2025-000001")
    assert rec.parcel_area_m2 == pytest.approx(2000, rel=1e-3)
    assert rec.farmland_m2 == pytest.approx(1500, rel=1e-3)
    assert rec.geometry is not None and rec.lon is not None


def _walk_to_closed(store, pid, days):
    """未核查 -> 未整改 (违法) -> 整改中 -> 待验收 -> 已销号, one event on each of ``days``."""
    steps = [
        dict(
            status="未整改",
            judgement_type="农村乱占耕地建房",
            confirmed_class="conversion",
            measure="拆除+复耕",
        ),
        dict(status="整改中"),
        dict(status="待验收"),
        dict(status="已销号", decision_ref="获政土〔2024〕27号"),
    ]
    for day, step in zip(days, steps, strict=True):
        fields = {k: v for k, v in step.items() if k != "status"}
        store.apply([Change(pid, Status.parse(step["status"]), fields)], user="u", now=at(*day))


def test_T_P1_05_stats_as_of_a_date_replay_the_events(ws, capsys):
    """Two problems confirmed illegal; one is closed on 2026-06-15. As of 06-14 it is still 待验收:
    整改完成率 0/2; as of 06-15 it is 1/2 = 50.00%."""
    with open_workspace(ws) as w:
        a = add_problem(
            w.store,
            NewProblem("巡查", "太山镇", lon=113.6, lat=35.3),
            user="u",
            now=at(2026, 6, 1),
            rules=w.rules,
        )
        b = add_problem(
            w.store,
            NewProblem("举报", "亢村镇", lon=113.7, lat=35.3),
            user="u",
            now=at(2026, 6, 1),
            rules=w.rules,
        )
        _walk_to_closed(w.store, a, [(2026, 6, 2), (2026, 6, 3), (2026, 6, 10), (2026, 6, 15)])
        w.store.apply(
            [
                Change(
                    b,
                    Status.ILLEGAL,
                    {"judgement_type": "未批先建", "confirmed_class": "conversion"},
                )
            ],
            user="u",
            now=at(2026, 6, 2),
        )
        evs = w.store.events()
        before = ledger_stats(records_as_of(evs, date(2026, 6, 14)), today=date(2026, 6, 14))
        after = ledger_stats(records_as_of(evs, date(2026, 6, 15)), today=date(2026, 6, 15))
        assert records_as_of(evs, date(2026, 5, 31)) == []
    assert {r.problem_id: r.status.value for r in records_as_of(evs, date(2026, 6, 14))} == {
        a: "待验收",
        b: "未整改",
    }
    assert (before.confirmed, before.closed_confirmed) == (2, 0)
    assert (after.confirmed, after.closed_confirmed) == (2, 1)
    code, out, err = run(["ledger", "stats", ws, "--as-of", "2026-06-14", "--by", "source"], capsys)
    assert code == 0, err
    assert "截至 2026-06-14" in out and "整改完成率 0.00%（0/2）" in out and "按问题来源" in out
    code, out, err = run(["ledger", "stats", ws, "--as-of", "2026-06-15"], capsys)
    assert "整改完成率 50.00%（1/2）" in out


def test_done_when_4_a_past_report_does_not_change_when_later_events_come(ws, capsys):
    with open_workspace(ws) as w:
        a = add_problem(
            w.store,
            NewProblem("巡查", "太山镇", lon=113.6, lat=35.3),
            user="u",
            now=at(2026, 6, 1),
            rules=w.rules,
        )
    code, first, _ = run(
        ["ledger", "stats", ws, "--as-of", "2026-06-05", "--by", "township"], capsys
    )
    with open_workspace(ws) as w:
        _walk_to_closed(w.store, a, [(2026, 6, 6), (2026, 6, 7), (2026, 6, 8), (2026, 6, 9)])
        add_problem(
            w.store,
            NewProblem("举报", "亢村镇", lon=113.7, lat=35.3),
            user="u",
            now=at(2026, 6, 6),
            rules=w.rules,
        )
    code, again, _ = run(
        ["ledger", "stats", ws, "--as-of", "2026-06-05", "--by", "township"], capsys
    )
    code, now_, _ = run(
        ["ledger", "stats", ws, "--as-of", "2026-06-09", "--by", "township"], capsys
    )
    assert code == 0 and first == again and now_ != first


def test_T_P1_06_stats_print_counts_as_integers(ws, capsys):
    with open_workspace(ws) as w:
        for i in range(3):
            add_problem(
                w.store,
                NewProblem("巡查", "太山镇", lon=113.6 + i / 100, lat=35.3),
                user="u",
                now=at(2026, 6, 1),
                rules=w.rules,
            )
    code, out, err = run(["ledger", "stats", ws, "--today", "2026-06-02", "--by", "leader"], capsys)
    assert code == 0, err
    row = next(line for line in out.splitlines() if line.strip().startswith("未核查"))
    assert row.split()[1] == "3" and "3.00" not in row.split()[1:5]
    tbl = group_table(records_as_of([], date(2026, 1, 1)), "unit", today=date(2026, 1, 1))
    assert len(tbl) == 0


def test_T_P1_07_a_schema_2_ledger_gets_the_new_columns_and_imports_unchanged(tmp_path, capsys):
    """Build a ledger, turn it back into schema 2 (drop the 0.P1 columns), reopen: migrated with a
    backup; the exported Excel has 问题来源 and imports back with no change."""
    from parcelwatch.ledger.model import FIELDS

    ws = tmp_path / "ws"
    assert run(["init", ws, "--county-code", "370790"], capsys)[0] == 0
    with open_workspace(ws) as w:
        pid = add_problem(
            w.store,
            NewProblem("巡查", "太山镇", lon=113.6, lat=35.3),
            user="u",
            now=at(2026, 6, 1),
            rules=w.rules,
        )
    con = sqlite3.connect(ws / "ledger.gpkg")
    con.create_function("parcelwatch_writer", 0, lambda: 1)
    new = [f.name for f in FIELDS[FIELDS.index(next(f for f in FIELDS if f.name == "source")) :]]
    for c in new:
        con.execute(f'ALTER TABLE problems DROP COLUMN "{c}"')
    con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    store = GpkgStore(ws / "ledger.gpkg")
    try:
        assert store.meta()["schema_version"] == "3"
        assert store.get(pid).source == ""  # the old row: new fields empty
    finally:
        store.close()
    assert (ws / "ledger.schema2-backup.gpkg").exists()
    out_x = tmp_path / "台账.xlsx"
    code, _, err = run(["ledger", "export-xlsx", ws, "-o", out_x, "--today", "2026-06-02"], capsys)
    assert code == 0, err
    import openpyxl

    heads = [
        c.value
        for row in openpyxl.load_workbook(out_x).worksheets[0].iter_rows(max_row=5)
        for c in row
    ]
    assert "问题来源" in heads and "发现日期" in heads
    code, out, err = run(["ledger", "import-xlsx", ws, out_x, "--user", "u"], capsys)
    assert code == 0, err
    with open_workspace(ws) as w:
        assert w.store.get(pid).version == 1


def _append_row(path, values: dict[str, object]) -> None:
    import openpyxl

    wb = openpyxl.load_workbook(path)
    ws = wb["问题台账"]
    hrow = next(r for r in range(1, 10) if ws.cell(r, 2).value == "问题编号")
    heads = {ws.cell(hrow, j).value: j for j in range(1, ws.max_column + 1)}
    r = ws.max_row + 1
    for k, v in values.items():
        ws.cell(r, heads[k], v)
    wb.save(path)


def test_excel_row_without_id_creates_a_problem_all_or_nothing(ws, tmp_path, capsys):
    """Two new rows; the second lacks 乡镇 -> nothing is written and the row is named. Fixed ->
    both are created (ids 370790-2025-000001/2), 发现日期 gives the year."""
    out_x = tmp_path / "台账.xlsx"
    assert run(["ledger", "export-xlsx", ws, "-o", out_x, "--today", "2025-03-01"], capsys)[0] == 0
    good = {"问题来源": "举报", "乡镇(街道)": "太山镇", "村": "沙窝营村", "经度": 113.61, "纬度": 35.27,
            "发现日期": "2025-02-03", "位置描述": "村西小猛超市西", "建设年份": 2023, "责任领导": "徐波"}  # fmt: skip
    _append_row(out_x, good)
    _append_row(out_x, {**good, "乡镇(街道)": None, "位置描述": "另一处"})
    code, out, err = run(["ledger", "import-xlsx", ws, out_x, "--user", "u"], capsys)
    assert code != 0 and "township" in out + err and "nothing was written" in err
    with open_workspace(ws) as w:
        assert w.store.records() == []
    # fix the second row
    import openpyxl

    wb = openpyxl.load_workbook(out_x)
    sh = wb["问题台账"]
    hrow = next(r for r in range(1, 10) if sh.cell(r, 2).value == "问题编号")
    col = next(j for j in range(1, sh.max_column + 1) if sh.cell(hrow, j).value == "乡镇(街道)")
    sh.cell(sh.max_row, col, "亢村镇")
    wb.save(out_x)
    code, out, err = run(["ledger", "import-xlsx", ws, out_x, "--user", "u"], capsys)
    assert code == 0, out + err
    with open_workspace(ws) as w:
        recs = {r.problem_id: r for r in w.store.records()}
    assert sorted(recs) == ["370790-2025-000001", "370790-2025-000002"]
    r1 = recs["370790-2025-000001"]
    assert (
        r1.source,
        r1.township_name,
        r1.village_name,
        r1.construction_year,
        r1.responsible_leader,
        r1.lon,
    ) == ("举报", "太山镇", "沙窝营村", 2023, "徐波", 113.61)
    assert recs["370790-2025-000002"].township_name == "亢村镇"
