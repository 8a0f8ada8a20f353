"""SEED-SYSTEMS §B.9 scoring acceptance tables (T-B-01..21) and the §B.3 worked example.

Points are the illustrative ones of §B.3 (ZR-01 = 2, ZR-02 = 2, NY-05 = 1, NY-02 = 1); every
expected score was computed by hand in the table (60 + bonus − deduction, capped at 100).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
import tomllib

from parcelwatch.errors import ConfigError
from parcelwatch.patrol.scheme import scheme_from_mapping, template_toml
from parcelwatch.patrol.scoring import (
    Entry,
    competition_ranks,
    display,
    grade_of,
    monthly,
    quarterly,
)

POINTS = {"ZR-01": 2, "ZR-02": 2, "NY-05": 1, "NY-02": 1}


def make_scheme(**scheme_over: object):
    data = tomllib.loads(template_toml(points=POINTS))
    data["scheme"].update(scheme_over)
    return scheme_from_mapping(data)


SCHEME = make_scheme()
D = Decimal


def t(s: str) -> datetime:
    return datetime.fromisoformat(s)


_n = iter(range(1, 10_000))


def village(
    item: str,
    reported: str,
    *,
    v: str = "马塘村",
    verified: str | None = None,
    photos: int = 1,
    issue: str = "",
    result: str = "属实",
) -> Entry:
    return Entry(
        f"XC-{next(_n):05d}",
        v,
        item,
        "village_self",
        result,
        found_at=t(reported),
        reported_at=t(reported),
        occurred_on=t(reported).date(),
        verified_at=t(verified or reported),
        issue_id=issue,
        photos=photos,
    )


def other(
    kind: str,
    item: str,
    found: str,
    *,
    v: str = "马塘村",
    verified: str | None = None,
    issue: str = "",
    result: str = "属实",
) -> Entry:
    complaint = kind.startswith(("hotline", "petition", "mayor", "public"))
    return Entry(
        f"XC-{next(_n):05d}",
        v,
        item,
        kind,
        result,
        found_at=t(found),
        complaint_at=t(found) if complaint else None,
        verified_at=t(verified or found),
        issue_id=issue,
    )


def score(entries, month="2026-04", v="马塘村", scheme=SCHEME):
    return monthly(entries, scheme, month).village(v)


def test_T_B_01_no_findings_scores_base():
    r = score([])
    assert r.score == D(60) and not r.vetoed and display(r.score) == D("60.00")


def april_matang():
    return [
        village("ZR-02", "2026-04-02T15:30"),
        village("ZR-02", "2026-04-05T10:00"),
        village("ZR-01", "2026-04-07T09:00"),
        other("town_group", "ZR-01", "2026-04-10T10:00"),
        other("district", "ZR-02", "2026-04-15T10:00"),
        other("city", "NY-05", "2026-04-20T10:00"),
    ]


def test_T_B_02_bonus_6_deduction_6_scores_60():
    r = score(april_matang())
    assert (r.bonus, r.deduction_town, r.deduction_district, r.deduction_city) == (
        D(6),
        D(2),
        D(2),
        D(2),
    )
    assert r.deduction == D(6) and r.score == D(60)


def may_matang():
    es = [village("ZR-02", f"2026-05-{d:02d}T09:00") for d in range(1, 9)]
    es.append(village("ZR-01", "2026-05-06T09:00", issue="I-1"))
    es.append(village("ZR-01", "2026-05-07T09:00"))
    es.append(other("district", "ZR-01", "2026-05-12T10:00", issue="I-1"))
    es.append(other("hotline_12345", "ZR-02", "2026-05-18T09:00"))
    es.append(other("petition_province", "NY-05", "2026-05-25T09:00"))
    return es


def test_T_B_03_may_scores_75():
    r = score(may_matang(), "2026-05")
    assert r.bonus == D(20) and r.deduction_hotline_petition == D(5) and r.deduction_district == 0
    assert r.score == D(75)


def test_T_B_04_cap_at_100():
    r = score(
        [village("ZR-02", f"2026-06-{1 + i % 28:02d}T09:{i:02d}") for i in range(25)], "2026-06"
    )
    assert r.raw == D(110) and r.score == D(100) and display(r.score) == D("100.00")


def test_T_B_05_quarter_78_33_average_grade_reward():
    (q,) = quarterly({"马塘村": [D(60), D(75), D(100)]}, SCHEME)
    assert (q.average, q.grade, q.reward) == (D("78.33"), "一般", True)


def test_T_B_06_quarter_59_33_poor_no_reward():
    (q,) = quarterly({"天塘村": [D(60), D(54), D(64)]}, SCHEME)
    assert (q.average, q.grade, q.reward) == (D("59.33"), "较差", False)


def test_T_B_07_central_find_vetoes_the_month():
    es = [village("ZR-02", f"2026-05-{1 + i % 28:02d}T08:{i:02d}", v="龙湾村") for i in range(20)]
    es.append(other("central", "ZR-01", "2026-05-20T10:00", v="龙湾村"))
    r = score(es, "2026-05", "龙湾村")
    assert r.vetoed and r.raw == D(100) and r.score == D(0)
    (q,) = quarterly({"龙湾村": [D(100), r.score, D(100)]}, SCHEME)
    assert (q.average, q.grade) == (D("66.67"), "合格")


def test_T_B_08_band_rounding_none_vs_integer_half_up():
    (q,) = quarterly({"秦皇村": [D(90), D(90), D(89)]}, SCHEME)
    assert (q.average, q.grade) == (D("89.67"), "良好")
    (q2,) = quarterly(
        {"秦皇村": [D(90), D(90), D(89)]}, make_scheme(band_rounding="integer_half_up")
    )
    assert q2.grade == "优秀"


@pytest.mark.parametrize(
    ("avg", "grade"),
    [("90.00", "优秀"), ("80.00", "良好"), ("70.00", "一般"), ("69.99", "合格"), ("61.00", "合格"),
     ("60.33", "合格"), ("60.00", "较差"), ("0", "较差")],
)  # fmt: skip
def test_T_B_09_band_edges(avg, grade):
    assert grade_of(D(avg), SCHEME) == grade


def test_T_B_10_earlier_village_report_protects_and_earns_bonus():
    es = [
        village("ZR-01", "2026-05-06T09:00", issue="I-9"),
        other("district", "ZR-01", "2026-05-12T10:00", issue="I-9"),
    ]
    r = score(es, "2026-05")
    assert r.bonus == D(2) and r.deduction == 0 and r.score == D(62)


def test_T_B_11_report_after_the_complaint_does_not_protect():
    es = [
        other("hotline_12345", "ZR-02", "2026-05-18T09:00", issue="I-2"),
        village("ZR-02", "2026-05-18T10:00", issue="I-2"),
    ]
    r = score(es, "2026-05")
    assert r.deduction_hotline_petition == D(2) and r.bonus == 0 and r.score == D(58)


def test_T_B_12_report_after_group_finding_no_bonus_58():
    es = [
        other("town_group", "ZR-02", "2026-04-08T10:00", v="楼星村", issue="I-3"),
        village("ZR-02", "2026-04-09T10:00", v="楼星村", issue="I-3"),
    ]
    r = score(es, v="楼星村")
    assert r.bonus == 0 and r.deduction_town == D(2) and r.score == D(58)


def test_T_B_13_no_photo_no_bonus():
    r = score([village("ZR-02", "2026-04-02T10:00", photos=0)])
    assert r.bonus == 0 and r.score == D(60)
    assert "资料不完善" in r.lines[0].basis


@pytest.mark.parametrize(
    "kind", ["village_self", "town_group", "district", "central", "hotline_12345"]
)
def test_T_B_14_not_true_scores_nothing(kind):
    e = (
        village("ZR-02", "2026-04-02T10:00", result="不属实")
        if kind == "village_self"
        else other(kind, "ZR-02", "2026-04-02T10:00", result="不属实")
    )
    r = score([e])
    assert r.score == D(60) and not r.vetoed


def test_T_B_15_out_of_catalogue_counts_in_footer_only():
    res = monthly([other("town_group", "", "2026-04-03T10:00")], SCHEME, "2026-04")
    assert res.village("马塘村").score == D(60) and res.out_of_catalogue == 1


def test_T_B_16_month_by_verification_date():
    e = other("district", "ZR-01", "2026-04-28T10:00", verified="2026-05-03T10:00")
    assert score([e], "2026-04").score == D(60)
    assert score([e], "2026-05").score == D(58)


def test_T_B_17_item_without_points_refuses_naming_item_and_annex():
    data = tomllib.loads(template_toml(points={"ZR-02": 2}))
    s = scheme_from_mapping(data)
    with pytest.raises(ConfigError, match=r"ZR-01.*附件2"):
        monthly([other("town_group", "ZR-01", "2026-04-03T10:00")], s, "2026-04")


def test_T_B_18_two_village_reports_of_one_issue_one_bonus():
    es = [
        village("ZR-02", "2026-04-02T10:00", issue="I-4"),
        village("ZR-02", "2026-04-03T10:00", issue="I-4"),
    ]
    assert score(es).bonus == D(2)


def test_T_B_20_competition_ranking():
    assert competition_ranks([D(100), D(60), D(60), D(58)]) == [1, 2, 2, 4]


def test_T_B_20_april_ranking_of_the_worked_example():
    es = april_matang()
    es += [village("ZR-02", f"2026-04-{1 + i:02d}T08:00", v="龙湾村") for i in range(20)]
    es += [other("town_group", "ZR-02", "2026-04-08T10:00", v="楼星村", issue="I-5"),
           village("ZR-02", "2026-04-09T10:00", v="楼星村", issue="I-5")]  # fmt: skip
    res = monthly(es, SCHEME, "2026-04", villages=["龙湾村", "马塘村", "天塘村", "楼星村"])
    assert [(v.village, v.score, v.rank) for v in res.villages] == [
        ("龙湾村", D(100), 1), ("马塘村", D(60), 2), ("天塘村", D(60), 2), ("楼星村", D(58), 4)
    ]  # fmt: skip


def test_T_B_21_floor():
    es = [other("province", "ZR-01", f"2026-04-{1 + i:02d}T10:00") for i in range(20)]
    assert score(es, scheme=make_scheme(floor=0)).score == D(0)
    r = score(es)
    assert r.raw == D(-60) and display(r.score) == D("-60.00")


def test_worked_example_matang_quarter():
    """§B.3: 马塘村 60, 75, 100 -> 78.33 一般 (findings across the quarter in one call)."""
    june = [village("ZR-02", f"2026-06-{1 + i % 28:02d}T09:{i:02d}") for i in range(25)]
    es = april_matang() + may_matang() + june
    months = [
        monthly(es, SCHEME, m).village("马塘村").score for m in ("2026-04", "2026-05", "2026-06")
    ]
    assert months == [D(60), D(75), D(100)]
    (q,) = quarterly({"马塘村": months}, SCHEME)
    assert (q.average, q.grade, q.reward) == (D("78.33"), "一般", True)


def test_report_in_april_protects_against_may_finding():
    """A village report of April is "此前上报" for a district finding of May (same issue)."""
    es = [
        village("ZR-01", "2026-04-20T09:00", issue="I-7"),
        other("district", "ZR-01", "2026-05-02T09:00", issue="I-7"),
    ]
    assert score(es, "2026-05").score == D(60)
    assert score(es, "2026-04").score == D(62)


def test_display_rounds_half_up_not_bankers():
    assert display(D("12.125")) == D("12.13") and display(D("89.665")) == D("89.67")
    assert str(display(D(60))) == "60.00"


def test_multiplier_per_level_of_petition():
    for kind, expect in (
        ("petition_district", 58),
        ("petition_city", 56),
        ("petition_province", 54),
        ("petition_town", 58),
    ):
        assert score([other(kind, "ZR-02", "2026-04-03T10:00")]).score == D(expect), kind
