"""`acceptance score` / `acceptance form` on a workspace; the form read back (T-D-13)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import openpyxl
from click.testing import CliRunner

from parcelwatch.acceptance.report import SCORE_COLUMNS, write_score_form
from parcelwatch.acceptance.scheme import load_scheme
from parcelwatch.acceptance.score import AcceptanceData, score
from parcelwatch.cli import cli, main
from parcelwatch.pipeline import init_workspace

NOW = datetime(2021, 5, 22, 9, 0, tzinfo=timezone(timedelta(hours=8)))


def test_T_D_13_form_layout(worked_data: AcceptanceData, tmp_path: Path) -> None:
    res = score(load_scheme(), worked_data)
    out = tmp_path / "考核验收评分表.xlsx"
    write_score_form(res, out, county_name="禾丰县", scored_on=date(2019, 3, 20))
    ws = openpyxl.load_workbook(out)["考核验收评分表"]
    assert ws.title == "考核验收评分表"
    assert ws["A1"].value == "宁夏“大棚房”问题专项清理整治行动考核验收评分表（禾丰县自评）"
    assert tuple(c.value for c in ws[3]) == SCORE_COLUMNS
    merged = {str(r) for r in ws.merged_cells.ranges}
    # 一 has 2 items (rows 4-5), 五 6 items, 六 16 items: 序号 and 考核项目 merged down each group
    assert "A4:A5" in merged and "B4:B5" in merged
    assert ws["B4"].value == "实施方案及工作方案制定（2分）"
    rows = list(ws.iter_rows(min_row=4, values_only=True))
    total = next(r for r in rows if r[0] == "合计")
    assert (total[4], total[5]) == (100.0, 71.55)
    texts = [r[0] for r in rows if r[0]]
    assert "考核结果：一票否决 否" in texts
    assert any(str(t).startswith("自验组负责同志签字") for t in texts)
    # 6.2.2 lost its 10 points: the reason names the problem
    row622 = next(r for r in rows if r[3] and r[3].startswith("2.违法违规构筑物拆除后"))
    assert row622[5] == 0 and "370790-2019-000004" in row622[6] and row622[7] == "自动"


def test_cli_score_on_an_empty_workspace(worked_answers: Path, tmp_path: Path) -> None:
    """Empty ledger + the worked answers: hand count 32.55.

    一 2 + 二 1.75 + 三 1 + 四 2 (all answered) = 6.75; 五: only 5.3 = 2 (5.1, 5.2, 5.4 need a
    ledger; no registry); 六: 6.0 2, 6.1.1 2, 6.2.1 plan 3, 6.2.5 2, 6.2.6 2 (no 一事一议),
    6.2.8 3 (none), 6.3.2 2 (no funds), 6.3.3 2 = 18; 七 1 + 0.8; 八 2; 九 2. Total 32.55.
    """
    ws = tmp_path / "ws"
    init_workspace(ws, county_code="370790", county_name="禾丰县", now=NOW)
    (ws / "acceptance.toml").write_text(worked_answers.read_text("utf-8"), "utf-8")
    r = CliRunner().invoke(cli, ["acceptance", "score", str(ws)])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0].startswith("序号")
    assert len(lines) == 36
    assert lines[-1].split()[:3] == ["合计", "100.00", "32.55"]
    assert "一票否决：否" in lines[-1]
    line51 = next(x for x in lines if x.startswith("5.1 "))
    assert "问题台账为空" in line51
    out = tmp_path / "f.xlsx"
    r = CliRunner().invoke(
        cli, ["acceptance", "form", str(ws), "-o", str(out), "--today", "2019-03-20"]
    )
    assert r.exit_code == 0, r.output
    assert openpyxl.load_workbook(out)["考核验收评分表"]["A1"].value.endswith("（禾丰县自评）")


def test_cli_bad_answer_is_a_clear_error(tmp_path: Path, capsys) -> None:
    ws = tmp_path / "ws"
    init_workspace(ws, county_code="370790", county_name="禾丰县", now=NOW)
    (ws / "acceptance.toml").write_text('[manual."4"]\nlevel = "很好"\n', "utf-8")
    assert main(["acceptance", "score", str(ws)]) == 1
    err = capsys.readouterr().err
    assert "[manual.\"4\"] level = '很好'" in err and "use one of 有, 不到位, 没有" in err
    assert "Traceback" not in err
