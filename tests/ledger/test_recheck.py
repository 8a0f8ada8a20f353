"""回头看 on hand-drawn geometry: the same site redrawn, a rebound after 销号, a new site, buildings.

Scene (scene metres, see conftest): site A is the 100 x 100 m square (0,0)-(100,100) on 旱地.
"""

from __future__ import annotations

from datetime import date

import pytest

from parcelwatch.config import rules_from_mapping
from parcelwatch.errors import CRSError
from parcelwatch.ledger.model import Change, Status
from parcelwatch.ledger.recheck import recheck
from parcelwatch.ledger.workspace import problem_for_parcel, set_status
from parcelwatch.pipeline import check_batch, init_workspace
from tests.ledger.conftest import NOW, box, buildings, classify_scene, parcels, write_batch

A = box(0, 0, 100, 100)


def first_batch(store, p=None, b=None, batch="2026年第1批"):
    cls = classify_scene(p if p is not None else parcels(("A1", A)), b)
    rc = recheck(cls, store.snapshot(), batch=batch, now=NOW, issued=date(2026, 3, 1), buildings=b)
    res = store.apply(rc.changes, user="u", now=NOW)
    return rc, res


def rerun(store, p, b=None, batch="2026年第2批", rules=None):
    cls = classify_scene(p, b)
    kw = {"rules": rules} if rules is not None else {}
    return recheck(
        cls, store.snapshot(), batch=batch, now=NOW, issued=date(2026, 4, 10), buildings=b, **kw
    )


def outcome(rc, pid):
    row = rc.items[rc.items["source_id"] == pid].iloc[0]
    return row["outcome"], row["problem_id"]


def test_every_parcel_of_a_new_batch_becomes_a_problem(store):
    """Two parcels, one with a 住宅 of 20 x 20 = 400 m² on 旱地 (非农化 candidate), one empty
    (class none): both are new problems in 未核查, due 2026-04-30 (issued 2026-03-01, 月清)."""
    b = buildings(("B1", box(10, 10, 30, 30)))
    rc, res = first_batch(store, parcels(("A1", A), ("E1", box(300, 0, 400, 100), "东河乡")), b)
    assert rc.counts() == {"new": 2, "same": 0, "rebound": 0, "unchanged": 0}
    assert res.problem_ids == ["370790-2026-000001", "370790-2026-000002"]
    a, e = store.records()
    assert (a.status, a.candidate_class, a.parcel_ids, a.batches, a.verify_due) == (
        Status.UNVERIFIED,
        "conversion",
        ("A1",),
        ("2026年第1批",),
        date(2026, 4, 30),
    )
    assert a.illegal_farmland_m2 == pytest.approx(400 / 1.000297, abs=0.05)
    assert a.remaining_unrectified_m2 == pytest.approx(a.illegal_farmland_m2)
    assert (e.candidate_class, e.township_name) == ("none", "东河乡")
    snap = store.snapshot()
    assert list(snap.findings["footprint_id"]) == ["B1"] and list(snap.findings["problem_id"]) == [
        a.problem_id
    ]


def test_the_same_site_redrawn_is_linked_not_duplicated(store):
    """A' = (5,3)-(104,98) redrawn in batch 2: overlap 95 x 95 = 9,025 m²; union 10,000 + 9,405 -
    9,025 = 10,380 -> IoU 0.8694, share of the smaller 9,025/9,405 = 0.9596 -> same site. The open
    problem gets the parcel id and batch; status and version bump by one link event only."""
    first_batch(store)
    rc = rerun(store, parcels(("A2", box(5, 3, 104, 98))))
    o, pid = outcome(rc, "A2")
    assert (o, pid) == ("same", "370790-2026-000001")
    row = rc.items.iloc[0]
    assert row["iou"] == pytest.approx(9025 / 10380, abs=1e-4) and row["share"] == pytest.approx(
        9025 / 9405, abs=1e-4
    )
    store.apply(rc.changes, user="u", now=NOW)
    rec = store.get(pid)
    assert (rec.status, rec.parcel_ids, rec.batches, rec.version) == (
        Status.UNVERIFIED,
        ("A1", "A2"),
        ("2026年第1批", "2026年第2批"),
        2,
    )
    assert store.events(pid)[-1].kind == "link" and len(store.records()) == 1


@pytest.mark.parametrize(
    "geom,expected,why",
    [
        (box(0, 0, 40, 40), "same", "inside A: share 1600/1600 = 1.0 >= 0.5 though IoU = 0.16"),
        (box(40, 0, 140, 100), "same", "shifted 40 m: overlap 6,000, IoU 6000/14000 = 0.43 >= 0.3"),
        (
            box(60, 0, 160, 100),
            "new",
            "shifted 60 m: IoU 4000/16000 = 0.25, share 0.4: a neighbour",
        ),
        (box(80, 0, 180, 100), "new", "overlap 2,000: share 0.2, IoU 0.11"),
        (box(200, 0, 300, 100), "new", "no overlap"),
    ],
)
def test_same_site_thresholds(store, geom, expected, why):
    first_batch(store)
    rc = rerun(store, parcels(("X", geom)))
    assert outcome(rc, "X")[0] == expected, why


def test_thresholds_come_from_the_rules(store):
    """With same_site_iou 0.5 the 40 m shift (IoU 0.43, share 0.6) is a new site once the share
    key is raised to 0.7 as well."""
    first_batch(store)
    strict = rules_from_mapping({"ledger": {"same_site_iou": 0.5, "same_site_share": 0.7}})
    assert (
        outcome(rerun(store, parcels(("X", box(40, 0, 140, 100))), rules=strict), "X")[0] == "new"
    )


def test_the_same_parcel_id_in_a_later_batch_is_the_same_site(store):
    first_batch(store)
    rc = rerun(store, parcels(("A1", box(500, 500, 600, 600))))
    assert outcome(rc, "A1") == ("same", "370790-2026-000001")


def test_rebound_after_closing(store):
    """A is closed (拆除+复耕); batch 2 finds A' on it: 反弹 with the new parcel as evidence."""
    _, res = first_batch(store)
    pid = res.problem_ids[0]
    for status, fields in (
        (Status.ILLEGAL, {"confirmed_class": "conversion"}),
        (Status.RECTIFYING, {"measure": "拆除+复耕"}),
        (Status.AWAITING_ACCEPTANCE, {}),
        (Status.CLOSED, {}),
    ):
        store.apply([Change(pid, status, fields)], user="u", now=NOW)
    rc = rerun(store, parcels(("A2", box(5, 3, 104, 98))))
    assert outcome(rc, "A2") == ("rebound", pid)
    assert rc.counts() == {"new": 0, "same": 0, "rebound": 1, "unchanged": 0}
    store.apply(rc.changes, user="u", now=NOW)
    rec = store.get(pid)
    assert (
        rec.status is Status.REBOUND
        and rec.rebound_count == 1
        and rec.verify_due == date(2026, 5, 31)
    )
    assert rec.rebound_sources == ("2026年第2批/图斑A2",)
    assert (
        rec.evidence[-1].kind == "parcel"
        and rec.evidence[-1].ref == "A2"
        and "交并比 0.87" in rec.evidence[-1].detail
    )
    ev = store.events(pid)[-1]
    assert (ev.kind, ev.from_status, ev.to_status) == ("rebound", Status.CLOSED, Status.REBOUND)
    # checking batch 2 again changes nothing
    again = rerun(store, parcels(("A2", box(5, 3, 104, 98))))
    assert again.changes == [] and outcome(again, "A2") == ("unchanged", pid)


@pytest.mark.parametrize(
    "judged,fields",
    [
        (Status.LEGAL, {"judgement_type": "批准建设用地"}),
        (Status.OTHER, {"judgement_type": "伪变化"}),
    ],
)
def test_a_site_judged_legal_or_other_found_again_rebounds(store, judged, fields):
    _, res = first_batch(store)
    store.apply([Change(res.problem_ids[0], judged, fields)], user="u", now=NOW)
    rc = rerun(store, parcels(("A2", A)))
    assert outcome(rc, "A2")[0] == "rebound"
    assert rc.changes[0].status is Status.REBOUND


def _close(store, pid, measure):
    for status, fields in (
        (Status.ILLEGAL, {"confirmed_class": "I"}),
        (Status.RECTIFYING, {"measure": measure}),
        (Status.AWAITING_ACCEPTANCE, {}),
        (Status.CLOSED, {}),
    ):
        store.apply([Change(pid, status, fields)], user="u", now=NOW)


@pytest.mark.parametrize(
    "geom,reopens,why",
    [
        (box(20, 20, 40, 40), True, "wholly on A"),
        (box(89, 20, 109, 40), True, "55% on A >= rebound_building_share 0.5"),
        (box(92, 20, 112, 40), False, "40% on A"),
        (box(300, 300, 320, 320), False, "elsewhere"),
    ],
)
def test_a_building_on_a_closed_problem_reopens_it(store, geom, reopens, why):
    """No parcel in batch 3 (an empty parcels layer is a batch with nothing issued near A), but the
    buildings layer has W: it reopens A when at least half of W lies on it."""
    _, res = first_batch(store)
    _close(store, res.problem_ids[0], "拆除+复耕")
    w = buildings(("W", geom))
    rc = rerun(store, parcels(("Z", box(1500, 500, 1600, 600))), w, batch="2026年第3批")
    assert (
        res.problem_ids[0] in set(rc.items.loc[rc.items["outcome"] == "rebound", "problem_id"])
    ) is reopens, why
    if reopens:
        store.apply(rc.changes, user="u", now=NOW)
        rec = store.get(res.problem_ids[0])
        assert rec.status is Status.REBOUND and rec.rebound_sources == ("2026年第3批/建筑W",)
        assert rec.evidence[-1].kind == "building"
        assert (
            rerun(store, parcels(("Z", box(1500, 500, 1600, 600))), w, batch="2026年第3批").changes
            == []
        )


def test_a_legalised_building_stays_but_a_new_one_reopens(store):
    """A was found with 住宅 B1 (10,10)-(30,30) and closed by 补办设施农用地备案. Batch 3 shows B1
    redrawn as (10.5,10)-(30.5,30) (IoU 19.5x20 / 20.5x20 = 0.951): it is the legalised building,
    no rebound. A new building N (60,60)-(80,80) on A reopens it."""
    b1 = buildings(("B1", box(10, 10, 30, 30)))
    _, res = first_batch(store, parcels(("A1", A)), b1)
    pid = res.problem_ids[0]
    _close(store, pid, "补办设施农用地备案")
    far = parcels(("Z", box(1500, 500, 1600, 600)))
    same_building = buildings(("B1x", box(10.5, 10, 30.5, 30)))
    rc = rerun(store, far, same_building, batch="2026年第3批")
    assert "rebound" not in set(rc.items["outcome"]) and [c.kind for c in rc.changes] == [
        "create"
    ]  # only Z, new
    with_new = buildings(("B1x", box(10.5, 10, 30.5, 30)), ("N", box(60, 60, 80, 80)))
    rc = rerun(store, far, with_new, batch="2026年第3批")
    reb = rc.items[rc.items["outcome"] == "rebound"]
    assert list(reb["source_id"]) == ["N"] and list(reb["problem_id"]) == [pid]
    # closed by demolition instead: the same redrawn building is a rebound
    _, res2 = first_batch(
        store,
        parcels(("C1", box(1000, 0, 1100, 100))),
        buildings(("B2", box(1010, 10, 1030, 30))),
        batch="2026年第1批b",
    )
    _close(store, res2.problem_ids[0], "拆除")
    rc = rerun(store, far, buildings(("B2x", box(1010.5, 10, 1030.5, 30))), batch="2026年第3批")
    assert list(rc.items.loc[rc.items["outcome"] == "rebound", "problem_id"]) == [
        res2.problem_ids[0]
    ]


def test_candidate_class_is_upgraded_only_when_more_severe(store):
    """A was class none; A' in batch 2 holds a 住宅 on farmland (非农化): linked with an upgrade.
    A later parcel of class none does not downgrade it."""
    _, res = first_batch(store)
    pid = res.problem_ids[0]
    rc = rerun(store, parcels(("A2", A)), buildings(("B9", box(40, 40, 60, 60))))
    store.apply(rc.changes, user="u", now=NOW)
    rec = store.get(pid)
    assert rec.candidate_class == "conversion" and "疑似类别升级" in store.events(pid)[-1].note
    rc = rerun(store, parcels(("A3", A)), batch="2026年第4批")
    assert "candidate_class" not in rc.changes[0].fields


def test_recheck_is_pure_and_refuses_geographic_input(store):
    first_batch(store)
    snap = store.snapshot()
    before = (snap.parcels.copy(), dict(snap.records))
    p = parcels(("A2", A))
    cls = classify_scene(p)
    recheck(cls, snap, batch="2026年第2批", now=NOW)
    assert snap.parcels.equals(before[0]) and snap.records == before[1]
    cls.parcels = cls.parcels.to_crs(4490)
    with pytest.raises(CRSError, match="metric CRS"):
        recheck(cls, snap, batch="2026年第2批", now=NOW)


def test_check_batch_end_to_end_and_twice_is_a_no_op(tmp_path):
    """Files in, one transaction: batch 1 (A1 with a building, E1 empty) -> 2 new problems; the same
    batch again changes nothing at all (no event, no batch row update); batch 2 with A redrawn
    after closing, and a new site -> 1 rebound, 1 new, reported by class and township."""
    ws = init_workspace(tmp_path / "ws", county_code="370790", county_name="样例县", now=NOW)
    b1 = write_batch(
        tmp_path / "b1",
        parcels(("A1", A), ("E1", box(300, 0, 400, 100), "东河乡")),
        buildings(("B1", box(10, 10, 30, 30))),
    )
    s1 = check_batch(ws, b1, batch="2026年第1批", now=NOW, user="张三", issued=date(2026, 3, 1))
    assert s1.counts == {"new": 2, "same": 0, "rebound": 0, "unchanged": 0} and s1.events == 2
    assert s1.new_ids == ["370790-2026-000001", "370790-2026-000002"]
    assert (
        s1.by_township().loc["东河乡", "new"] == 1 and s1.by_class().loc["耕地非农化", "new"] == 1
    )
    snapshot = (
        ws.store.events(),
        ws.store.batches().to_dict("records"),
        ws.store.meta(),
        ws.store.records(),
    )
    s1b = check_batch(ws, b1, batch="2026年第1批", now=NOW, user="张三", issued=date(2026, 3, 1))
    assert s1b.counts == {"new": 0, "same": 0, "rebound": 0, "unchanged": 2} and s1b.events == 0
    assert (
        ws.store.events(),
        ws.store.batches().to_dict("records"),
        ws.store.meta(),
        ws.store.records(),
    ) == snapshot
    a = problem_for_parcel(ws, "A1")
    for status, kw in (
        ("未整改", {"confirmed_class": "conversion"}),
        ("整改中", {"measure": "拆除+复耕"}),
        ("待验收", {}),
        ("已销号", {}),
    ):
        set_status(ws, a.problem_id, status, user="李四", now=NOW, **kw)
    b2 = write_batch(
        tmp_path / "b2",
        parcels(("A2", box(5, 3, 104, 98), "禾丰镇"), ("N1", box(600, 0, 700, 100))),
    )
    s2 = check_batch(ws, b2, batch="2026年第2批", now=NOW, user="张三", issued=date(2026, 4, 2))
    assert s2.counts == {"new": 1, "same": 0, "rebound": 1, "unchanged": 0}
    assert s2.rebound_ids == [a.problem_id] and s2.new_ids == ["370790-2026-000003"]
    assert (
        s2.by_class().loc["耕地非农化", "rebound"] == 1
    )  # the site's class when the parcel has none
    text = "\n".join(s2.lines())
    assert "新增问题 1，已在台账 0，反弹 1" in text and "反弹问题：370790-2026-000001" in text
    assert list(ws.store.batches()["batch"]) == ["2026年第1批", "2026年第2批"]
    ws.close()


def test_rechecking_the_first_batch_after_closing_changes_nothing(store):
    """Batch 1 found A1 with building B1; A is demolished and closed. Checking batch 1 again (its
    parcels and its buildings, which show B1 before demolition) must not reopen A."""
    b1 = buildings(("B1", box(10, 10, 30, 30)))
    _, res = first_batch(store, parcels(("A1", A)), b1)
    _close(store, res.problem_ids[0], "拆除")
    again = recheck(
        classify_scene(parcels(("A1", A)), b1),
        store.snapshot(),
        batch="2026年第1批",
        now=NOW,
        buildings=b1,
    )
    assert again.changes == [] and list(again.items["outcome"]) == ["unchanged"]
