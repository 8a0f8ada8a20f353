"""The workflow as data: every transition allowed and refused, needs, effects, deadlines, replay."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parcelwatch.errors import LedgerError, SchemaError, StatusTransitionError
from parcelwatch.ledger.model import (
    TRANSITIONS,
    Change,
    Event,
    ProblemRecord,
    Status,
    allowed_targets,
    apply_event,
    batch_year,
    effective_deadline,
    is_overdue,
    parse_confirmed_class,
    parse_measure,
    plan_create,
    plan_event,
    problem_id_prefix,
    replay,
    verification_due,
)
from tests.ledger.conftest import NOW

ALLOWED = {(t.source, t.target) for t in TRANSITIONS}
REFUSED = [(s, t) for s in Status for t in Status if s is not t and (s, t) not in ALLOWED]


def satisfying(target: Status, needs: tuple[str, ...]) -> tuple[dict, str]:
    """Field values and a note that meet a transition's needs."""
    values = {
        "judgement_type": "批准建设用地" if target is Status.LEGAL else "设施农用地",
        "confirmed_class": "II",
        "measure": "拆除+复耕",
        "decision_ref": "某县政府〔2026〕12号",
    }
    return {n: values[n] for n in needs if n != "note"}, (
        "上级退回：照片不清晰" if "note" in needs else ""
    )


def record(status: Status, **kw) -> ProblemRecord:
    return ProblemRecord(problem_id="370790-2026-000001", version=3, status=status, **kw)


@pytest.mark.parametrize("tr", TRANSITIONS, ids=lambda t: f"{t.source.value}->{t.target.value}")
def test_every_transition_in_the_table_is_allowed(tr):
    fields, note = satisfying(tr.target, tr.needs)
    ev = plan_event(
        record(tr.source),
        Change(status=tr.target, fields=fields, note=note),
        seq=4,
        now=NOW,
        user="张三",
    )
    assert ev is not None
    assert (ev.from_status, ev.to_status, ev.seq, ev.user) == (tr.source, tr.target, 4, "张三")
    after = apply_event(record(tr.source), ev)
    assert after.status is tr.target and after.version == 4 and after.updated_by == "张三"
    assert after.updated_at == "2026-03-05T09:30:00+08:00"


@pytest.mark.parametrize("source,target", REFUSED, ids=lambda s: s.value)
def test_every_transition_not_in_the_table_is_refused_with_the_allowed_ones(source, target):
    with pytest.raises(StatusTransitionError) as err:
        plan_event(
            record(source),
            Change(status=target, fields={"confirmed_class": "II", "measure": "拆除"}, note="x"),
            seq=4,
            now=NOW,
            user="u",
        )
    msg = str(err.value)
    assert "370790-2026-000001" in msg and f"{source.value} -> {target.value} is not allowed" in msg
    allowed = "、".join(s.value for s in allowed_targets(source))
    assert f"the allowed next statuses are: {allowed}" in msg
    assert "Nothing was changed" in msg


@pytest.mark.parametrize(
    "tr", [t for t in TRANSITIONS if t.needs], ids=lambda t: f"{t.source.value}->{t.target.value}"
)
def test_unmet_needs_are_refused_and_named(tr):
    with pytest.raises(StatusTransitionError) as err:
        plan_event(record(tr.source), Change(status=tr.target), seq=4, now=NOW, user="u")
    for need in tr.needs:
        assert f"{need}" in str(err.value)


def test_table_covers_the_issue_workflow():
    """未核查 -> (合法 | 其他 | 未整改) -> 整改中 -> 待验收 -> 已销号, with 退回, 一事一议, 转日常执法, 反弹."""
    for a, b in [("未核查", "合法"), ("未核查", "其他"), ("未核查", "未整改"), ("未整改", "整改中"), ("整改中", "待验收"),
                 ("待验收", "已销号"), ("待验收", "退回"), ("未核查", "一事一议"), ("未核查", "转日常执法"), ("已销号", "反弹"),
                 ("合法", "反弹"), ("其他", "反弹")]:  # fmt: skip
        assert (Status(a), Status(b)) in ALLOWED
    assert all(
        t.target is not Status.CLOSED
        or t.source in (Status.AWAITING_ACCEPTANCE, Status.CASE_BY_CASE)
        for t in TRANSITIONS
    )
    assert {s for s in Status} == {t.source for t in TRANSITIONS}  # no dead end


def test_entering_effects():
    """合法/其他/未整改 set the judgement; 已销号 zeroes the remaining area and stamps closed_at;
    反弹 counts and clears the old deadline; 未核查 (re-verification) clears the judgement."""
    r = record(
        Status.AWAITING_ACCEPTANCE,
        measure="拆除",
        remaining_unrectified_m2=120.0,
        judgement="违法",
        deadline=date(2026, 6, 30),
    )
    closed = apply_event(r, plan_event(r, Change(status=Status.CLOSED), seq=4, now=NOW, user="u"))
    assert (
        closed.remaining_unrectified_m2 == 0.0 and closed.closed_at == "2026-03-05T09:30:00+08:00"
    )
    back = apply_event(
        closed,
        plan_event(
            closed, Change(status=Status.REBOUND, note="第2批又发现"), seq=5, now=NOW, user="u"
        ),
    )
    assert (
        back.rebound_count == 1
        and back.closed_at == ""
        and back.deadline is None
        and back.judgement == "违法"
    )
    legal = apply_event(
        record(Status.UNVERIFIED),
        plan_event(
            record(Status.UNVERIFIED),
            Change(status=Status.OTHER, fields={"judgement_type": "伪变化"}),
            seq=4,
            now=NOW,
            user="u",
        ),
    )
    assert legal.judgement == "其他" and legal.judgement_type == "伪变化"
    again = apply_event(
        legal,
        plan_event(
            legal, Change(status=Status.UNVERIFIED, note="重新核查"), seq=5, now=NOW, user="u"
        ),
    )
    assert again.judgement == "" and again.judgement_type == ""


def test_closing_rules():
    r = record(Status.AWAITING_ACCEPTANCE, measure="拆除")
    with pytest.raises(
        StatusTransitionError, match="cannot be closed .* with unrectified area left"
    ):
        plan_event(
            r,
            Change(status=Status.CLOSED, fields={"remaining_unrectified_m2": 50.0}),
            seq=4,
            now=NOW,
            user="u",
        )
    r = record(Status.AWAITING_ACCEPTANCE, measure="一事一议")
    with pytest.raises(StatusTransitionError, match="decision reference"):
        plan_event(r, Change(status=Status.CLOSED), seq=4, now=NOW, user="u")
    with pytest.raises(StatusTransitionError, match="needs 决定文号"):
        plan_event(
            record(Status.CASE_BY_CASE), Change(status=Status.CLOSED), seq=4, now=NOW, user="u"
        )
    decided = plan_event(
        record(Status.CASE_BY_CASE),
        Change(status=Status.CLOSED, fields={"decision_ref": "县政府〔2026〕3号"}),
        seq=4,
        now=NOW,
        user="u",
    )
    assert decided.changes["measure"] == "一事一议" and decided.measure == "一事一议"
    with pytest.raises(StatusTransitionError, match="'设施农用地' is not a 合法 type"):
        plan_event(
            record(Status.UNVERIFIED),
            Change(status=Status.LEGAL, fields={"judgement_type": "设施农用地"}),
            seq=4,
            now=NOW,
            user="u",
        )


def test_bad_values_and_read_only_fields():
    r = record(Status.ILLEGAL)
    with pytest.raises(SchemaError, match="Unknown rectification measure 推平"):
        plan_event(r, Change(fields={"measure": "拆除+推平"}), seq=4, now=NOW, user="u")
    with pytest.raises(SchemaError, match="is not a date"):
        plan_event(r, Change(fields={"deadline": "下月底"}), seq=4, now=NOW, user="u")
    with pytest.raises(SchemaError, match="filled by parcelwatch"):
        plan_event(r, Change(fields={"candidate_class": "I"}), seq=4, now=NOW, user="u")
    with pytest.raises(LedgerError, match="no time zone"):
        plan_event(r, Change(fields={"measure": "拆除"}), seq=4, now=datetime(2026, 3, 5), user="u")  # noqa: DTZ001


def test_a_change_that_changes_nothing_is_no_event():
    r = record(Status.ILLEGAL, measure="拆除")
    assert plan_event(r, Change(fields={"measure": "拆除"}), seq=4, now=NOW, user="u") is None
    assert plan_event(r, Change(status=Status.ILLEGAL), seq=4, now=NOW, user="u") is None


@pytest.mark.parametrize(
    "issued,months,due",
    [
        (date(2026, 3, 15), 1, date(2026, 4, 30)),  # 月清: end of the following month
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 2), 1, date(2028, 2, 29)),  # leap year
        (date(2026, 12, 1), 1, date(2027, 1, 31)),
        (date(2026, 3, 15), 0, date(2026, 3, 31)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
    ],
)
def test_verification_due_follows_the_monthly_rule(issued, months, due):
    assert verification_due(issued, months) == due


def test_overdue():
    """Overdue = past the 整改期限 (else the 核查期限 while verification is pending) and still open."""
    due = date(2026, 4, 30)
    assert is_overdue(record(Status.UNVERIFIED, verify_due=due), date(2026, 5, 1))
    assert not is_overdue(record(Status.UNVERIFIED, verify_due=due), due)
    assert not is_overdue(
        record(Status.ILLEGAL, verify_due=due), date(2026, 5, 1)
    )  # no 整改期限 yet
    assert is_overdue(record(Status.RECTIFYING, deadline=due), date(2026, 5, 1))
    for s in (
        Status.AWAITING_ACCEPTANCE,
        Status.CLOSED,
        Status.LEGAL,
        Status.OTHER,
        Status.ROUTINE,
    ):
        assert not is_overdue(record(s, deadline=due, verify_due=due), date(2027, 1, 1))
    assert effective_deadline(record(Status.REBOUND, verify_due=due)) == due


def test_vocabularies():
    assert parse_measure("拆除、复耕") == "拆除+复耕"
    assert parse_measure("补办设施农用地备案") == "补办设施农用地备案"
    assert (
        parse_confirmed_class("第二类") == "II" and parse_confirmed_class("非农化") == "conversion"
    )
    assert Status.parse("已认定违法") is Status.ILLEGAL and Status.parse("closed") is Status.CLOSED
    assert (
        Status.ILLEGAL.label_en == "confirmed illegal, not rectified"
        and str(Status.CLOSED) == "已销号"
    )
    with pytest.raises(SchemaError, match="Unknown status '完成'. Use one of: 未核查"):
        Status.parse("完成")
    assert (
        batch_year("2026年第1批", 2000) == 2026
        and problem_id_prefix("370790123", 2026) == "370790-2026-"
    )


def _walk(choices: list[int]) -> tuple[ProblemRecord, list[Event]]:
    create = plan_create(
        "370790-2026-000007",
        Change(kind="create", fields={"parcel_ids": ("A",), "year": 2026}),
        now=NOW,
        user="系统",
    )
    rec = apply_event(None, create)
    events = [create]
    for k, c in enumerate(choices):
        targets = allowed_targets(rec.status)
        target = targets[c % len(targets)]
        tr = next(t for t in TRANSITIONS if t.source is rec.status and t.target is target)
        fields, note = satisfying(target, tr.needs)
        if k % 3 == 0:
            fields["responsible_person"] = f"人{k}"
        if target is Status.CLOSED and "一事一议" in (fields.get("measure") or rec.measure):
            fields["decision_ref"] = "决定1号"
        ev = plan_event(
            rec,
            Change(status=target, fields=fields, note=note or f"第{k}步"),
            seq=rec.version + 1,
            now=NOW,
            user=f"u{k}",
        )
        if ev is None:
            continue
        events.append(ev)
        rec = apply_event(rec, ev)
    return rec, events


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10), max_size=25))
def test_replaying_events_rebuilds_the_state(choices):
    """Any walk through the table: replay(events) equals the record built change by change."""
    rec, events = _walk(choices)
    rebuilt = replay(reversed(events))  # order of input does not matter
    assert rebuilt == {rec.problem_id: rec}
    assert rec.version == len(events)


def test_replay_refuses_a_broken_history():
    rec, events = _walk([0, 0, 0])
    with pytest.raises(LedgerError, match="event 3 follows version 1"):
        replay([e for e in events if e.seq != 2])
    bad = replace(events[2], from_status=Status.CLOSED)
    with pytest.raises(LedgerError, match="starts from 已销号"):
        replay([*events[:2], bad, *events[3:]])


def test_creation_shortcuts_equal_the_generic_round_trip():
    """A new problem's fields are normalised by one function per field (``_NORMAL``) and its
    columns written from the event's plain values (``_column_from_plain``): for every field and
    values of its kind (None, empty, Chinese text, numbers as text, NaN, tuples, datetimes) both
    equal the generic ``to_plain(from_plain(to_plain(v)))`` and ``column_value(from_plain(p))``."""
    from datetime import date, datetime, timezone

    import numpy as np

    from parcelwatch.ledger.model import _NORMAL, FIELDS, from_plain, to_plain
    from parcelwatch.ledger.sqlstore import _column_from_plain, column_value

    samples = {
        "text": [None, "", "禾丰镇", 5],
        "real": [None, 1.5, float("nan"), "2.5", np.float64(3.25), 0],
        "int": [None, 0, 3, "4", np.int64(7)],
        "list": [None, (), ("a", "b"), ["x", 1]],
        "date": [
            None,
            date(2026, 3, 1),
            datetime(2026, 3, 1, 10, 5, tzinfo=timezone.utc),
            "2026-03-01",
        ],
    }
    checked = 0
    for f in FIELDS:
        for v in samples.get(f.kind, []):
            want = to_plain(f.name, from_plain(f.name, to_plain(f.name, v)))
            got = _NORMAL[f.name](v)
            assert got == want and type(got) is type(want), (f.name, v, got, want)
            col = column_value(f.name, from_plain(f.name, want))
            assert _column_from_plain(f.name, want) == col, (f.name, v)
            checked += 1
    assert checked > 250
