"""§D.6 acceptance tables and the §D.4 worked example (hand-computed in SEED-SYSTEMS §D.4)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from parcelwatch.acceptance.scheme import load_scheme
from parcelwatch.acceptance.score import (
    AcceptanceData,
    Complaint,
    Document,
    ProblemFacts,
    ReportEntry,
    score,
)
from parcelwatch.errors import ConfigError
from parcelwatch.ledger.model import ProblemRecord, Status

D = Decimal
SCHEME = load_scheme()


def test_T_D_01_scheme_loads_34_items_summing_to_100() -> None:
    assert len(SCHEME.items) == 34
    assert SCHEME.total == D(100)
    sums = [sum((i.max for i in SCHEME.items if i.group == g), D(0)) for g in SCHEME.groups]
    assert sums == [D(x) for x in (2, 2, 1, 2, 24, 61, 3, 2, 3)]


def test_scheme_with_wrong_group_sum_is_refused(tmp_path) -> None:
    from importlib import resources

    text = (
        resources.files("parcelwatch.acceptance").joinpath("ningxia_2019.toml").read_text("utf-8")
    )
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('max = "1.5"', 'max = "2"', 1), "utf-8")
    with pytest.raises(ConfigError, match="group 一"):
        load_scheme(bad)


def test_T_D_02_worked_example_gives_71_55(worked_data: AcceptanceData) -> None:
    res = score(SCHEME, worked_data)
    got = {s.item.id: s.score for s in res.items}
    expected = {
        "1.1": "1.5", "1.2": "0.5", "2.1": "0.5", "2.2": "0.5", "2.3": "0.75", "3": "1", "4": "2",
        "5.1": "13", "5.2": "2", "5.3": "2", "5.4": "1", "5.5": "2", "5.6": "1", "6.0": "2",
        "6.1.1": "2", "6.1.2": "2", "6.1.3": "2", "6.1.4": "2", "6.2.1": "5", "6.2.2": "0",
        "6.2.3": "12", "6.2.4": "0", "6.2.5": "2", "6.2.6": "2", "6.2.7": "1", "6.2.8": "3",
        "6.3.1": "1", "6.3.2": "0", "6.3.3": "2", "7.1": "1", "7.2": "0.8", "8.1": "1", "8.2": "1",
        "9": "2",
    }  # fmt: skip
    assert {k: D(v) for k, v in expected.items()} == got
    assert res.group_total("五") == D("21.00")
    assert res.group_total("六") == D("38.00")
    assert res.total == D("71.55")
    assert str(res.total) == "71.55"
    assert res.veto_text == "一票否决：否"


def _data(**kw) -> AcceptanceData:
    return AcceptanceData(problems=kw.pop("problems", []), **kw)


def test_T_D_03_plans_two_of_three_and_none() -> None:
    two = _data(documents=[Document("实施方案"), Document("整改指导意见")])
    assert score(SCHEME, two).get("1.1").score == D("1.0")
    none = score(SCHEME, _data()).get("1.1").score
    assert none == D(0) and str(none) in ("0", "0.0")  # not -0


def test_T_D_04_no_instruction_meeting_yes() -> None:
    d = _data(
        manual={"2.3": {"party_instruction": False, "gov_instruction": False, "meeting": True}}
    )
    assert score(SCHEME, d).get("2.3").score == D("0.5")


def _weds(late: int, total: int) -> list[ReportEntry]:
    out = []
    for n in range(total):
        due = date.fromordinal(date(2019, 1, 30).toordinal() + 7 * n)
        sub = date.fromordinal(due.toordinal() + (1 if n < late else 0))
        out.append(ReportEntry("周三信息", due, sub))
    return out


def test_T_D_05_weekly_five_late_of_six() -> None:
    d = _data(reports=_weds(5, 6), period_start=date(2019, 1, 29), period_end=date(2019, 3, 6))
    assert score(SCHEME, d).get("7.1").score == D("0.00")


def test_T_D_06_three_late_reports_is_exactly_0_40() -> None:
    reports = [ReportEntry("阶段性总结", date(2019, 3, d), date(2019, 3, d + 1)) for d in (1, 5, 9)]
    reports.append(ReportEntry("实施方案", date(2019, 2, 1), date(2019, 2, 1)))
    s = score(SCHEME, _data(reports=reports)).get("7.2").score
    assert s == D("0.4") and str(s) == "0.4"


def test_T_D_07_unresolved_major_petition_vetoes() -> None:
    d = _data(complaints=[Complaint("市信访", resolved=False, major_impact=True)])
    res = score(SCHEME, d)
    assert res.get("9").score == D(2)
    assert res.vetoed and res.veto_text == "一票否决：是（信访维稳）"


def test_T_D_08_no_case_by_case_gives_2() -> None:
    assert score(SCHEME, _data()).get("6.2.6").score == D(2)


def test_T_D_09_demolished_without_debris_names_problem() -> None:
    p = ProblemRecord(problem_id="370790-2019-000004", status=Status.CLOSED, measure="拆除")
    d = _data(problems=[p], facts={p.problem_id: ProblemFacts(debris_cleared="")})
    s = score(SCHEME, d).get("6.2.2")
    assert s.score == D(0)
    assert "370790-2019-000004" in s.reason


def test_T_D_10_unverified_in_named_batch() -> None:
    p = ProblemRecord(problem_id="370790-2019-000009", batches=("2019年疑似图斑",))
    d = _data(problems=[p], batches=("2019年疑似图斑",))
    s = score(SCHEME, d).get("5.2")
    assert s.score == D(0)
    assert "370790-2019-000009" in s.evidence


def test_T_D_11_seventeen_omissions(worked_data: AcceptanceData) -> None:
    extra = [ProblemRecord(problem_id=f"370790-2019-{n:06d}") for n in range(100, 117)]
    facts = {p.problem_id: ProblemFacts(omitted_in_survey="是") for p in extra}
    d = replace(worked_data, problems=[*worked_data.problems, *extra], facts=facts)
    assert score(SCHEME, d).get("5.1").score == D(0)


def test_T_D_12_override_with_reason(worked_data: AcceptanceData) -> None:
    d = replace(worked_data, overrides={"6.3.3": (D(0), "移交材料未归档")})
    s = score(SCHEME, d).get("6.3.3")
    assert (s.score, s.method, s.reason) == (D(0), "人工调整", "移交材料未归档")
    assert score(SCHEME, d).total == D("69.55")


def test_override_out_of_range_refused(worked_data: AcceptanceData) -> None:
    d = replace(worked_data, overrides={"6.3.3": (D(3), "x")})
    with pytest.raises(ConfigError, match="between 0 and 2"):
        score(SCHEME, d)


def test_override_needs_a_reason(tmp_path) -> None:
    from parcelwatch.acceptance.answers import load_answers

    p = tmp_path / "acceptance.toml"
    p.write_text('[override."6.3.3"]\nscore = 0\n', "utf-8")
    with pytest.raises(ConfigError, match="reason"):
        load_answers(p, _data())


def test_answers_file_facts_merge_with_store_facts(tmp_path) -> None:
    """Funds recorded in the store survive a [problem."ID"] section that sets only debris_cleared."""
    from parcelwatch.acceptance.answers import load_answers

    p = tmp_path / "acceptance.toml"
    p.write_text('[problem."A"]\ndebris_cleared = "是"\n', "utf-8")
    base = _data(facts={"A": ProblemFacts(funds_suspected_wan=D("12.5"), special_account="是")})
    got = load_answers(p, base).facts["A"]
    assert (got.funds_suspected_wan, got.special_account, got.debris_cleared) == (
        D("12.5"),
        "是",
        "是",
    )


def test_score_facts_come_from_the_ledgers_fields() -> None:
    """§0.P1 fields on the problem are the score's facts (垃圾清理, 复垦复耕, 排查遗漏, 涉嫌骗取);
    acc_funds adds 专户管理, and an older workspace's acc_funds 涉嫌骗取 counts only where the ledger
    has none. A problem with none of them has no facts entry."""
    from decimal import Decimal

    from parcelwatch.acceptance.report import facts_from_ledger
    from parcelwatch.acceptance.score import ProblemFacts

    a = ProblemRecord(
        problem_id="A",
        debris_cleared="否",
        reclaimed="是",
        omitted_in_survey="是",
        funds_suspected_wan=12.5,
    )
    b = ProblemRecord(problem_id="B")
    c = ProblemRecord(problem_id="C", funds_suspected_wan=3.0)
    funds = {
        "A": {"special_account": "是"},
        "B": {"funds_suspected_wan": "2.5"},
        "C": {"funds_suspected_wan": "9"},
    }
    facts = facts_from_ledger([a, b, c, ProblemRecord(problem_id="D")], funds)
    assert facts == {
        "A": ProblemFacts(debris_cleared="否", reclaimed="是", omitted_in_survey="是", special_account="是",
                          funds_suspected_wan=Decimal("12.5")),
        "B": ProblemFacts(funds_suspected_wan=Decimal("2.5")),
        "C": ProblemFacts(funds_suspected_wan=Decimal("3.0")),
    }  # fmt: skip
