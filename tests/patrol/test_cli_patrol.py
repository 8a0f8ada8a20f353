"""`parcelwatch patrol ...` end to end: the §B.3 worked example entered through the CLI (Done-when 2),
the bulletin layout (T-B-23), the audit history (T-B-25) and the config check (T-B-17)."""

from __future__ import annotations

import re

import openpyxl

from parcelwatch.cli import main
from tests.patrol.conftest import set_points


def run(args, capsys):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def ok(args, capsys) -> str:
    code, out, err = run(args, capsys)
    assert code == 0, (args, out, err)
    return out


def new_id(out: str) -> str:
    return re.match(r"(XC-\d{6}-\d{5}|C-\d{6}|XV-\d{6}-\d{5})", out).group(1)


def report(ws, capsys, village, item, when, photo=True):
    args = ["patrol", "report", ws, "--village", village, "--item", item, "--occurred", when[:10],
            "--reported", when, "--place", "村委会东侧", "--content", "在建房屋", "--by", "王某", "--user", "王某"]  # fmt: skip
    if photo:
        args += ["--photo", ws.parent / "site.jpg"]
    return new_id(ok(args, capsys))


def finding(ws, capsys, village, item, finder, when):
    return new_id(ok(["patrol", "find", ws, "--village", village, "--item", item, "--finder", finder,
                      "--found", when, "--user", "李某"], capsys))  # fmt: skip


def verify(ws, capsys, fid, at, *, dept="自然资源所", same_as=None):
    args = [
        "patrol",
        "verify",
        ws,
        fid,
        "--result",
        "属实",
        "--by",
        dept,
        "--at",
        at,
        "--user",
        "张某",
    ]
    if same_as:
        args += ["--same-as", same_as]
    return ok(args, capsys)


def complaint(ws, capsys, channel, village, item, when, verified_at):
    cid = new_id(ok(["patrol", "complaint", "add", ws, "--channel", channel, "--received", when,
                     "--village", village, "--item", item, "--content", "群众反映", "--user", "赵某"], capsys))  # fmt: skip
    fid = new_id(ok(["patrol", "find", ws, "--from-complaint", cid, "--user", "赵某"], capsys))
    ok(
        [
            "patrol",
            "complaint",
            "verify",
            ws,
            cid,
            "--result",
            "属实",
            "--by",
            "自然资源所",
            "--at",
            verified_at,
        ],
        capsys,
    )
    return cid, fid


def enter_worked_example(ws, capsys):
    # April: 3 village reports +6; town group ZR-01 (another site) -2; district ZR-02 -2; city NY-05 -1x2
    for item, day in (("ZR-02", "02"), ("ZR-02", "05"), ("ZR-01", "07")):
        verify(
            ws,
            capsys,
            report(ws, capsys, "马塘", item, f"2026-04-{day}T15:30"),
            f"2026-04-{day}T17:00",
        )
    verify(
        ws,
        capsys,
        finding(ws, capsys, "马塘", "ZR-01", "town_group", "2026-04-10T10:00"),
        "2026-04-11T10:00",
    )
    verify(
        ws,
        capsys,
        finding(ws, capsys, "马塘", "ZR-02", "district", "2026-04-15T10:00"),
        "2026-04-16T10:00",
    )
    nf = finding(ws, capsys, "马塘", "NY-05", "city", "2026-04-20T10:00")
    verify(ws, capsys, nf, "2026-04-21T10:00", dept="农业农村办")
    # May: 10 village reports +20 (one of them, 05-06, is the issue the district finds on 05-12)
    early = None
    for n in range(10):
        item = "ZR-01" if n in (5, 6) else "ZR-02"
        fid = report(ws, capsys, "马塘村", item, f"2026-05-{n + 1:02d}T09:00")
        verify(ws, capsys, fid, f"2026-05-{n + 1:02d}T16:00")
        early = fid if n == 5 else early
    dist = finding(ws, capsys, "马塘", "ZR-01", "district", "2026-05-12T10:00")
    out = verify(ws, capsys, dist, "2026-05-13T10:00", same_as=early)
    assert "同一问题" in out
    complaint(ws, capsys, "12345", "马塘", "ZR-02", "2026-05-18T09:00", "2026-05-19T10:00")
    _, f2 = complaint(ws, capsys, "省信访", "马塘", "NY-05", "2026-05-25T09:00", "2026-05-26T10:00")
    # June: 25 village reports +50 -> 110 -> capped at 100
    for n in range(25):
        fid = report(ws, capsys, "马塘", "ZR-02", f"2026-06-{n % 28 + 1:02d}T{8 + n % 10:02d}:00")
        verify(ws, capsys, fid, f"2026-06-{n % 28 + 1:02d}T19:00")
    # 龙湾村, May: 2 village reports, then a central 明察暗访 finds an unreported ZR-01 -> month 0
    for d in ("03", "04"):
        verify(
            ws,
            capsys,
            report(ws, capsys, "龙湾", "ZR-02", f"2026-05-{d}T09:00"),
            f"2026-05-{d}T18:00",
        )
    verify(
        ws,
        capsys,
        finding(ws, capsys, "龙湾", "ZR-01", "central", "2026-05-20T10:00"),
        "2026-05-21T10:00",
    )


def row_of(out: str, village: str) -> list[str]:
    line = next(ln for ln in out.splitlines() if f" {village} " in f" {ln} ")
    return line.split()


def test_done_when_2_worked_example_through_the_cli(ws, capsys):
    """§B.3: 马塘村 60, 75, 100 -> quarter 78.33 一般; 龙湾村's vetoed May scores 0 (raw 64)."""
    enter_worked_example(ws, capsys)
    april = ok(["patrol", "score", ws, "--month", "2026-04"], capsys)
    assert row_of(april, "马塘村")[2:] == [
        "6.00",
        "2.00",
        "2.00",
        "2.00",
        "0.00",
        "0.00",
        "否",
        "60.00",
    ]
    may = ok(["patrol", "score", ws, "--month", "2026-05"], capsys)
    assert row_of(may, "马塘村")[2:] == [
        "20.00",
        "0.00",
        "0.00",
        "0.00",
        "0.00",
        "5.00",
        "否",
        "75.00",
    ]
    assert row_of(may, "龙湾村")[-2:] == ["是", "0.00"]
    june = ok(["patrol", "score", ws, "--month", "2026-06"], capsys)
    assert row_of(june, "马塘村")[-1] == "100.00" and row_of(june, "马塘村")[0] == "1"
    q = ok(["patrol", "score", ws, "--quarter", "2026Q2"], capsys)
    assert row_of(q, "马塘村")[2:] == ["60.00", "75.00", "100.00", "78.33", "一般", "是"]
    assert row_of(q, "龙湾村")[2:] == ["60.00", "0.00", "60.00", "40.00", "较差", "否"]


def test_T_B_23_bulletin_layout(ws, capsys, tmp_path):
    enter_worked_example(ws, capsys)
    out = tmp_path / "通报.xlsx"
    ok(["patrol", "bulletin", ws, "--month", "2026-04", "-o", out], capsys)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["月度考评", "加扣分明细", "部门考评"]
    s = wb["月度考评"]
    assert s["A1"].value == "太平镇2026年4月村(居)巡查考评通报"
    assert "2026-05-05" in s["A2"].value and "2026-05-10" in s["A2"].value
    assert s["F3"].value == "扣分" and "F3:J3" in [str(r) for r in s.merged_cells.ranges]
    assert [s.cell(4, c).value for c in range(6, 11)] == [
        "镇巡查督查组/部门",
        "区",
        "市",
        "省",
        "12345/信访",
    ]
    assert "A3:A4" in [str(r) for r in s.merged_cells.ranges]
    assert s["D5"].value == "分" and s["K5"].value == "是/否"
    rows = {s.cell(r, 3).value: r for r in range(6, s.max_row + 1)}
    r = rows["马塘村"]
    assert [s.cell(r, c).value for c in (4, 5, 6, 7, 8, 12)] == [60, 6, 2, 2, 2, 60]
    avg_row = next(r for r in range(6, s.max_row + 1) if s.cell(r, 1).value == "平均")
    assert isinstance(s.cell(avg_row, 12).value, (int, float))
    detail = wb["加扣分明细"]
    bases = [detail.cell(r, 16).value for r in range(4, detail.max_row + 1)]
    assert any(b and b.startswith("五(二)3 区级督查发现") and "按1倍扣分" in b for b in bases)
    quarter = tmp_path / "季度.xlsx"
    ok(["patrol", "bulletin", ws, "--quarter", "2026Q2", "-o", quarter], capsys)
    qs = openpyxl.load_workbook(quarter)["季度考评"]
    qrow = next(r for r in range(4, qs.max_row + 1) if qs.cell(r, 3).value == "马塘村")
    assert [qs.cell(qrow, c).value for c in (4, 5, 6, 7, 8, 9)] == [
        60,
        75,
        100,
        78.33,
        "一般",
        "是",
    ]


def test_T_B_17_score_refuses_item_without_points(tmp_path, capsys):
    w = tmp_path / "ws"
    ok(["init", w, "--county-code", "441803"], capsys)
    ok(["patrol", "init", w], capsys)
    set_points(w, {"ZR-02": 2})
    out = ok(["patrol", "config", "check", w], capsys)
    assert "ZR-01 违法用地" in out and "ZR-02" not in out
    fid = finding(w, capsys, "马塘", "ZR-01", "town_group", "2026-04-10T10:00")
    verify(w, capsys, fid, "2026-04-11T10:00")
    code, out, err = run(["patrol", "score", w, "--month", "2026-04"], capsys)
    assert code == 1 and "ZR-01" in err and "附件2" in err and "Traceback" not in err


def test_T_B_25_audit_replay_and_history(ws, capsys):
    from parcelwatch.ledger.workspace import open_workspace
    from parcelwatch.patrol.records import PatrolBook

    fid = report(ws, capsys, "马塘", "ZR-02", "2026-04-02T15:30")
    verify(ws, capsys, fid, "2026-04-03T10:00")
    cid, f2 = complaint(
        ws, capsys, "12345", "马塘", "ZR-02", "2026-04-18T09:00", "2026-04-19T10:00"
    )
    ok(["patrol", "visit", ws, "--group", "G3", "--village", "马塘", "--start", "2026-04-10T09:00",
        "--end", "2026-04-10T11:30", "--people", "李某,陈某"], capsys)  # fmt: skip
    hist = ok(["patrol", "history", ws, fid], capsys)
    assert (
        "create" in hist
        and "verify" in hist
        and "verified_result: 待核实 -> 属实" in hist
        and "张某" in hist
    )
    with open_workspace(ws) as w:
        book = PatrolBook(w.store)
        for entity in ("patrol_findings", "complaints", "patrol_visits"):
            assert book.replay(entity) == book.all(entity), entity
        assert book.get("complaints", cid)["finding_id"] == f2
        assert book.get("patrol_findings", f2)["complaint_id"] == cid


def test_bad_input_is_a_clear_error(ws, capsys):
    code, _out, err = run(["patrol", "report", ws, "--village", "不存在村", "--item", "ZR-02", "--occurred",
                           "2026-04-02", "--reported", "2026-04-02T10:00"], capsys)  # fmt: skip
    assert code == 1 and "不存在村" in err and "organisation.groups" in err
    code, _out, err = run(["patrol", "report", ws, "--village", "马塘", "--item", "XX-99", "--occurred",
                           "2026-04-02", "--reported", "2026-04-02T10:00"], capsys)  # fmt: skip
    assert code == 1 and "XX-99" in err
    fid = finding(ws, capsys, "马塘", "ZR-01", "town_group", "2026-04-10T10:00")
    code, _out, err = run(
        ["patrol", "verify", ws, fid, "--result", "属实", "--by", "农业农村办"], capsys
    )
    assert code == 1 and "自然资源所" in err
    code, _out, err = run(
        ["patrol", "verify", ws, fid, "--result", "属实", "--by", "农业农村办", "--override"],
        capsys,
    )
    assert code == 0 and "--override" in err
    assert "verify_override" in ok(["patrol", "history", ws, fid], capsys)


def test_T_B_13_and_T_B_19_coverage_flags(ws, capsys):
    """马塘: one report without a photo (资料不完善), one patroller (不足2名), no group visit (巡查不到位).
    天塘: two patrollers, one G3 visit, a report with photo -> only 台账不规范? no: place/content given -> no flag."""
    report(ws, capsys, "马塘", "ZR-02", "2026-04-02T15:30", photo=False)
    report(ws, capsys, "天塘", "ZR-02", "2026-04-03T15:30")
    ok(["patrol", "patroller", "add", ws, "--village", "马塘", "--name", "王某"], capsys)
    for name in ("陈某", "林某"):
        ok(["patrol", "patroller", "add", ws, "--village", "天塘", "--name", name], capsys)
    ok(["patrol", "visit", ws, "--group", "G3", "--village", "天塘", "--start", "2026-04-10T09:00",
        "--end", "2026-04-10T11:30", "--people", "李某,陈某"], capsys)  # fmt: skip
    out = ok(["patrol", "coverage", ws, "--month", "2026-04", "--today", "2026-04-30"], capsys)
    matang = row_of(out, "马塘村")
    assert (
        "资料不完善" in matang[-1]
        and "村巡查员不足2名" in matang[-1]
        and "巡查不到位" in matang[-1]
    )
    assert matang[5] == "1"  # still 待核实 28 days after the report
    assert row_of(out, "天塘村")[1:3] == ["1/1", "2/2"] and len(row_of(out, "天塘村")) == 6


def test_T_B_22_photo_exif_gives_place_and_time(ws, capsys, tmp_path):
    from PIL import Image

    from parcelwatch.ledger.workspace import open_workspace
    from parcelwatch.patrol.records import PatrolBook

    ex = Image.Exif()
    ex[0x8825] = {1: "N", 2: (23.0, 42.0, 0.0), 3: "E", 4: (113.0, 0.0, 0.0)}
    ex[0x8769] = {0x9003: "2026:04:02 15:20:00"}
    photo = tmp_path / "exif.jpg"
    Image.new("RGB", (8, 8)).save(photo, exif=ex.tobytes())
    out = ok(["patrol", "report", ws, "--village", "马塘", "--item", "ZR-02", "--occurred", "2026-04-02",
              "--reported", "2026-04-02T15:30", "--photo", photo], capsys)  # fmt: skip
    assert "位置取自照片 EXIF" in out and "照片 1 张" in out
    with open_workspace(ws) as w:
        f = PatrolBook(w.store).get("patrol_findings", new_id(out))
    assert f["geom_wkt"] == "POINT (113.0000000 23.7000000)"
    (ev,) = f["photos"]
    assert "exif_time=2026-04-02T15:20:00+08:00" in ev["detail"] and len(ev["sha256"]) == 64


def test_photo_far_from_its_finding_is_warned(ws, capsys, tmp_path):
    from PIL import Image

    ex = Image.Exif()
    ex[0x8825] = {1: "N", 2: (23.0, 42.0, 0.0), 3: "E", 4: (113.0, 0.0, 0.0)}
    photo = tmp_path / "far.jpg"
    Image.new("RGB", (8, 8)).save(photo, exif=ex.tobytes())
    # 0.01 degree of latitude north of the photo: about 1.1 km
    code, out, err = run(["patrol", "report", ws, "--village", "马塘", "--item", "ZR-02", "--occurred", "2026-04-02",
                          "--reported", "2026-04-02T15:30", "--photo", photo, "--lon", "113.0", "--lat", "23.71"], capsys)  # fmt: skip
    assert code == 0 and "1112 米" in err and "500 米" in err


def test_integrity_and_enforcement_doc(ws, capsys, tmp_path):
    """Group finds on 04-08, the village reports the same issue on 04-09 (late report); a photo
    taken 2026-04-02 15:20 and 1.1 km from the finding's point."""
    from PIL import Image

    g = finding(ws, capsys, "楼星", "ZR-02", "town_group", "2026-04-08T10:00")
    v = report(ws, capsys, "楼星", "ZR-02", "2026-04-09T10:00")
    verify(ws, capsys, v, "2026-04-10T10:00", same_as=g)
    ex = Image.Exif()
    ex[0x8825] = {1: "N", 2: (23.0, 42.0, 0.0), 3: "E", 4: (113.0, 0.0, 0.0)}
    ex[0x8769] = {0x9003: "2026:04:12 15:20:00"}
    Image.new("RGB", (8, 8)).save(tmp_path / "late.jpg", exif=ex.tobytes())
    code, out, _err = run(["patrol", "report", ws, "--village", "马塘", "--item", "ZR-02", "--occurred", "2026-04-02", "--reported",
                           "2026-04-11T15:30", "--photo", tmp_path / "late.jpg", "--lon", "113.0", "--lat", "23.71"], capsys)  # fmt: skip
    late = new_id(out)
    out = ok(["patrol", "integrity", ws, "--month", "2026-04"], capsys)
    assert f"{v}" in out and "村上报晚于督查发现" in out
    assert "照片时间晚于上报时间" in out and "照片位置偏离" in out and late in out
    code, _o, err = run(
        [
            "patrol",
            "doc",
            ws,
            g,
            "--type",
            "责令停止违法行为通知书",
            "--number",
            "太自然〔2026〕12号",
            "--issued",
            "2026-04-11",
        ],
        capsys,
    )
    assert code == 1 and "待核实" in err
    verify(ws, capsys, g, "2026-04-10T11:00")
    ok(
        [
            "patrol",
            "doc",
            ws,
            g,
            "--type",
            "责令停止违法行为通知书",
            "--number",
            "太自然〔2026〕12号",
            "--issued",
            "2026-04-11",
        ],
        capsys,
    )
    assert "太自然〔2026〕12号" in ok(["patrol", "history", ws, g], capsys)
