"""The §D.4 worked example (illustrative state), built by hand from SEED-SYSTEMS §D.4."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from shapely.geometry import box

from parcelwatch.acceptance.score import AcceptanceData, Greenhouse
from parcelwatch.ledger.model import Evidence, ProblemRecord, Status

ANSWERS = """
[period]
start = 2019-01-29
end = 2019-04-03          # 10 Wednesdays: 01-30 ... 04-03
batches = ["2019年疑似图斑"]

[records]
map_run = true
parks_layer = true
signoffs = ["村组", "乡镇", "农业农村局", "自然资源局", "县政府"]
sanctions = 3

[manual."1.2"]
done = true
[manual."3"]
done = true
[manual."4"]
level = "有"
[manual."6.2.1"]
plan_with_main_leader = true
[manual."6.2.5"]
done = true
[manual."8.1"]
done = true
[manual."8.2"]
done = true

[[document]]
kind = "实施方案"
[[document]]
kind = "再排查再清理实施方案"
[[document]]
kind = "整改指导意见"
[[document]]
kind = "工作方案"
[[document]]
kind = "领导小组文件"
leader_role = "主要负责人"
[[document]]
kind = "督导检查验收组文件"
[[document]]
kind = "党委批示"
[[document]]
kind = "专题会议纪要"
[[document]]
kind = "排查清理报告"
[[document]]
kind = "整改方案"

[[report]]
kind = "实施方案"
due = 2019-02-01
submitted = 2019-02-01
[[report]]
kind = "工作方案"
due = 2019-02-05
submitted = 2019-02-04
[[report]]
kind = "阶段性总结"
due = 2019-03-01
submitted = 2019-03-01
[[report]]
kind = "自查自验报告"
due = 2019-03-20
submitted = 2019-03-20
[[report]]
kind = "阶段性总结"
due = 2019-03-25
submitted = 2019-03-26

[[complaint]]
channel = "县信访"
resolved = true
[[complaint]]
channel = "市信访"
resolved = false

[problem."370790-2019-000001"]
debris_cleared = "是"
funds_suspected_wan = 12.5
special_account = "是"
omitted_in_survey = "是"
[problem."370790-2019-000002"]
debris_cleared = "是"
omitted_in_survey = "是"
[problem."370790-2019-000003"]
debris_cleared = "是"
[problem."370790-2019-000004"]
debris_cleared = ""
[problem."370790-2019-000005"]
debris_cleared = "是"
reclaimed = "是"
[problem."370790-2019-000006"]
debris_cleared = "是"
reclaimed = "是"
doubtful = true
"""

_WEDS_LATE = (date(2019, 2, 13), date(2019, 3, 6))


def weekly_reports() -> str:
    """10 Wednesdays from 2019-01-30; 02-13 and 03-06 submitted a day late."""
    out = []
    d = date(2019, 1, 30)
    for _ in range(10):
        sub = d.replace(day=d.day + 1) if d in _WEDS_LATE else d
        out.append(
            f'[[report]]\nkind = "周三信息"\ndue = {d.isoformat()}\nsubmitted = {sub.isoformat()}\n'
        )
        d = date.fromordinal(d.toordinal() + 7)
    return "\n".join(out)


def worked_problems() -> list[ProblemRecord]:
    """8 大棚房 problems: 3 I, 3 II, 2 III; 1-6 已销号 by 拆除; 7 一事一议; 8 备案."""
    measures = [
        "拆除+恢复种植条件+罚款",
        "拆除+恢复种植条件+罚款",
        "拆除+恢复种植条件+罚款",
        "拆除+恢复种植条件+罚款",
        "拆除+复耕+罚款",
        "拆除+复耕+罚款",
        "一事一议",
        "补办设施农用地备案",
    ]
    classes = ["I", "I", "I", "II", "II", "II", "III", "III"]
    out = []
    for n in range(1, 9):
        closed = n <= 6
        out.append(
            ProblemRecord(
                problem_id=f"370790-2019-{n:06d}",
                status=Status.CLOSED
                if closed
                else (Status.CASE_BY_CASE if n == 7 else Status.RECTIFYING),
                township_name="禾丰镇",
                batches=("2019年疑似图斑",),
                candidate_class=classes[n - 1],
                judgement="违法",
                judgement_type="大棚房",
                confirmed_class=classes[n - 1],
                measure=measures[n - 1],
                decision_ref="彭政发〔2019〕5号" if n >= 7 else "",
                deadline=date(2019, 3, 31),
                responsible_unit="禾丰镇人民政府",
                responsible_person="张某",
                illegal_farmland_m2=300.0,
                funds_recovered_wan=8.0 if n == 1 else None,
                acceptance_result="合格" if closed else "",
                evidence=() if n == 8 else (Evidence("photo", f"p{n}.jpg", "ab" * 32),),
                geometry=box(106.0 + n * 0.001, 35.0, 106.0005 + n * 0.001, 35.0005),
            )
        )
    return out


def worked_greenhouses() -> list[Greenhouse]:
    """A complete registry, all visited; signage 全 except one 不全."""
    return [
        Greenhouse(
            f"禾丰镇-邓家集村-3组-{n:03d}",
            village="邓家集村",
            place="邓家集村3组",
            owner="某合作社",
            type="日光温室",
            size_m2=600.0,
            land_transfer="流转",
            built_on="2017",
            production_status="种植",
            signage="不全" if n == 2 else "全",
            last_visit_on=date(2019, 2, 20),
        )
        for n in range(1, 4)
    ]


@pytest.fixture
def worked_answers(tmp_path: Path) -> Path:
    p = tmp_path / "acceptance.toml"
    p.write_text(ANSWERS + "\n" + weekly_reports(), "utf-8")
    return p


@pytest.fixture
def worked_data(worked_answers: Path) -> AcceptanceData:
    from parcelwatch.acceptance.answers import load_answers

    base = AcceptanceData(problems=worked_problems(), greenhouses=worked_greenhouses())
    return load_answers(worked_answers, base)
