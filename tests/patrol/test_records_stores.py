"""Patrol records on both stores (GeoPackage and PostgreSQL/PostGIS): T-B-25 (replay of
audit_events rebuilds each table), the append-only audit guard, and the version check."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from parcelwatch.errors import LedgerConflictError, LedgerError
from parcelwatch.patrol import findings as F
from parcelwatch.patrol.records import PatrolBook
from tests.ledger.conftest import store  # noqa: F401  (fixture: gpkg and postgis)
from tests.patrol.conftest import POINTS
from tests.patrol.test_scoring import make_scheme

TZ = timezone(timedelta(hours=8))
NOW = datetime(2026, 4, 30, 18, 0, tzinfo=TZ)


def test_T_B_25_records_audit_and_replay_on_both_stores(store):  # noqa: F811
    scheme = make_scheme()
    assert {i.code: int(i.points) for i in scheme.catalogue if i.points is not None} == POINTS
    book = PatrolBook(store)
    fid, _ = F.report(book, scheme, village="马塘", item="ZR-02", occurred=date(2026, 4, 2),
                      reported_at=datetime(2026, 4, 2, 15, 30, tzinfo=TZ), place="东侧", content="在建",
                      lon=113.0, lat=23.7, user="王某", now=NOW)  # fmt: skip
    gid, _ = F.find(book, scheme, village="马塘", item="ZR-02", finder_kind="district",
                    found_at=datetime(2026, 4, 12, 10, 0, tzinfo=TZ), lon=113.0001, lat=23.7, user="区局", now=NOW)  # fmt: skip
    assert [c["finding_id"] for c in F.same_as_candidates(book, scheme, gid)] == [fid]
    F.verify(book, scheme, fid, result="属实", by="自然资源所", at=NOW, user="张某", now=NOW)
    F.verify(
        book, scheme, gid, result="属实", by="自然资源所", at=NOW, same_as=fid, user="张某", now=NOW
    )
    cid = F.add_complaint(
        book,
        scheme,
        channel="12345",
        received_at=NOW,
        village="天塘",
        content="x",
        item="ZR-01",
        user="赵某",
        now=NOW,
    )
    F.find_from_complaint(book, scheme, cid, user="赵某", now=NOW)
    F.add_visit(
        book,
        scheme,
        by_kind="group",
        by_unit="第三巡查督查组",
        village="马塘",
        start=NOW,
        end=NOW,
        people=["李某"],
        user="李某",
        now=NOW,
    )
    for entity in ("patrol_findings", "complaints", "patrol_visits"):
        assert book.replay(entity) == book.all(entity), entity
    assert (
        book.get("patrol_findings", gid)["issue_id"]
        == fid
        == book.get("patrol_findings", fid)["issue_id"]
    )
    hist = book.audit("patrol_findings", fid)
    assert [(e["seq"], e["kind"], e["user"]) for e in hist] == [
        (1, "create", "王某"),
        (2, "verify", "张某"),
        (3, "same_as", "张某"),
    ]
    # stale version: refused, nothing changed
    with pytest.raises(LedgerConflictError, match="version 1"):
        book.update("patrol_findings", fid, {"notes": "x"}, user="u", now=NOW, expected_version=1)
    assert book.get("patrol_findings", fid)["version"] == 3
    # the audit history cannot be rewritten, even with bare SQL on the same connection
    with (
        pytest.raises(LedgerError, match=r"append-only|permission denied for table audit_events"),
        store._tx(True) as conn,
    ):
        table = "pw.audit_events" if conn.dialect.name == "postgresql" else "audit_events"
        conn.execute(sa.text(f"UPDATE {table} SET \"user\" = 'x'"))
    assert [e["user"] for e in book.audit("patrol_findings", fid)] == ["王某", "张某", "张某"]
