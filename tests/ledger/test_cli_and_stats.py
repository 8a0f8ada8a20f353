"""The commands (init, check, ledger ...), workspace errors, evidence hashes and statistics."""

from __future__ import annotations

import hashlib
from datetime import date

import openpyxl
import pytest

from parcelwatch.cli import main
from parcelwatch.config import rules_from_mapping
from parcelwatch.errors import ConfigError, InputError, LedgerError
from parcelwatch.ledger.model import Change, ProblemRecord, Status
from parcelwatch.ledger.stats import ledger_stats
from parcelwatch.ledger.workspace import evidence_from_file, open_workspace
from parcelwatch.pipeline import init_workspace
from tests.ledger.conftest import NOW, box, buildings, parcels, write_batch


def run(args, capsys):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def ws_path(tmp_path, capsys):
    ws = tmp_path / "ws"
    code, out, err = run(["init", ws, "--county-code", "370790", "--county-name", "样例县"], capsys)
    assert code == 0, err
    assert (ws / "ledger.gpkg").is_file() and 'code = "370790"' in (ws / "rules.toml").read_text(
        encoding="utf-8"
    )
    return ws


def test_readme_flow_on_the_command_line(ws_path, tmp_path, capsys):
    """init -> check batch 1 -> set statuses -> check batch 2 (a rebound) -> list/show/history/stats."""
    b1 = write_batch(
        tmp_path / "b1",
        parcels(("A1", box(0, 0, 100, 100)), ("E1", box(300, 0, 400, 100), "东河乡")),
        buildings(("B1", box(10, 10, 30, 30))),
    )
    args = ["check", ws_path, "--batch", "2026年第1批", "--issued", "2026-03-01", "--user", "张三"]
    code, out, err = run([*args, *[x for role, f in b1.items() for x in (f"--{role}", f)]], capsys)
    assert code == 0, err
    assert "新增问题 2，已在台账 0，反弹 0，重复核对 0" in out and "耕地非农化：新增 1" in out
    code, out, _ = run([*args, *[x for role, f in b1.items() for x in (f"--{role}", f)]], capsys)
    assert "新增问题 0，已在台账 0，反弹 0，重复核对 2；写入事件 0 条" in out
    pid = "370790-2026-000001"
    code, out, err = run(
        ["ledger", "set", ws_path, pid, "--status", "已销号", "--user", "李四"], capsys
    )
    assert code == 1 and "Traceback" not in err
    assert (
        f"Problem {pid}" in err
        and "未核查 -> 已销号 is not allowed" in err
        and "合法、其他、未整改" in err
    )
    photo = tmp_path / "现场照片.jpg"
    photo.write_bytes(b"\xff\xd8jpeg")
    steps = [
        ["--status", "未整改", "--class", "conversion"],
        [
            "--status",
            "整改中",
            "--measure",
            "拆除+复耕",
            "--deadline",
            "2026-06-30",
            "--unit",
            "禾丰镇政府",
            "--person",
            "王五",
        ],
        ["--status", "待验收", "--evidence", photo, "--note", "已拆除"],
        ["--status", "已销号"],
    ]
    for step in steps:
        code, out, err = run(["ledger", "set", ws_path, pid, *step, "--user", "李四"], capsys)
        assert code == 0, err
    assert f"{pid}: 已销号 (version 5)" in out
    code, out, err = run(
        [
            "ledger",
            "set",
            ws_path,
            "--where-status",
            "未核查",
            "--status",
            "其他",
            "--judgement-type",
            "伪变化",
            "--user",
            "李四",
        ],
        capsys,
    )
    assert code == 0 and "1 problem(s) changed" in out
    b2 = write_batch(
        tmp_path / "b2", parcels(("A2", box(5, 3, 104, 98)), ("N1", box(600, 0, 700, 100)))
    )
    code, out, err = run(
        [
            "check",
            ws_path,
            "--batch",
            "2026年第2批",
            "--issued",
            "2026-04-02",
            "--user",
            "张三",
            *[x for role, f in b2.items() for x in (f"--{role}", f)],
        ],
        capsys,
    )
    assert code == 0, err
    assert "新增问题 1，已在台账 0，反弹 1" in out and f"反弹问题：{pid}" in out
    code, out, _ = run(["ledger", "list", ws_path, "--status", "反弹"], capsys)
    assert pid in out and "1 problem(s)" in out
    code, out, _ = run(
        ["ledger", "list", ws_path, "--batch", "2026年第2批", "--today", "2026-06-05", "--overdue"],
        capsys,
    )
    assert "2 problem(s)" in out  # 反弹 and the new one, both due 2026-05-31
    code, out, _ = run(["ledger", "show", ws_path, pid], capsys)
    assert (
        "反弹次数" in out
        and "现场照片.jpg" in out
        and hashlib.sha256(b"\xff\xd8jpeg").hexdigest()[:16] in out
    )
    code, out, _ = run(["ledger", "history", ws_path, pid], capsys)
    assert "待验收 -> 已销号" in out and "已销号 -> 反弹" in out and "李四" in out
    code, out, _ = run(["ledger", "overdue", ws_path, "--today", "2026-06-05"], capsys)
    assert "2 problem(s) overdue on 2026-06-05" in out
    code, out, _ = run(
        ["ledger", "stats", ws_path, "--today", "2026-06-05", "--year", "2026"], capsys
    )
    assert code == 0 and "整改完成率 0.00%（0/1）" in out and "违法占用耕地面积比例未知" in out
    code, out, _ = run(["ledger", "transitions"], capsys)
    assert "待验收      已销号" in out


def test_excel_round_trip_on_the_command_line(ws_path, tmp_path, capsys):
    b1 = write_batch(
        tmp_path / "b1", parcels(("A1", box(0, 0, 100, 100)), ("E1", box(300, 0, 400, 100)))
    )
    run(
        [
            "check",
            ws_path,
            "--batch",
            "B1",
            "--user",
            "u",
            *[x for role, f in b1.items() for x in (f"--{role}", f)],
        ],
        capsys,
    )
    xlsx = tmp_path / "台账.xlsx"
    code, out, _ = run(["ledger", "export-xlsx", ws_path, "-o", xlsx], capsys)
    assert code == 0 and "2 problem(s)" in out
    wb = openpyxl.load_workbook(xlsx)
    ws = wb["问题台账"]
    heads = {c.value: c.column_letter for c in ws[1]}
    ws[f"{heads['状态']}2"] = "未整改"
    ws[f"{heads['认定类别']}2"] = "耕地非农化"
    ws[f"{heads['状态']}3"] = "整改中"  # not allowed from 未核查
    wb.save(tmp_path / "back.xlsx")
    code, out, err = run(
        ["ledger", "import-xlsx", ws_path, tmp_path / "back.xlsx", "--user", "u"], capsys
    )
    assert code == 1 and "问题台账 第3行 [状态] '整改中'" in out and "nothing was written" in err
    code, out, err = run(
        ["ledger", "import-xlsx", ws_path, tmp_path / "back.xlsx", "--user", "u", "--partial"],
        capsys,
    )
    assert code == 1 and "1 problem(s) were written" in err
    with open_workspace(ws_path) as w:
        assert w.store.get("370790-2026-000001").status is Status.ILLEGAL


def test_workspace_errors(tmp_path, capsys):
    code, _, err = run(["ledger", "list", tmp_path / "none"], capsys)
    assert code == 1 and "is not a parcelwatch workspace" in err and "parcelwatch init" in err
    init_workspace(tmp_path / "w", now=NOW).close()
    with pytest.raises(LedgerError, match="already has a ledger"):
        init_workspace(tmp_path / "w", now=NOW)
    with pytest.raises(ConfigError, match="not a 6-digit"):
        init_workspace(tmp_path / "w2", county_code="3707", now=NOW)
    with pytest.raises(ConfigError, match=r"unknown key \[ledger\].same_site_iuo"):
        init_workspace(tmp_path / "w3", rules_text="[ledger]\nsame_site_iuo = 0.4\n", now=NOW)
    code, _, err = run(
        ["ledger", "set", tmp_path / "w", "370790-2026-000001", "--status", "合法", "--user", "u"],
        capsys,
    )
    assert code == 1 and "No problem 370790-2026-000001" in err
    code, _, err = run(["ledger", "set", tmp_path / "w", "--status", "合法"], capsys)
    assert code == 2 and "Name the problem id(s)" in err


def test_evidence_is_referenced_with_its_hash(tmp_path):
    ws = init_workspace(tmp_path / "w", now=NOW)
    doc = tmp_path / "w" / "证据" / "备案.pdf"
    doc.parent.mkdir()
    doc.write_bytes(b"%PDF-1.4 filing")
    ev = evidence_from_file(doc, workspace=ws)
    assert (ev.kind, ev.ref, ev.sha256) == (
        "document",
        "证据/备案.pdf",
        hashlib.sha256(b"%PDF-1.4 filing").hexdigest(),
    )
    with pytest.raises(InputError, match="does not exist"):
        evidence_from_file(tmp_path / "missing.jpg")
    ws.close()


def _rec(i, status, judgement="", illegal=0.0, year=2026, town="禾丰镇", **kw):
    return ProblemRecord(
        problem_id=f"P{i}",
        status=status,
        judgement=judgement,
        illegal_farmland_m2=illegal,
        year=year,
        township_name=town,
        parcel_area_m2=1000.0,
        **kw,
    )


def test_stats_completion_rate_and_accountability_ratio():
    """Confirmed illegal: P1 (已销号), P2 (整改中), P3 (反弹 after closing), P4 (2025, closed) -> 整改完成率
    2/4 = 50%. Illegal 耕地 of 2026's confirmed problems: 2,000 + 1,000 + 500 = 3,500 m²; with 20,000 m²
    of 新增建设占用耕地 the ratio is 17.5% >= 15% (问责); with 30,000 m² it is 11.7% (预警)."""
    recs = [
        _rec(1, Status.CLOSED, "违法", 2000.0),
        _rec(2, Status.RECTIFYING, "违法", 1000.0, deadline=date(2026, 5, 1)),
        _rec(3, Status.REBOUND, "违法", 500.0, town="东河乡"),
        _rec(4, Status.CLOSED, "违法", 9999.0, year=2025),
        _rec(5, Status.LEGAL, "合法", 0.0),
        _rec(6, Status.UNVERIFIED, "", 0.0, verify_due=date(2026, 4, 30)),
    ]
    rules = rules_from_mapping({"ledger": {"new_construction_farmland_m2": 20000.0}})
    st = ledger_stats(recs, rules=rules, today=date(2026, 6, 1), year=2026)
    assert (st.total, st.confirmed, st.closed_confirmed, st.completion_rate, st.overdue) == (
        6,
        4,
        2,
        0.5,
        2,
    )
    assert (
        st.illegal_farmland_m2 == 3500.0
        and st.ratio == pytest.approx(0.175)
        and st.ratio_level == "达到15%问责标准"
    )
    assert "= 17.50%（达到15%问责标准）" in st.ratio_text()
    assert (
        st.by_status.loc["已销号", "count"] == 2 and st.by_township.loc["东河乡", "confirmed"] == 1
    )
    assert st.by_status.loc["整改中", "illegal_farmland_mu"] == 1.5  # 1,000 m² = 1.5 亩
    warn = ledger_stats(
        recs,
        rules=rules_from_mapping({"ledger": {"new_construction_farmland_m2": 30000.0}}),
        today=date(2026, 6, 1),
    )
    assert warn.ratio_level == "达到10%预警线"
    unknown = ledger_stats(recs, today=date(2026, 6, 1))
    assert unknown.ratio is None and "未知" in unknown.ratio_text()
    empty = ledger_stats([], today=date(2026, 6, 1))
    assert empty.total == 0 and empty.completion_rate is None


def test_set_many_problems_is_one_transaction(tmp_path, capsys):
    """--where-status selects 3 problems; one of them cannot take the change: none changes."""
    from tests.ledger.conftest import make_problems

    ws = init_workspace(tmp_path / "w", county_code="370790", now=NOW)
    ids = make_problems(ws.store, 3)
    ws.store.apply([Change(ids[2], Status.ILLEGAL, {"confirmed_class": "II"})], user="u", now=NOW)
    ws.close()
    code, _, err = run(
        [
            "ledger",
            "set",
            tmp_path / "w",
            *ids,
            "--status",
            "其他",
            "--judgement-type",
            "临时用地",
            "--user",
            "u",
        ],
        capsys,
    )
    assert code == 1 and ids[2] in err and "未整改 -> 其他 is not allowed" in err
    with open_workspace(tmp_path / "w") as w:
        assert [r.status for r in w.store.records()] == [
            Status.UNVERIFIED,
            Status.UNVERIFIED,
            Status.ILLEGAL,
        ]
