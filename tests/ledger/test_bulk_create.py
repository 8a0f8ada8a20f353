"""Creating many problems in one transaction is a bulk write, on both stores (issue 15.1).

A batch's thousands of new problems are written with one executemany per table (events, problems,
problem_parcels, findings) instead of several statements per problem; the checks stay those of
one-by-one creation: a parcel already on a problem refuses the whole transaction (also when the
same parcel appears twice in one call), the database guards see every problem's first event, and
the result (records, events with their hashes, links) is that of creating the problems one by one.
"""

from __future__ import annotations

import geopandas as gpd
import pytest
import sqlalchemy as sa

from parcelwatch.errors import LedgerConflictError
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
