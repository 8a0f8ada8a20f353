"""``parcelwatch export`` end to end through :func:`parcelwatch.cli.main`."""

from __future__ import annotations

from pathlib import Path

import pyogrio
import pytest

from parcelwatch.cli import main
from parcelwatch.ledger import open_workspace
from parcelwatch.ledger.model import is_overdue

TODAY = "2026-11-07"


def test_export_shapefile_with_filters(
    demo_workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "东河乡未核查.shp"
    rc = main([
        "export", str(demo_workspace), "--format", "shp", "-o", str(out),
        "--status", "未核查", "--township", "东河乡", "--crs", "gk", "--today", TODAY,
    ])  # fmt: skip
    assert rc == 0
    with open_workspace(demo_workspace) as ws:
        want = {
            r.problem_id
            for r in ws.store.records(geometry=False)
            if r.status.value == "未核查" and r.township_name == "东河乡"
        }
    df = pyogrio.read_dataframe(out, encoding="GBK")
    assert set(df["WTBH"]) == want and want
    assert df.crs.to_epsg() == 4549  # GK zone 40 without prefix
    assert f"Exported {len(want)} problem(s)" in capsys.readouterr().out


def test_export_overdue_xlsx_and_all(demo_workspace: Path, tmp_path: Path) -> None:
    assert (
        main(
            [
                "export",
                str(demo_workspace),
                "--format",
                "xlsx",
                "-o",
                str(tmp_path / "forms"),
                "--overdue",
                "--today",
                TODAY,
            ]
        )
        == 0
    )
    assert sorted(p.name for p in (tmp_path / "forms").iterdir()) == sorted(
        [
            "问题台账.xlsx",
            "大棚房问题县级自验表.xlsx",
            "乡镇整改进度.xlsx",
            "违法占用耕地面积比例.xlsx",
        ]
    )
    from datetime import date

    import openpyxl

    with open_workspace(demo_workspace) as ws:
        overdue = {
            r.problem_id
            for r in ws.store.records(geometry=False)
            if is_overdue(r, date(2026, 11, 7))
        }
    table = list(
        openpyxl.load_workbook(tmp_path / "forms" / "问题台账.xlsx", read_only=True)[
            "问题台账"
        ].iter_rows(values_only=True)
    )
    col = table[2].index("问题编号")
    assert {r[col] for r in table[3:] if isinstance(r[0], int)} == overdue
    assert (
        main(
            [
                "export",
                str(demo_workspace),
                "--format",
                "all",
                "-o",
                str(tmp_path / "all"),
                "--class",
                "I",
                "--today",
                TODAY,
            ]
        )
        == 0
    )
    assert (tmp_path / "all" / "问题图斑.kmz").exists() and (
        tmp_path / "all" / "问题图斑.gpkg"
    ).exists()


def test_export_bad_class_is_an_error(
    demo_workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(
        [
            "export",
            str(demo_workspace),
            "--format",
            "csv",
            "-o",
            str(tmp_path / "x.csv"),
            "--class",
            "IV",
        ]
    )
    assert rc == 1
    assert "Unknown class 'IV'" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()


def test_export_gbk_shapefile_warns_with_the_records(
    demo_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 责任人 with a 生僻字 and an emoji: the GBK export warns naming the problem and field and
    suggests --encoding UTF-8; the UTF-8 export keeps the name and says nothing."""
    ws = demo_copy  # this test changes the workspace: its own copy of the demo's
    with open_workspace(ws) as w:
        pid = w.store.records(geometry=False)[0].problem_id
    assert main(["ledger", "set", str(ws), pid, "--person", "王䶮😀", "--user", "测试"]) == 0
    capsys.readouterr()
    assert main(["export", str(ws), "--format", "shp", "-o", str(tmp_path / "g.shp"), "--today", TODAY]) == 0  # fmt: skip
    err = capsys.readouterr().err
    assert f"shapefile [责任人] characters not in GBK written as '?': {pid}" in err
    assert "--encoding UTF-8" in err
    assert main(["export", str(ws), "--format", "shp", "-o", str(tmp_path / "u.shp"), "--encoding", "UTF-8", "--today", TODAY]) == 0  # fmt: skip
    assert "Warning" not in capsys.readouterr().err
    df = pyogrio.read_dataframe(tmp_path / "u.shp", encoding="UTF-8")
    assert set(df.loc[df["WTBH"] == pid, "ZRR"]) == {"王䶮😀"}
