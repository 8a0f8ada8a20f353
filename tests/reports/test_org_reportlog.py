"""SEED-SYSTEMS 0.P2 (organisation registry), 0.P3 (sign-offs, signature blocks) and 0.P4 (report
log, `reportlog list --late`). Hand-made: two villages of township 410724104 drawn as 100 m squares."""

from __future__ import annotations

import geopandas as gpd
import openpyxl
import pyogrio
import pytest

from parcelwatch.cli import main
from parcelwatch.ledger.workspace import open_workspace
from parcelwatch.reports.org import OrgBook
from parcelwatch.reports.reportlog import ReportLog
from tests.ledger.conftest import box


def run(capsys, *args, ok=True):
    code = main([str(a) for a in args])
    cap = capsys.readouterr()
    if ok:
        assert code == 0, cap.err
    return code, cap.out, cap.err


@pytest.fixture
def ws(tmp_path, capsys):
    path = tmp_path / "ws"
    run(capsys, "init", path, "--county-code", "410724", "--county-name", "获嘉县")
    return path


def test_villages_from_a_boundary_layer_units_people_and_free_text_with_a_notice(
    ws, tmp_path, capsys
):
    v = gpd.GeoDataFrame(
        {
            "ZLDWDM": ["4107241042010000000", "4107241042020000000"],
            "ZLDWMC": ["沙窝营村", "太山村"],
        },
        geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)],
        crs=4549,
    )
    pyogrio.write_dataframe(v, tmp_path / "CJDCQ.gpkg")
    _, out, _ = run(
        capsys, "org", "import-villages", ws, "--villages", tmp_path / "CJDCQ.gpkg", "--user", "u"
    )
    assert "2 village(s) and 1 township(s)" in out
    _, out, _ = run(
        capsys, "org", "import-villages", ws, "--villages", tmp_path / "CJDCQ.gpkg", "--user", "u"
    )
    assert "0 village(s) and 0 township(s)" in out  # idempotent
    run(
        capsys,
        "org",
        "add-unit",
        ws,
        "--kind",
        "department",
        "--name",
        "村镇规划建设办公室",
        "--parent",
        "410724104",
        "--user",
        "u",
    )
    run(
        capsys,
        "org",
        "add-person",
        ws,
        "--name",
        "徐波",
        "--unit",
        "村镇规划建设办公室",
        "--role",
        "责任领导",
        "--role",
        "镇人大主席",
        "--user",
        "u",
    )
    code, _, err = run(
        capsys,
        "org",
        "add-person",
        ws,
        "--name",
        "某",
        "--unit",
        "不存在办",
        "--user",
        "u",
        ok=False,
    )
    assert code != 0 and "not in the organisation registry" in err
    _, out, _ = run(capsys, "org", "list", ws, "--kind", "village")
    assert "410724104201" in out and "沙窝营村" in out and "2 unit(s)" in out
    _, out, _ = run(capsys, "org", "list", ws)
    assert "徐波（责任领导、镇人大主席）" in out
    with open_workspace(ws) as w:
        units = {u["unit_id"]: u for u in OrgBook(w.store).units()}
        assert units["410724104201"]["parent_id"] == "410724104" and units["410724104201"][
            "geom_wkt"
        ].startswith("POLYGON")
    _, out, err = run(capsys, "ledger", "add", ws, "--source", "巡查", "--township", "410724104", "--village", "沙窝营村",
                      "--lon", 113.6, "--lat", 35.3, "--unit", "村镇规划建设办公室", "--leader", "徐波", "--user", "u")  # fmt: skip
    assert "注意" not in err
    _, out, err = run(capsys, "ledger", "add", ws, "--source", "巡查", "--township", "410724104", "--village", "沙窝营",
                      "--lon", 113.6, "--lat", 35.3, "--unit", "规划办", "--leader", "徐某", "--user", "u")  # fmt: skip
    assert out.startswith("410724-") and "规划办" in err and "沙窝营" in err and "徐某" in err


def test_report_log_on_time_late_and_overdue(ws, capsys):
    """Due 2019-02-20 (end of day): submitted 02-20 16:30 on time; 02-21 09:00 late; a third never
    submitted is late once 02-21 has begun."""
    _, a, _ = run(
        capsys,
        "reportlog",
        "add",
        ws,
        "--kind",
        "周三信息",
        "--due",
        "2019-02-20",
        "--submitted",
        "2019-02-20T16:30",
        "--user",
        "u",
    )
    _, b, _ = run(
        capsys, "reportlog", "add", ws, "--kind", "周三信息", "--due", "2019-02-20", "--user", "u"
    )
    _, c, _ = run(
        capsys, "reportlog", "add", ws, "--kind", "周三信息", "--due", "2019-02-27", "--user", "u"
    )
    run(capsys, "reportlog", "submit", ws, b.strip(), "--at", "2019-02-21T09:00", "--user", "u")
    _, out, _ = run(capsys, "reportlog", "list", ws, "--late", "--now", "2019-02-25T12:00")
    assert (
        b.strip() in out and a.strip() not in out and c.strip() not in out and "1 report(s)" in out
    )
    _, out, _ = run(capsys, "reportlog", "list", ws, "--late", "--now", "2019-02-28T00:00:01")
    assert c.strip() in out and "2 report(s)" in out
    with open_workspace(ws) as w:
        audit = ReportLog(w.store).book.audit("report_log", b.strip())
    assert [x["kind"] for x in audit] == ["create", "submit"]


def test_signature_block_blank_until_signed(ws, tmp_path, capsys):
    ref = "反馈意见"
    run(capsys, "inspection", "add", ws, "--unit", "太山镇", "--feedback-ref", ref, "--feedback-on", "2024-10-14", "--aspect", "A",
        "--no", 1, "--title", "T", "--measure", "m", "--leader", "徐波", "--resp-unit", "U", "--user", "u")  # fmt: skip
    x = tmp_path / "a.xlsx"

    def block():
        run(capsys, "inspection", "report", ws, "--as-of", "2025-02-14", "-o", x)
        return [
            c.value
            for row in openpyxl.load_workbook(x)["整改台账"].iter_rows()
            for c in row
            if c.value and "党委书记" in str(c.value)
        ]

    assert block() == [
        "党委书记：＿＿＿＿＿＿　日期：＿＿＿＿年＿＿月＿＿日　　　　填表人：＿＿＿＿＿＿　日期：＿＿＿＿年＿＿月＿＿日"
    ]
    run(capsys, "signoff", "add", ws, "--object-kind", "report", "--object-id", f"巡察整改:{ref}", "--role", "党委书记",
        "--name", "张书记", "--on", "2025-02-15", "--user", "u")  # fmt: skip
    assert block()[0].startswith("党委书记：张书记　2025-02-15")


def _org_book(path, units, people):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "单位"
    ws.append(["类型", "名称", "代码", "上级", "巡查督查组", "范围说明"])
    for r in units:
        ws.append(list(r))
    ps = wb.create_sheet("人员")
    ps.append(["姓名", "单位", "职责", "起始日期", "截止日期"])
    for r in people:
        ps.append(list(r))
    wb.save(path)
    return path


def test_0P2_org_import_from_excel_all_or_nothing_with_per_cell_errors(ws, tmp_path, capsys):
    """Sheet 单位: a township (9-digit code), a village under it (12 digits) and a department whose
    上级 is the township of the same file; sheet 人员: two people. A file with a bad 类型, an unknown
    上级, an unknown 单位 and a bad date is refused cell by cell and writes nothing; the fixed file
    adds 3 units and 2 people (and a second import of it is refused: already registered)."""
    bad = _org_book(tmp_path / "bad.xlsx",
                    [("乡镇", "太山镇", "410724104", "", "", ""), ("村庄", "沙窝营村", "410724104201", "太山镇", "第二组", ""),
                     ("部门", "村镇规划建设办公室", "", "不存在镇", "", "")],
                    [("徐波", "村镇规划建设办公室", "责任领导、镇人大主席", "2024-01-01", ""),
                     ("张三", "某办", "村巡查员", "2024-13-01", "")])  # fmt: skip
    code, out, err = run(capsys, "org", "import", ws, bad, "--user", "u", ok=False)
    assert code != 0 and "Traceback" not in err
    for cell in ("单位 第3行 [类型] '村庄'", "单位 第4行 [上级] '不存在镇'", "人员 第3行 [单位] '某办'",
                 "人员 第3行 [起始日期] '2024-13-01'", "nothing was written"):  # fmt: skip
        assert cell in err, err
    with open_workspace(ws) as w:
        assert OrgBook(w.store).units() == [] and OrgBook(w.store).people() == []
    good = _org_book(tmp_path / "good.xlsx",
                     [("乡镇", "太山镇", "410724104", "", "", ""), ("村", "沙窝营村", "410724104201", "太山镇", "第二组", ""),
                      ("部门", "村镇规划建设办公室", "", "太山镇", "", "")],
                     [("徐波", "村镇规划建设办公室", "责任领导、镇人大主席", "2024-01-01", ""),
                      ("张三", "沙窝营村", "村巡查员", "", "")])  # fmt: skip
    _, out, _ = run(capsys, "org", "import", ws, good, "--dry-run", "--user", "u")
    assert "3 个单位、2 名人员可导入" in out
    _, out, _ = run(capsys, "org", "import", ws, good, "--user", "u")
    assert "3 unit(s) and 2 person(s)" in out
    with open_workspace(ws) as w:
        book = OrgBook(w.store)
        units = {u["name"]: u for u in book.units()}
        people = {p["name"]: p for p in book.people()}
        assert (
            units["沙窝营村"]["unit_id"] == "410724104201"
            and units["沙窝营村"]["parent_id"] == "410724104"
        )
        assert units["沙窝营村"]["group_id"] == "第二组"
        assert (
            units["村镇规划建设办公室"]["unit_id"] == "ORG-0001"
            and units["村镇规划建设办公室"]["parent_id"] == "410724104"
        )
        assert (
            people["徐波"]["roles"] == ["责任领导", "镇人大主席"]
            and people["徐波"]["unit_id"] == "ORG-0001"
        )
        assert (
            people["张三"]["unit_id"] == "410724104201" and people["徐波"]["person_id"] == "P-0001"
        )
        assert len(book.book.audit("org_units")) == 3
    code, _, err = run(capsys, "org", "import", ws, good, "--user", "u", ok=False)
    assert code != 0 and "already in the registry" in err
