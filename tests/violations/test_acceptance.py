"""SEED-SYSTEMS §A.7 acceptance tables (T-A-01..13, 15, 16) for 两违 governance.

Numbers are those of §A.3 (targets from seed 003; cases illustrative); percentages computed by
hand: 280000/320000 = 87.50 %; 150000/320000 = 46.875 -> 46.88 %; 181/365 = 49.589 -> 49.59 %;
gap 46.875 − 49.589 = −2.71; 766000/960000 = 79.79 %.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal as D

import geopandas as gpd
import pytest
import shapely

from parcelwatch.errors import LedgerError, StatusTransitionError
from parcelwatch.ledger.store import GpkgStore
from parcelwatch.patrol.records import RecordBook
from parcelwatch.violations import records as R
from parcelwatch.violations.blacklist import mask_name
from parcelwatch.violations.cases import (
    ViolationSettings,
    check_transition,
    classify_stock,
    cumulative,
    governed_m2,
    new_cases,
    pct,
    progress,
)

S = ViolationSettings()
TZ = timezone(timedelta(hours=8))
NOW = datetime(2018, 6, 1, 9, 0, tzinfo=TZ)


def disposed(disposal, area, on="2018-06-30", status="已处置", town="禾丰镇"):
    return {
        "status": status,
        "disposal": disposal,
        "disposed_area_m2": area,
        "disposed_on": on,
        "township_name": town,
    }


CASES_2018 = [
    disposed("拆除", 185400),
    disposed("没收", 12600),
    disposed("完善手续", 64000),
    disposed("保留临时使用", 18000),
]


def test_T_A_01_governed_area_and_progress():
    p = progress(CASES_2018, 2018, 320000, S)
    assert p.governed_m2 == D(280000) and pct(p.progress) == D("87.50")
    total, parts = governed_m2(CASES_2018, 2018, S, by_disposal=True)
    assert parts == {
        "拆除": D(185400),
        "没收": D(12600),
        "完善手续": D(64000),
        "保留临时使用": D(18000),
    }


def test_T_A_02_case_not_yet_disposed_does_not_count():
    cases = [*CASES_2018, disposed("拆除", 50000, status="处置中")]
    assert governed_m2(cases, 2018, S) == D(280000)


def test_T_A_03_disposed_late_on_new_years_eve_counts_in_that_year():
    c = [disposed("拆除", 100, on="2018-12-31T23:30+08:00")]
    assert governed_m2(c, 2018, S) == D(100) and governed_m2(c, 2019, S) == 0


def test_T_A_04_progress_against_the_calendar():
    p = progress(
        [disposed("拆除", 150000, on="2019-05-20")], 2019, 320000, S, as_of=date(2019, 6, 30)
    )
    assert (
        pct(p.progress) == D("46.88")
        and pct(p.time_progress) == D("49.59")
        and p.gap_points == D("-2.71")
    )


def test_T_A_05_cumulative_three_years():
    cases = [
        disposed("拆除", 336000, on="2017-10-01"),
        *CASES_2018,
        disposed("拆除", 150000, on="2019-05-20"),
    ]
    gov, tgt, ratio = cumulative(cases, {2017: 320000, 2018: 320000, 2019: 320000}, S)
    assert (gov, tgt, pct(ratio)) == (D(766000), D(960000), D("79.79"))


def test_T_A_06_stock_and_defiance():
    assert classify_stock(date(2017, 6, 1), S) == ("增量", True)  # after both cut-offs
    assert classify_stock(date(2015, 3, 1), S) == ("存量", True)
    assert classify_stock(date(2012, 5, 1), S) == ("存量", False)


def test_T_A_07_disposed_area_above_floor_area_refused():
    case = {"case_id": "LW-1", "status": "处置中", "disposal": "没收", "disposed_on": "2018-05-01",
            "disposed_area_m2": 400, "floor_area_m2": 320}  # fmt: skip
    with pytest.raises(StatusTransitionError, match=r"floor_area_m2 = 320"):
        check_transition(case, "已处置")


def test_T_A_08_demolition_needs_its_mode():
    case = {
        "case_id": "LW-2",
        "status": "处置中",
        "disposal": "拆除",
        "disposed_on": "2018-05-01",
        "disposed_area_m2": 100,
        "floor_area_m2": 320,
    }
    with pytest.raises(StatusTransitionError, match="demolition_mode"):
        check_transition(case, "已处置")
    check_transition({**case, "demolition_mode": "自拆"}, "已处置")


def test_T_A_09_close_after_demolition_needs_debris_cleared():
    case = {
        "case_id": "LW-3",
        "status": "已处置",
        "disposal": "拆除",
        "post_use": "宜耕",
        "debris_cleared": "否",
    }
    with pytest.raises(StatusTransitionError, match="debris_cleared"):
        check_transition(case, "已销号")
    check_transition({**case, "debris_cleared": "是"}, "已销号")


@pytest.fixture
def book(tmp_path):
    store = GpkgStore.create(tmp_path / "ledger.gpkg", now=NOW, county_code="370790")
    yield RecordBook(store)
    store.close()


def confirmed_case(book, party, serious=True, **fields):
    cid, _ = R.add_case(book, S, county_code="370790", found_at=NOW, found_by="镇巡查",
                        fields={"party_id": party, "illegal_building": True, "floor_area_m2": 300, **fields},
                        user="张某", now=NOW)  # fmt: skip
    R.update_case(book, S, cid, status="已认定", fields={"serious": serious}, user="张某", now=NOW)
    return cid


def test_T_A_10_blacklist_needs_confirmed_serious_case(book):
    pid = R.add_party(
        book, kind="单位", name="某建筑公司", credit_code="91441803MA00000001", user="u", now=NOW
    )
    cid, _ = R.add_case(
        book,
        S,
        county_code="370790",
        found_at=NOW,
        found_by="镇巡查",
        fields={"party_id": pid},
        user="u",
        now=NOW,
    )
    with pytest.raises(LedgerError, match="案件须已认定且情节严重"):
        R.blacklist_add(
            book,
            party_id=pid,
            case_ids=[cid],
            reason="拒不拆除",
            listed_on=date(2018, 6, 1),
            user="u",
            now=NOW,
        )
    assert book.all("violation_blacklist") == []


def test_T_A_11_new_case_of_a_blacklisted_party_is_tagged(book):
    pid = R.add_party(
        book, kind="单位", name="某建筑公司", credit_code="91441803MA00000001", user="u", now=NOW
    )
    cid = confirmed_case(book, pid)
    eid = R.blacklist_add(book, party_id=pid, case_ids=[cid], reason="拒不拆除，情节严重", listed_on=date(2018, 6, 1),
                          approved_ref="禾治违〔2018〕5号", user="u", now=NOW)  # fmt: skip
    same = R.add_party(
        book,
        kind="单位",
        name="某建筑公司(分公司)",
        credit_code="91441803MA00000001",
        user="u",
        now=NOW,
    )
    new, notes = R.add_case(
        book,
        S,
        county_code="370790",
        found_at=NOW,
        found_by="举报",
        fields={"party_id": same},
        user="u",
        now=NOW,
    )
    assert "黑名单当事人" in book.get("violation_cases", new)["priority_tags"] and any(
        eid in n for n in notes
    )
    R.blacklist_remove(
        book, eid, reason="已自行拆除并缴纳罚款", on=date(2018, 9, 1), user="u", now=NOW
    )
    third, notes = R.add_case(
        book,
        S,
        county_code="370790",
        found_at=NOW,
        found_by="举报",
        fields={"party_id": same},
        user="u",
        now=NOW,
    )
    assert notes == [] and "黑名单当事人" not in book.get("violation_cases", third)["priority_tags"]


def test_party_id_number_is_stored_only_as_hash_and_tail(book):
    pid = R.add_party(
        book, kind="个人", name="张三", id_number="441803198001011234", user="u", now=NOW
    )
    p = book.get("violation_parties", pid)
    assert p["id_tail"] == "1234" and len(p["id_hash"]) == 64
    assert "441803198001011234" not in str(book.audit())


def sq(x, y, size):
    """A square in EPSG:4549 metres near (390000, 4080000), as WKT in EPSG:4490."""
    g = gpd.GeoSeries(
        [shapely.box(390000 + x, 4080000 + y, 390000 + x + size, 4080000 + y + size)], crs=4549
    )
    return g, shapely.to_wkt(g.to_crs(4490).iloc[0])


def test_T_A_12_compare_outcomes_record_and_rerun(book):
    """Parcel A covers 60 % of open case 1 (share 0.6 >= 0.5); parcel B has IoU 0.4 with a 已销号
    拆除 case (two 100 m squares, the parcel shifted 42.857 m: overlap 57.14 x 100, union
    142.86 x 100, IoU 0.40); parcel C touches nothing."""
    _, w1 = sq(0, 0, 100)
    c1, _ = R.add_case(
        book,
        S,
        county_code="370790",
        found_at=NOW,
        found_by="镇巡查",
        fields={"geom_wkt": w1, "illegal_land": True},
        user="u",
        now=NOW,
    )
    _, w2 = sq(1000, 0, 100)
    c2, _ = R.add_case(book, S, county_code="370790", found_at=NOW, found_by="镇巡查",
                       fields={"geom_wkt": w2, "illegal_building": True, "floor_area_m2": 100}, user="u", now=NOW)  # fmt: skip
    for st, f in (("已认定", {}), ("处置中", {"disposal": "拆除"}),
                  ("已处置", {"disposed_on": "2018-03-01", "disposed_area_m2": 100, "demolition_mode": "自拆"}),
                  ("已销号", {"post_use": "宜耕", "debris_cleared": "是"})):  # fmt: skip
        R.update_case(book, S, c2, status=st, fields=f, user="u", now=NOW)
    shift = 60 / 1.4  # IoU = (100 - s) / (100 + s) = 0.4 -> s = 42.857
    parcels = gpd.GeoDataFrame(
        {"parcel_id": ["A", "B", "C"]},
        geometry=[
            sq(40, 0, 100)[0].iloc[0],
            sq(1000 + shift, 0, 100)[0].iloc[0],
            sq(5000, 0, 100)[0].iloc[0],
        ],
        crs=4549,
    )
    rows = R.record_compare(
        book,
        S,
        parcels,
        run="2018年第2期航拍",
        found_by="航拍",
        county_code="370790",
        record=False,
        user="u",
        now=NOW,
    )
    assert [(r.parcel_id, r.outcome, r.case_id) for r in rows] == [
        ("A", "已登记", c1),
        ("B", "疑似反弹", c2),
        ("C", "未登记", ""),
    ]
    assert rows[1].iou == pytest.approx(0.4, abs=0.01)
    R.record_compare(
        book,
        S,
        parcels,
        run="2018年第2期航拍",
        found_by="航拍",
        county_code="370790",
        record=True,
        user="u",
        now=NOW,
    )
    cases = book.all("violation_cases")
    assert (
        len(cases) == 3
        and cases[2]["status"] == "待核实"
        and cases[2]["found_ref"] == "2018年第2期航拍:C"
    )
    assert book.get("violation_cases", c2)["status"] == "反弹"
    before = book.audit()
    R.record_compare(
        book,
        S,
        parcels,
        run="2018年第2期航拍",
        found_by="航拍",
        county_code="370790",
        record=True,
        user="u",
        now=NOW,
    )
    assert book.audit() == before


def test_T_A_13_new_cases_of_the_month():
    cases = [{"stock": "增量", "found_at": f"2018-05-{d}T10:00:00+08:00", "floor_area_m2": a, "status": "待核实"}
             for d, a in (("03", 250), ("10", 310), ("28", 300))]  # fmt: skip
    cases.append(
        {
            "stock": "存量",
            "found_at": "2018-05-04T10:00:00+08:00",
            "floor_area_m2": 999,
            "status": "待核实",
        }
    )
    cases.append(
        {
            "stock": "增量",
            "found_at": "2018-06-01T10:00:00+08:00",
            "floor_area_m2": 999,
            "status": "待核实",
        }
    )
    n, area, _ = new_cases(cases, "2018-05")
    assert (n, f"{area:.2f}") == (3, "860.00")


def test_T_A_15_names_masked():
    assert (
        mask_name("张三") == "张某"
        and mask_name("欧阳明") == "欧阳某"
        and mask_name("某建筑公司", "单位") == "某建筑公司"
    )


def test_T_A_16_replay_of_violation_cases(book):
    pid = R.add_party(book, kind="个人", name="李四", user="u", now=NOW)
    cid = confirmed_case(book, pid)
    R.update_case(
        book,
        S,
        cid,
        status="已制止",
        fields={"stopped_at": "2018-06-02T10:00:00+08:00"},
        user="u",
        now=NOW,
    )
    with pytest.raises(StatusTransitionError, match="disposal"):
        R.update_case(book, S, cid, status="处置中", user="u", now=NOW)
    for entity in ("violation_cases", "violation_parties"):
        assert book.replay(entity) == book.all(entity)
    assert [e["kind"] for e in book.audit("violation_cases", cid)] == ["create", "status", "status"]
