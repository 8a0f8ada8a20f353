"""SEED-SYSTEMS 0.P5 (complaints) and 0.P7 (photos with place and time). The spec gives these two
sections no acceptance table, so each test is named after the requirement it checks
(T-0P5-nn / T-0P7-nn, numbered in the order of the section's bullets). 0.P7's EXIF time and
position (T-0P7-01, -02, -04: WGS 84 stored as is, detail exif_time=…, a finding without a place
takes the first photo's) are `test_T_B_22_photo_exif_gives_place_and_time` and the 500 m warning
(T-0P7-06) is `test_photo_far_from_its_finding_is_warned` in test_cli_patrol.py.

Hand-computed: one 属实 12345 complaint on ZR-02 (2 points × 1) unreported by 马塘村 -> April 58;
a 省信访 one on NY-05 (1 point × 3) -> 57; a 不属实 one -> 60.
"""

from __future__ import annotations

import hashlib

from parcelwatch.ledger.workspace import open_workspace
from parcelwatch.patrol.records import CHANNEL_KIND, PatrolBook
from parcelwatch.patrol.scheme import Scheme
from tests.patrol.test_cli_patrol import complaint, new_id, ok, report, row_of, run


def _book_get(ws, entity, rid):
    from parcelwatch.violations import records as _r  # noqa: F401

    with open_workspace(ws) as w:
        return PatrolBook(w.store).get(entity, rid)


def test_T_0P5_01_channels_and_their_levels():
    """Every 0.P5 channel maps to an R4 finder kind whose multiplier is the seed's level."""
    mult = Scheme().multipliers
    assert set(CHANNEL_KIND) == {
        "举报电话",
        "12345",
        "镇信访",
        "区信访",
        "市信访",
        "省信访",
        "市长信箱",
        "舆情",
    }
    assert {ch: str(mult[k]) for ch, k in CHANNEL_KIND.items()} == {
        "举报电话": "1", "12345": "1", "镇信访": "1", "区信访": "1", "市信访": "2", "省信访": "3",
        "市长信箱": "2", "舆情": "1",
    }  # fmt: skip


def test_T_0P5_02_unknown_channel_refused(ws, capsys):
    code, _o, err = run(["patrol", "complaint", "add", ws, "--channel", "微信", "--received", "2026-04-03T09:00",
                         "--village", "马塘", "--content", "x"], capsys)  # fmt: skip
    assert code == 1 and "12345" in err and "省信访" in err and "Traceback" not in err


def test_T_0P5_03_true_complaint_becomes_a_linked_scored_finding(ws, capsys):
    cid, fid = complaint(
        ws, capsys, "12345", "马塘", "ZR-02", "2026-04-03T09:00", "2026-04-04T10:00"
    )
    _, fid2 = complaint(
        ws, capsys, "省信访", "天塘", "NY-05", "2026-04-05T09:00", "2026-04-06T10:00"
    )
    c, f = _book_get(ws, "complaints", cid), _book_get(ws, "patrol_findings", fid)
    assert (
        c["finding_id"] == fid
        and f["complaint_id"] == cid
        and c["verified"] == f["verified_result"] == "属实"
    )
    assert f["finder_kind"] == "hotline_12345" and f["complaint_at"] == "2026-04-03T09:00:00+08:00"
    out = ok(["patrol", "score", ws, "--month", "2026-04"], capsys)
    assert row_of(out, "马塘村")[-1] == "58.00" and row_of(out, "天塘村")[-1] == "57.00"
    assert _book_get(ws, "patrol_findings", fid2)["finder_kind"] == "petition_province"


def test_T_0P5_04_untrue_complaint_scores_nothing(ws, capsys):
    cid = new_id(ok(["patrol", "complaint", "add", ws, "--channel", "12345", "--received", "2026-04-03T09:00",
                     "--village", "马塘", "--item", "ZR-02", "--content", "x"], capsys))  # fmt: skip
    fid = new_id(ok(["patrol", "find", ws, "--from-complaint", cid], capsys))
    ok(["patrol", "complaint", "verify", ws, cid, "--result", "不属实", "--by", "自然资源所",
        "--at", "2026-04-04T10:00"], capsys)  # fmt: skip
    assert _book_get(ws, "patrol_findings", fid)["verified_result"] == "不属实"
    assert (
        row_of(ok(["patrol", "score", ws, "--month", "2026-04"], capsys), "马塘村")[-1] == "60.00"
    )


def test_T_0P5_05_links_to_problem_and_case_and_resolution(ws, capsys):
    cid = new_id(ok(["patrol", "complaint", "add", ws, "--channel", "举报电话", "--received", "2026-04-03T09:00",
                     "--village", "马塘", "--content", "村西有人建房"], capsys))  # fmt: skip
    pid = ok(["ledger", "add", ws, "--source", "举报", "--source-ref", cid, "--township", "太平镇",
              "--village", "马塘村", "--lon", 113.0, "--lat", 23.7], capsys).split(":")[0]  # fmt: skip
    case = ok(["violations", "add", ws, "--found", "2026-04-03T09:00", "--found-by", "举报", "--building"],
              capsys).split(":")[0]  # fmt: skip
    code, _o, err = run(
        ["patrol", "complaint", "link", ws, cid, "--problem", "441803-2026-999999"], capsys
    )
    assert code == 1 and "441803-2026-999999" in err
    ok(
        [
            "patrol",
            "complaint",
            "link",
            ws,
            cid,
            "--problem",
            pid,
            "--case",
            case,
            "--user",
            "赵某",
        ],
        capsys,
    )
    c = _book_get(ws, "complaints", cid)
    assert c["problem_id"] == pid and c["case_id"] == case
    assert _book_get(ws, "violation_cases", case)["found_ref"] == cid
    code, _o, err = run(["patrol", "complaint", "resolve", ws, cid, "--on", "2026-04-20"], capsys)
    assert code == 1 and "待核实" in err  # verify first
    ok(["patrol", "complaint", "verify", ws, cid, "--result", "属实", "--by", "自然资源所", "--at", "2026-04-04T10:00"], capsys)  # fmt: skip
    code, _o, err = run(["patrol", "complaint", "resolve", ws, cid, "--on", "2026-04-01"], capsys)
    assert code == 1 and "2026-04-03" in err
    ok(["patrol", "complaint", "resolve", ws, cid, "--on", "2026-04-20"], capsys)
    c = _book_get(ws, "complaints", cid)
    assert c["resolved"] == "是" and c["resolved_on"] == "2026-04-20"
    with open_workspace(ws) as w:
        kinds = [e["kind"] for e in PatrolBook(w.store).audit("complaints", cid)]
    assert kinds == ["create", "link", "verify", "resolve"]
    listing = ok(["patrol", "list", ws, "--kind", "complaints"], capsys)
    assert next(ln for ln in listing.splitlines() if ln.startswith(cid)).split()[-2:] == [
        pid,
        "2026-04-20",
    ]


def test_T_0P7_03_evidence_stored_with_its_sha256(ws, capsys):
    fid = report(ws, capsys, "马塘", "ZR-02", "2026-04-02T15:30")
    (ev,) = _book_get(ws, "patrol_findings", fid)["photos"]
    assert ev["sha256"] == hashlib.sha256((ws.parent / "site.jpg").read_bytes()).hexdigest()
    assert ev["kind"] == "photo" and ev["path"].endswith("site.jpg")


def test_T_0P7_05_missing_photo_is_a_clear_error(ws, capsys, tmp_path):
    code, _o, err = run(["patrol", "report", ws, "--village", "马塘", "--item", "ZR-02", "--occurred", "2026-04-02",
                         "--reported", "2026-04-02T15:30", "--photo", tmp_path / "nope.jpg"], capsys)  # fmt: skip
    assert code == 1 and "nope.jpg" in err and "does not exist" in err
    with open_workspace(ws) as w:
        assert PatrolBook(w.store).all("patrol_findings") == []


def test_T_0P7_07_gcj02_offset_removed(ws, capsys, tmp_path):
    """A camera app that writes GCJ-02 (高德): with --gcj02 the stored point is the WGS 84 position
    whose GCJ-02 image is the photo's GPS (the offset near 113°E 23.7°N is several hundred metres)."""
    import shapely
    from PIL import Image

    from parcelwatch.crs import wgs84_to_gcj02
    from parcelwatch.patrol.photos import distance_m

    ex = Image.Exif()
    ex[0x8825] = {1: "N", 2: (23.0, 42.0, 0.0), 3: "E", 4: (113.0, 0.0, 0.0)}
    photo = tmp_path / "gcj.jpg"
    Image.new("RGB", (8, 8)).save(photo, exif=ex.tobytes())
    args = ["patrol", "report", ws, "--village", "马塘", "--item", "ZR-02", "--occurred", "2026-04-02",
            "--reported", "2026-04-02T15:30", "--photo", photo]  # fmt: skip
    plain = _book_get(ws, "patrol_findings", new_id(ok(args, capsys)))
    fixed = _book_get(ws, "patrol_findings", new_id(ok([*args, "--gcj02"], capsys)))
    assert plain["geom_wkt"] == "POINT (113.0000000 23.7000000)"
    p = shapely.from_wkt(fixed["geom_wkt"])
    gx, gy = wgs84_to_gcj02([p.x], [p.y])
    assert abs(gx[0] - 113.0) < 1e-6 and abs(gy[0] - 23.7) < 1e-6
    assert distance_m(p.x, p.y, 113.0, 23.7) > 100
    assert f"lon={p.x:.7f};lat={p.y:.7f}" in fixed["photos"][0]["detail"]
