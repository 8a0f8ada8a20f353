"""Creating many problems in one transaction is a bulk write, on both stores (issue 15.1).

A batch's thousands of new problems are written with one executemany per table (events, problems,
problem_parcels, findings) instead of several statements per problem; the checks stay those of
one-by-one creation: a parcel already on a problem refuses the whole transaction (also when the
same parcel appears twice in one call), the database guards see every problem's first event, and
the result (records, events with their hashes, links) is that of creating the problems one by one.
Consecutive updates (an Excel import's thousand status changes) are written the same way, with the
checks, errors and hashes of one-by-one updates.
"""

from __future__ import annotations

import geopandas as gpd
import pytest
import sqlalchemy as sa

from parcelwatch.errors import LedgerConflictError, LedgerError
from parcelwatch.ledger.model import Change, FootprintFinding, ParcelLink, Status
from parcelwatch.ledger.store import GpkgStore
from parcelwatch.ledger.verify import verify_store
from tests.ledger.conftest import NOW, box, make_problems

BATCH = "2026年第2批"


def _creates(n: int, *, first: int = 0, batch: str = BATCH) -> list[Change]:
    """n new problems (10 m squares drawn in GK metres, stored in EPSG:4490), each with one parcel link and,
    for every third, one finding."""
    squares = gpd.GeoSeries(
        [box(20 * i, 0, 20 * i + 10, 10) for i in range(first, first + n)], crs=4549
    ).to_crs(4490)
    out = []
    for i, g in zip(range(first, first + n), squares, strict=True):
        pid = f"Q{i:05d}"
        finds = ()
        if i % 3 == 0:
            finds = (
                FootprintFinding(
                    parcel_id=pid, batch=batch, footprint_id=f"B{i}", rule_id="R1",
                    problem_class="II", reason="占用耕地建房", reason_en="house on farmland",
                    suggested_judgement="", document="", footprint_m2=100.0, farmland_m2=60.0,
                    pbf_m2=0.0, geometry=g,
                ),
            )  # fmt: skip
        out.append(
            Change(
                kind="create", status=Status.UNVERIFIED, batch=batch, geometry=g,
                fields={"county_code": "370790", "year": 2026, "first_batch": batch, "batches": (batch,),
                        "parcel_ids": (pid,), "candidate_class": "II", "township_name": "禾丰镇",
                        "township_code": "370790101", "parcel_area_m2": 100.0, "illegal_farmland_m2": 60.0},
                parcels=(ParcelLink(pid, batch, g),),
                findings=finds,
            )
        )  # fmt: skip
    return out


def _statements(store) -> list[str]:
    seen: list[str] = []
    sa.event.listen(
        store._engine,
        "before_cursor_execute",
        lambda conn, cursor, statement, *a: seen.append(statement),
    )
    return seen


def _state(store) -> tuple:
    events = [
        {k: v for k, v in r.items() if k not in ("fid", "recorded_at", "actor")}
        for r in store.event_rows()
    ]
    records = {r.problem_id: r for r in store.records(geometry=False)}
    links = {pid: store.problems_for_parcel(pid) for pid in ("Q00000", "Q00007", "Q00149")}
    return records, events, links


def test_many_creations_are_a_few_statements_and_equal_one_by_one(store, tmp_path):
    """150 creations in one call: at most a handful of INSERTs (one executemany per table; a
    PostgreSQL driver may page them), and the same records, events (hashes included) and links
    as 150 calls of one creation each on a fresh GeoPackage."""
    seen = _statements(store)
    res = store.apply(_creates(150), user="setup", now=NOW)
    inserts = [s for s in seen if s.lstrip().upper().startswith("INSERT")]
    # events, problems, problem_parcels, findings, the run's meta row (+ paging on PostgreSQL)
    assert len(inserts) <= 10, inserts[:20]
    assert len(res.problem_ids) == 150 and len(set(res.problem_ids)) == 150
    assert (
        res.problem_ids[0] == "370790-2026-000001" and res.problem_ids[-1] == "370790-2026-000150"
    )
    assert verify_store(store).ok

    one = GpkgStore.create(tmp_path / "one.gpkg", now=NOW, county_code="370790")
    try:
        for c in _creates(150):
            one.apply([c], user="setup", now=NOW)
        bulk_records, bulk_events, bulk_links = _state(store)
        one_records, one_events, one_links = _state(one)
    finally:
        one.close()
    assert bulk_records == one_records
    assert [(e["problem_id"], e["hash"]) for e in bulk_events] == [
        (e["problem_id"], e["hash"]) for e in one_events
    ]
    assert (
        bulk_links
        == one_links
        == {
            "Q00000": ["370790-2026-000001"],
            "Q00007": ["370790-2026-000008"],
            "Q00149": ["370790-2026-000150"],
        }
    )
    assert len(store.records()) == 150


def test_a_parcel_already_on_a_problem_refuses_the_whole_bulk_creation(store):
    """Q00005 of the batch is on a problem: creating 10 new ones that include it writes nothing."""
    store.apply(_creates(1, first=5), user="setup", now=NOW)
    before = store.records(geometry=False)
    with pytest.raises(
        LedgerConflictError, match="Parcel Q00005 .* already recorded on problem 370790-2026-000001"
    ):
        store.apply(_creates(10), user="setup", now=NOW)
    assert store.records(geometry=False) == before
    assert len(store.events()) == 1
    assert store.problems_for_parcel("Q00000") == []


def test_the_same_parcel_twice_in_one_call_is_refused(store):
    """Two creations linking Q00003 in one call: the second names the first's (would-be) id and
    nothing is written, as when the two were created one after the other."""
    changes = _creates(4) + _creates(1, first=3)
    with pytest.raises(LedgerConflictError, match="Parcel Q00003 .* on problem 370790-2026-000004"):
        store.apply(changes, user="setup", now=NOW)
    assert store.records() == [] and store.events() == []


def test_creations_and_updates_mixed_keep_their_order(store):
    """[create, update of an existing problem, create]: ids come back in the order of the changes
    and the update sees the ledger as it was; a later update of a problem created earlier in the
    same call works too (the creations before it are written first)."""
    (old,) = make_problems(store, 1)
    a, b = _creates(2)
    res = store.apply(
        [a, Change(old, Status.ILLEGAL, {"confirmed_class": "II"}), b],
        user="u",
        now=NOW,
    )
    assert res.problem_ids == [
        "370790-2026-000002",
        old,
        "370790-2026-000003",
    ]
    assert store.get(old).status is Status.ILLEGAL
    (c,) = _creates(1, first=7)
    res = store.apply(
        [c, Change("370790-2026-000004", Status.ILLEGAL, {"confirmed_class": "I"})],
        user="u",
        now=NOW,
    )
    assert res.problem_ids == ["370790-2026-000004", "370790-2026-000004"]
    assert store.get("370790-2026-000004").version == 2
    assert verify_store(store).ok


def _updates(ids: list[str]) -> list[Change]:
    """Every problem to 违法 with a class; every fourth also gets a second parcel link, every fifth
    only its present status (nothing to change), the last one names version 1."""
    out = []
    for i, pid in enumerate(ids):
        if i % 5 == 4:
            out.append(Change(pid, Status.UNVERIFIED, {}))  # its status already
            continue
        extra = (
            (ParcelLink(f"R{i:05d}", "2026年第3批", box(0, 0, 1e-4, 1e-4)),) if i % 4 == 0 else ()
        )
        out.append(
            Change(pid, Status.ILLEGAL, {"confirmed_class": "II" if i % 2 else "I"}, parcels=extra,
                   expected_version=1 if i == len(ids) - 1 else None)
        )  # fmt: skip
    return out


def test_many_updates_are_a_few_statements_and_equal_one_by_one(store, tmp_path):
    """120 updates in one call: a handful of statements, not several per problem; the same records, events
    (hashes chained on the creations') and links as 120 calls of one update each; every fifth
    change sets what the problem has, so its result is None and it writes no event."""
    store.apply(_creates(120), user="setup", now=NOW)
    ids = [f"370790-2026-{i:06d}" for i in range(1, 121)]
    seen = _statements(store)
    res = store.apply(_updates(ids), user="审核", now=NOW)
    writes = [s for s in seen if s.lstrip().upper().startswith(("INSERT", "UPDATE"))]
    assert len(writes) <= 10, writes[:20]
    assert res.problem_ids == [None if i % 5 == 4 else pid for i, pid in enumerate(ids)]
    assert verify_store(store).ok

    one = GpkgStore.create(tmp_path / "one.gpkg", now=NOW, county_code="370790")
    try:
        one.apply(_creates(120), user="setup", now=NOW)
        for c in _updates(ids):
            one.apply([c], user="审核", now=NOW)
        bulk_records, bulk_events, bulk_links = _state(store)
        one_records, one_events, one_links = _state(one)
        assert one.problems_for_parcel("R00000") == store.problems_for_parcel("R00000") == [ids[0]]
    finally:
        one.close()
    assert bulk_records == one_records
    assert [(e["problem_id"], e["seq"], e["hash"]) for e in bulk_events] == [
        (e["problem_id"], e["seq"], e["hash"]) for e in one_events
    ]
    assert len(bulk_events) == 120 + 96 and bulk_links == one_links
    assert store.get(ids[1]).status is Status.ILLEGAL and store.get(ids[4]).version == 1


def test_a_stale_or_missing_problem_refuses_every_update_of_the_call(store):
    """Ten updates where the eighth names version 1 of a problem at version 2, or names no
    problem: nothing of the call is written, and the error names that problem."""
    store.apply(_creates(10), user="setup", now=NOW)
    ids = [f"370790-2026-{i:06d}" for i in range(1, 11)]
    store.apply([Change(ids[7], Status.ILLEGAL, {"confirmed_class": "I"})], user="u", now=NOW)
    before = (store.records(geometry=False), store.events())
    stale = [
        Change(pid, Status.ILLEGAL, {"confirmed_class": "II"}, expected_version=1) for pid in ids
    ]
    with pytest.raises(LedgerConflictError, match=f"Problem {ids[7]} .*version 1.*version 2"):
        store.apply(stale, user="u", now=NOW)
    missing = [Change(pid, Status.ILLEGAL, {"confirmed_class": "II"}) for pid in ids[:7]]
    missing.append(Change("370790-2026-999999", Status.ILLEGAL, {"confirmed_class": "II"}))
    with pytest.raises(LedgerError, match="370790-2026-999999"):
        store.apply(missing, user="u", now=NOW)
    assert (store.records(geometry=False), store.events()) == before


def test_the_same_problem_twice_in_one_call_gets_two_versions(store):
    """[problem 1 to 违法, problem 2 to 违法, problem 1 class I]: problem 1 ends at version 3 with
    two events, as one call per change."""
    store.apply(_creates(2), user="setup", now=NOW)
    a, b = "370790-2026-000001", "370790-2026-000002"
    res = store.apply(
        [Change(a, Status.ILLEGAL, {"confirmed_class": "II"}), Change(b, Status.ILLEGAL, {"confirmed_class": "II"}),
         Change(a, None, {"confirmed_class": "I"})], user="u", now=NOW,
    )  # fmt: skip
    assert res.problem_ids == [a, b, a]
    assert store.get(a).version == 3 and store.get(a).confirmed_class == "I"
    assert [e.seq for e in store.events() if e.problem_id == a] == [1, 2, 3]
    assert verify_store(store).ok
