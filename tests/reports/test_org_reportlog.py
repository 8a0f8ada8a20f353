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
