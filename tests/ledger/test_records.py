"""The one audited-record base (:mod:`parcelwatch.ledger.records`) on both stores: every registered
record type (patrol, 两违, reports, acceptance) is created, changed and audited on the GeoPackage
and on PostgreSQL; the database guards refuse bare SQL; row-level security scopes township logins."""

from __future__ import annotations

import importlib
import sqlite3
from datetime import date, datetime, timedelta, timezone

import psycopg
import pytest
import sqlalchemy as sa

from parcelwatch.errors import LedgerError
from parcelwatch.ledger import records as R
from parcelwatch.ledger.sqlstore import RECORD_MODULES
from tests.ledger.conftest import store  # noqa: F401  (fixture: gpkg and postgis)
from tests.ledger.pg import TOWN_LI, TOWN_ZHANG

NOW = datetime(2026, 5, 6, 10, 0, tzinfo=timezone(timedelta(hours=8)))
for _m in RECORD_MODULES:
    importlib.import_module(_m)

#: the record types each package must register (a module that stops registering fails here)
EXPECTED = {
    "patrol": {"patrol_findings", "complaints", "patrol_visits", "patrol_people"},
    "violations": {"violation_cases", "violation_parties", "violation_blacklist"},
    "reports": {"inspection_items", "campaigns", "org_units", "report_log"},
    "acceptance": {"acc_sanctions", "acc_cases", "acc_funds", "greenhouse_registry", "greenhouse_visits"},
}  # fmt: skip


def _row(e: R.Entity, n: int) -> dict:
    row = {f: f"{f}-{n}" for f in e.fields if f not in e.lists}
    row.update({f: [f"a{n}"] for f in e.lists})
    if e.scope_col:
        row[e.scope_col] = TOWN_ZHANG
    return row


def test_every_package_registers_in_the_one_registry() -> None:
    names = set(R.ENTITIES)
    for pkg, want in EXPECTED.items():
        assert want <= names, (pkg, want - names)
    # one audit_events table for all, on the ledger's metadata
    from parcelwatch.acceptance import records as acc
    from parcelwatch.patrol import records as patrol
    from parcelwatch.reports import records as rep

    assert patrol.audit_events is acc.audit_events is rep.audit_events is R.audit_events
    assert patrol.PatrolBook is patrol.RecordBook is acc.RecordBook is R.RecordBook
    assert issubclass(rep.AuditedBook, R.RecordBook)


def test_every_record_type_create_update_audit_replay_on_both_stores(store) -> None:  # noqa: F811
    """Each registered type: two records created (ids prefix + 4 digits), one changed; the audit
    is (create, create, edit) with who/when/what; replaying the audit rebuilds the table."""
    book = R.RecordBook(store)
    for name, e in sorted(R.ENTITIES.items()):
        ids = book.insert_many(name, [_row(e, 1), _row(e, 2)], prefix="T-", user="甲", now=NOW)
        assert ids == ["T-0001", "T-0002"], name
        field = next(f for f in e.fields if f not in e.lists and f != e.scope_col)
        assert (
            book.update(name, "T-0002", {field: "新值"}, user="乙", now=NOW + timedelta(hours=1))
            == 1
        )
        rec = book.get(name, "T-0002")
        assert (rec[field], rec["version"]) == ("新值", 2), name
        audit = book.audit(name)
        assert [(a["record_id"], a["seq"], a["kind"], a["user"]) for a in audit] == [
            ("T-0001", 1, "create", "甲"), ("T-0002", 1, "create", "甲"), ("T-0002", 2, "edit", "乙"),
        ], name  # fmt: skip
        assert audit[2]["changes"] == {field: [f"{field}-2", "新值"]}
        assert audit[2]["at"] == "2026-05-06T11:00:00+08:00"
        assert book.replay(name) == book.all(name), name
        with pytest.raises(LedgerError, match="already recorded"):
            book.insert_many(name, [_row(e, 3)], ids=["T-0001"], user="甲", now=NOW)


def test_batched_writes_equal_one_by_one_and_stay_all_or_nothing(store) -> None:  # noqa: F811
    """The few-statement writes: 600 records (more than one IN-list chunk of 500) inserted with
    given ids and 600 edits in one transaction give version 2 and events (create, edit) each; a
    record changed twice in one call gets versions 2 and 3 (two events, as one call per change);
    an id given twice or an unknown record refuses the whole call and leaves nothing."""
    book = R.RecordBook(store)
    e = R.ENTITIES["greenhouse_registry"]
    field = next(f for f in e.fields if f not in e.lists and f != e.scope_col)
    ids = [f"G-{n:04d}" for n in range(600)]
    book.insert_many(e.name, [_row(e, n) for n in range(600)], ids=ids, user="甲", now=NOW)
    with pytest.raises(LedgerError, match="G-0599 is already recorded"):
        book.insert_many(
            e.name, [_row(e, 1), _row(e, 2)], ids=["X-1", "G-0599"], user="甲", now=NOW
        )
    with pytest.raises(LedgerError, match="X-2 is already recorded"):
        book.insert_many(e.name, [_row(e, 1), _row(e, 2)], ids=["X-2", "X-2"], user="甲", now=NOW)
    edits = [(e.name, rid, {field: f"改{rid}"}) for rid in ids]
    book.insert_many(e.name, [_row(e, 9)], ids=["G-9999"], user="乙", now=NOW, updates=edits)
    assert {r["version"] for r in book.all(e.name)} == {1, 2}
    assert sum(r["version"] == 2 for r in book.all(e.name)) == 600
    assert book.get(e.name, "G-0123")[field] == "改G-0123"
    n = book.update(e.name, "G-0001", {field: "一"}, user="丙", now=NOW,
                    extra=[(e.name, "G-0001", {field: "二"}, "edit"), (e.name, "G-0002", {field: "改G-0002"}, "edit")])  # fmt: skip
    assert n == 2  # G-0002 did not differ
    assert [(a["seq"], a["kind"], a["changes"]) for a in book.audit(e.name, "G-0001")][1:] == [
        (2, "edit", {field: [f"{field}-1", "改G-0001"]}),
        (3, "edit", {field: ["改G-0001", "一"]}),
        (4, "edit", {field: ["一", "二"]}),
    ]
    assert [a["seq"] for a in book.audit(e.name, "G-0001")] == [1, 2, 3, 4]
    assert book.get(e.name, "G-0001")[field] == "二" and book.get(e.name, "G-0001")["version"] == 4
    before = (book.all(e.name), book.audit(e.name))
    with pytest.raises(LedgerError, match="No .* record 'G-NONE'"):
        book.update(e.name, "G-0003", {field: "丁"}, user="丙", now=NOW,
                    extra=[(e.name, "G-NONE", {field: "x"}, "edit")])  # fmt: skip
    with pytest.raises(LedgerError, match="No .* record 'G-NONE'"):
        book.insert_many(e.name, [_row(e, 1)], ids=["G-NEW"], user="丙", now=NOW,
                         updates=[(e.name, "G-0004", {field: "x"}), (e.name, "G-NONE", {field: "x"})])  # fmt: skip
    assert (book.all(e.name), book.audit(e.name)) == before
    assert book.replay(e.name) == book.all(e.name)


def test_acceptance_records_through_their_api_on_both_stores(store) -> None:  # noqa: F811
    """追责问责 on either store: the §C.3 example's 禾丰镇 rows (2 public-official sanctions, 1 case
    of 2 persons) counted from the stored records."""
    from parcelwatch.acceptance.accountability import LEAVES, add_case, add_sanction, statistics
    from parcelwatch.acceptance.records import RecordBook

    book = RecordBook(store)
    kw = dict(user="王某", now=NOW)
    sid = add_sanction(book, person="张某", category="党纪处分", type="警告", decided_on=date(2019, 3, 1),
                       township="禾丰镇", public_official=True, **kw)  # fmt: skip
    add_sanction(book, person="张某", category="政务处分", type="记过", decided_on=date(2019, 3, 5),
                 township="禾丰镇", public_official=True, **kw)  # fmt: skip
    add_case(book, case_no="禾纪立〔2019〕2号", filed_on=date(2019, 2, 20), persons=2,
             kind="纪律审查", township="禾丰镇", **kw)  # fmt: skip
    assert sid == "ZZ-2019-0001"
    st = statistics(book.all("acc_sanctions"), book.all("acc_cases"), [], {})
    (row,) = st.rows
    assert row.township == "禾丰镇" and (row.cases, row.persons) == (1, 2)
    assert row.counts[LEAVES.index(("党纪处分", "警告"))] == 1
    assert row.counts[LEAVES.index(("政务处分", "记过"))] == 1
    assert [a["kind"] for a in book.audit("acc_sanctions", sid)] == ["create"]


def test_bare_sql_on_records_is_refused_on_both_stores(store) -> None:  # noqa: F811
    """Even on parcelwatch's own connection: a change without its audit event (version kept, or
    version + 1 without the event), a delete, and any change of audit_events."""
    book = R.RecordBook(store)
    (rid,) = book.insert_many("acc_cases", [{"township": TOWN_ZHANG, "kind": "纪律审查"}],
                              ids=["案1"], user="甲", now=NOW)  # fmt: skip
    pg = store._engine.dialect.name == "postgresql"
    p = "pw." if pg else ""
    bad = [
        f"UPDATE {p}acc_cases SET kind = '刑事立案' WHERE case_no = '案1'",
        f"UPDATE {p}acc_cases SET kind = '刑事立案', version = 2 WHERE case_no = '案1'",
        f"DELETE FROM {p}acc_cases",
        f"UPDATE {p}audit_events SET \"user\" = 'x'",
        f"DELETE FROM {p}audit_events",
        f'INSERT INTO {p}audit_events (entity, record_id, seq, at, "user", kind, changes) '
        "VALUES ('acc_cases', '案1', 5, 'x', 'x', 'edit', '{}')",
    ]
    for sql in bad:
        with (
            pytest.raises(
                LedgerError,
                match=r"parcelwatch: .*(version|audit event|never deleted|append-only)|permission denied for table",
            ),
            store._tx(True) as conn,
        ):
            conn.execute(sa.text(sql))
    assert book.get("acc_cases", rid)["kind"] == "纪律审查"
    assert len(book.audit("acc_cases", rid)) == 1


def test_gpkg_record_tables_are_written_only_by_parcelwatch(tmp_path) -> None:
    """QGIS / sqlite3 / GDAL (no parcelwatch_writer function) cannot insert or change records or
    audit events in the GeoPackage, even with a correct-looking event."""
    from parcelwatch.ledger.store import GpkgStore

    s = GpkgStore.create(tmp_path / "ledger.gpkg", now=NOW, county_code="370790")
    R.RecordBook(s).insert_many(
        "greenhouse_visits", [{"notes": "x"}], prefix="V-", user="甲", now=NOW
    )
    s.close()
    con = sqlite3.connect(tmp_path / "ledger.gpkg")
    for sql in (
        "INSERT INTO audit_events (entity, record_id, seq, at, user, kind, changes) VALUES ('greenhouse_visits', 'V-0002', 1, 'x', 'x', 'create', '{}')",
        "INSERT INTO greenhouse_visits (visit_id, version) VALUES ('V-0002', 1)",
        "UPDATE greenhouse_visits SET notes = 'y'",
        "DELETE FROM greenhouse_visits",
    ):
        with pytest.raises(sqlite3.DatabaseError, match="parcelwatch|no such function"):
            con.execute(sql)
    con.close()
    names = {r[0] for r in sqlite3.connect(tmp_path / "ledger.gpkg").execute("SELECT name FROM sqlite_master WHERE type='trigger'")}  # fmt: skip
    assert R.guard_trigger_names() <= names


def test_township_logins_see_and_write_only_their_records(pg_db) -> None:  # noqa: F811
    """Row-level security on record types with a township column, as for problems: 张 (township
    370790101) writes a sanction of his township, not of 李's; 李 sees neither 张's sanction nor
    its audit events; the county login 王 sees all; records without a township column are shared."""
    from parcelwatch.acceptance.accountability import add_sanction
    from parcelwatch.errors import LedgerPermissionError
    from parcelwatch.ledger.pgstore import PgStore

    zhang, li, wang = (PgStore(pg_db(u)) for u in ("zhang", "li", "wang"))
    try:
        bz, bl, bw = (R.RecordBook(s) for s in (zhang, li, wang))
        kw = dict(
            category="党纪处分",
            type="警告",
            decided_on=date(2019, 3, 1),
            public_official=True,
            user="张",
            now=NOW,
        )
        sid = add_sanction(bz, person="张某", township=TOWN_ZHANG, **kw)
        with pytest.raises(LedgerPermissionError, match="row-level security"):
            add_sanction(bz, person="李某", township=TOWN_LI, **kw)
        bz.update("acc_sanctions", sid, {"reason": "违规审批"}, user="张", now=NOW)
        assert [r["sanction_id"] for r in bz.all("acc_sanctions")] == [sid]
        assert bl.all("acc_sanctions") == [] and bl.audit("acc_sanctions") == []
        assert [a["seq"] for a in bw.audit("acc_sanctions", sid)] == [1, 2]
        with pytest.raises(LedgerError):  # 李 cannot move it into his township either (not visible)
            bl.update("acc_sanctions", sid, {"township": TOWN_LI}, user="李", now=NOW)
        bl.insert_many("greenhouse_visits", [{"notes": "共享"}], prefix="V-", user="李", now=NOW)
        assert len(bz.all("greenhouse_visits")) == 1
        # a township given by name is resolved through the ledger's problems (东河乡 = 370790101)
        from tests.ledger.conftest import make_problems

        make_problems(wang, 2)  # P0: 东河乡 / 370790101 (张), P1: 禾丰镇 / 370790102 (李)
        bz.insert_many(
            "greenhouse_registry",
            [{"township": "东河乡"}],
            ids=["东河乡-甲村-1组-001"],
            user="张",
            now=NOW,
        )
        with pytest.raises(LedgerPermissionError, match="row-level security"):
            bz.insert_many(
                "greenhouse_registry",
                [{"township": "禾丰镇"}],
                ids=["禾丰镇-乙村-1组-001"],
                user="张",
                now=NOW,
            )
        assert bl.all("greenhouse_registry") == [] and len(bw.all("greenhouse_registry")) == 1
    finally:
        for s in (zhang, li, wang):
            s.close()


def test_audit_actor_is_the_database_login(pg_db) -> None:  # noqa: F811
    """On PostgreSQL every audit event records the login that wrote it (actor = session_user),
    whatever --user says; a forged actor is refused."""
    url = pg_db("zhang")
    from parcelwatch.ledger.pgstore import PgStore

    s = PgStore(url)
    try:
        R.RecordBook(s).insert_many(
            "patrol_people", [{"name": "甲"}], prefix="P-", user="别人", now=NOW
        )
    finally:
        s.close()
    host = url.split("host=")[1]
    db = url.split("/")[3].split("?")[0]
    with psycopg.connect(host=host, dbname=db, user="postgres", autocommit=True) as con:
        assert con.execute('SELECT actor, "user" FROM pw.audit_events').fetchall() == [
            ("zhang", "别人")
        ]
    with psycopg.connect(host=host, dbname=db, user="zhang", autocommit=True) as con:
        with pytest.raises(psycopg.Error, match="login that writes it"):
            con.execute(
                'INSERT INTO pw.audit_events (entity, record_id, seq, at, "user", kind, changes, actor) '
                "VALUES ('patrol_people', 'P-0002', 1, 'x', 'x', 'create', '{}', 'wang')"
            )


def test_store_copy_carries_records_and_their_history(tmp_path, pg_db) -> None:  # noqa: F811
    """`store copy` GeoPackage -> server -> new GeoPackage: every record with its audit events
    (user, time, changes) arrives through the target's guards; a second copy changes nothing; a
    later change is appended; a diverging history is refused by id."""
    from parcelwatch.errors import LedgerConflictError
    from parcelwatch.ledger.copy import copy_ledger
    from parcelwatch.ledger.pgstore import PgStore
    from parcelwatch.ledger.store import GpkgStore

    src = GpkgStore.create(tmp_path / "a.gpkg", now=NOW, county_code="370790")
    server = PgStore(pg_db("wang"))
    back = GpkgStore.create(tmp_path / "b.gpkg", now=NOW, county_code="370790")
    try:
        book = R.RecordBook(src)
        book.insert_many(
            "acc_cases",
            [{"township": TOWN_ZHANG, "kind": "纪律审查"}],
            ids=["案1"],
            user="甲",
            now=NOW,
        )
        book.update(
            "acc_cases", "案1", {"kind": "刑事立案"}, user="乙", now=NOW + timedelta(days=1)
        )
        book.insert_many(
            "patrol_people", [{"name": "张三"}, {"name": "李四"}], prefix="P-", user="甲", now=NOW
        )
        first = copy_ledger(src, server)
        assert first.record_events_added == 4 and "4 record changes" in first.line()
        assert not copy_ledger(src, server).changed
        assert copy_ledger(server, back).record_events_added == 4
        for other in (server, back):
            ob = R.RecordBook(other)
            for name in ("acc_cases", "patrol_people"):
                assert ob.all(name) == book.all(name), name
                assert ob.audit(name) == book.audit(name), name
        book.update("patrol_people", "P-0001", {"phone": "123"}, user="丙", now=NOW)
        assert copy_ledger(src, server).record_events_added == 1
        R.RecordBook(back).update("patrol_people", "P-0002", {"phone": "9"}, user="丁", now=NOW)
        book.update("patrol_people", "P-0002", {"phone": "8"}, user="丙", now=NOW)
        with pytest.raises(LedgerConflictError, match="P-0002 has a different history"):
            copy_ledger(src, back)
        assert R.RecordBook(back).get("patrol_people", "P-0001")["phone"] is None  # nothing copied
    finally:
        for s in (src, server, back):
            s.close()


def test_verify_reports_a_dropped_record_guard(store) -> None:  # noqa: F811
    """`ledger verify` names a record guard trigger someone dropped (both stores)."""
    from parcelwatch.ledger.verify import verify_store

    R.RecordBook(store).insert_many(
        "acc_funds", [{"special_account": "是"}], ids=["X"], user="甲", now=NOW
    )
    assert verify_store(store).ok
    pg = store._engine.dialect.name == "postgresql"
    name = "acc_funds_no_delete" if pg else "acc_funds_record_no_delete"
    if pg:
        url = store.url.replace("wang@", "postgres@")
        host, db = url.split("host=")[1], url.split("/")[3].split("?")[0]
        with psycopg.connect(host=host, dbname=db, user="postgres", autocommit=True) as con:
            con.execute(f"DROP TRIGGER {name} ON pw.acc_funds")
    else:
        with sqlite3.connect(store.path) as con:
            con.execute(f'DROP TRIGGER "{name}"')
    report = verify_store(store)
    assert not report.ok
    if not pg:  # with the guard gone, a row edited past it is found by the audit replay
        with sqlite3.connect(store.path) as con:
            con.execute('DROP TRIGGER "acc_funds_record_update"')
            con.execute("UPDATE acc_funds SET special_account = '否'")
        assert "acc_funds X differs from its audit history in special_account" in [
            f.what for f in verify_store(store).findings
        ]
    assert f"record guard trigger {name} is missing (dropped)" in [f.what for f in report.findings]
