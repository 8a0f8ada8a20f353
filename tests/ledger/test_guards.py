"""Edits made outside parcelwatch: refused by the GeoPackage's triggers (as QGIS writes, with plain
sqlite3), and what ``parcelwatch ledger verify`` finds when someone drops the triggers first."""

from __future__ import annotations

import json
import shutil
import sqlite3

import pytest

from parcelwatch.cli import main
from parcelwatch.ledger.model import Change, Status
from parcelwatch.ledger.store import GpkgStore, _register_functions
from parcelwatch.ledger.verify import tamper_warning, verify_store
from parcelwatch.pipeline import init_workspace
from tests.ledger.conftest import NOW, make_problems


def _qgis(path) -> sqlite3.Connection:
    """A connection like QGIS's: the GeoPackage ST_* functions, nothing of parcelwatch."""
    con = sqlite3.connect(str(path), isolation_level=None)
    _register_functions(con)
    return con


@pytest.fixture
def ledger(gpkg_store):
    """P0 未核查 -> 未整改 (version 2); P1 未核查 (version 1)."""
    ids = make_problems(gpkg_store, 2)
    gpkg_store.apply(
        [Change(ids[0], Status.ILLEGAL, {"confirmed_class": "II"})], user="甲", now=NOW
    )
    return gpkg_store, ids


FORBIDDEN = [
    ("UPDATE problem_parcels SET problem_id = 'X'", "no such function: parcelwatch_writer"),
    ("DELETE FROM problem_parcels", "no such function: parcelwatch_writer"),
    ("INSERT INTO problem_parcels (problem_id, parcel_id, batch) VALUES ('X', 'Y', 'Z')", "no such function: parcelwatch_writer"),
    ("UPDATE findings SET rule_id = 'x'", "no such function: parcelwatch_writer"),
    ("UPDATE meta SET value = '别的县' WHERE key = 'county_name'", "no such function: parcelwatch_writer"),
    ("INSERT INTO meta (key, value) VALUES ('k', 'v')", "no such function: parcelwatch_writer"),
    ("UPDATE batches SET parcel_count = 0", "no such function: parcelwatch_writer"),
    ("DELETE FROM transitions", "no such function: parcelwatch_writer"),
    ("INSERT INTO transitions VALUES ('未整改', '已销号')", "no such function: parcelwatch_writer"),
    ("UPDATE problems SET status = '已销号'", "changes only with its event and the next version"),
    ("UPDATE problems SET status = '已销号', version = version + 1", "changes only with its event"),
    ("DELETE FROM problems", "never deleted"),
    ("UPDATE events SET note = 'x'", "append-only"),
    ("DELETE FROM events", "append-only"),
]  # fmt: skip


@pytest.mark.parametrize("sql,message", FORBIDDEN, ids=[s[:40] for s, _ in FORBIDDEN])
def test_every_ledger_table_refuses_edits_from_qgis(ledger, sql, message):
    store, ids = ledger
    before = verify_store(store)
    con = _qgis(store.path)
    with pytest.raises(sqlite3.DatabaseError, match=message):
        con.execute(sql)
    con.close()
    assert verify_store(store) == before and before.ok


def _event(pid: str, seq: int, frm: str, to: str, kind: str = "transition") -> str:
    changes = json.dumps({"status": to}, ensure_ascii=False)
    return (
        'INSERT INTO events (problem_id, seq, at, "user", kind, from_status, to_status, changes) '
        f"VALUES ('{pid}', {seq}, '2026-03-06T10:00:00+08:00', 'qgis', '{kind}', '{frm}', '{to}', '{changes}')"
    )


def test_forged_events_are_refused_by_the_database(ledger):
    """Issue 19.2's two-step edit: an event 未核查 -> 已销号 (not in the table), a 未整改 -> 已销号,
    a wrong seq, a wrong starting status, a second creation: each refused by a trigger."""
    store, (p0, p1) = ledger
    con = _qgis(store.path)
    for sql, msg in (
        (_event(p1, 2, "未核查", "已销号"), "not in the transition table"),
        (_event(p0, 3, "未整改", "已销号"), "not in the transition table"),
        (_event(p1, 3, "未核查", "合法"), "next sequence number"),
        (_event(p1, 2, "未整改", "整改中"), "current status"),
        (_event("NEW-1", 1, "未核查", "未核查", kind="transition"), "first event of a problem"),
    ):
        with pytest.raises(sqlite3.IntegrityError, match=msg):
            con.execute(sql)
    con.close()
    assert store.get(p1).status is Status.UNVERIFIED and len(store.events()) == 3


def test_a_legal_edit_typed_in_qgis_passes_the_triggers_but_not_verify(ledger):
    """未核查 -> 合法 with the next seq and then the row: the triggers accept it (it is in the
    table), but the event has no valid hash, so `ledger verify` names the problem."""
    store, (_, p1) = ledger
    con = _qgis(store.path)
    con.execute("BEGIN")
    con.execute(_event(p1, 2, "未核查", "合法"))
    con.execute(f"UPDATE problems SET status = '合法', version = 2 WHERE problem_id = '{p1}'")
    con.execute("COMMIT")
    con.close()
    report = verify_store(store)
    assert report.problem_ids == [p1]
    assert any("hash chain" in f.what for f in report.findings)


def _tamper(path, *sql: str) -> None:
    con = _qgis(path)
    for s in sql:
        con.execute(s)
    con.close()


@pytest.mark.parametrize(
    "case",
    ["dropped trigger", "deleted event", "rewritten event", "forged 未整改->已销号", "new column"],
)
def test_ledger_verify_detects_each_tampering(tmp_path, capsys, case):
    """Each case of issue 18.11 on a workspace: `ledger verify` exits 1 naming the problem; the
    untouched ledger verifies with exit 0; the fast check behind the map/export warning fires."""
    ws = init_workspace(tmp_path / "ws", county_code="370790", now=NOW)
    ids = make_problems(ws.store, 2)
    ws.store.apply([Change(ids[0], Status.ILLEGAL, {"confirmed_class": "II"})], user="甲", now=NOW)
    path = ws.store.path
    ws.close()
    assert main(["ledger", "verify", str(tmp_path / "ws")]) == 0
    assert "ledger verified: 2 problems, 3 events" in capsys.readouterr().out
    p0 = ids[0]
    if case == "dropped trigger":
        _tamper(path, 'DROP TRIGGER "events_append_only_delete"')
        expect, named = "guard trigger events_append_only_delete is missing", None
    elif case == "deleted event":
        _tamper(path, 'DROP TRIGGER "events_append_only_delete"', f"DELETE FROM events WHERE problem_id = '{p0}' AND seq = 2")  # fmt: skip
        expect, named = "version 2 but 1 events", p0
    elif case == "rewritten event":
        _tamper(path, 'DROP TRIGGER "events_append_only_update"', f"UPDATE events SET \"user\" = '别人' WHERE problem_id = '{p0}' AND seq = 2")  # fmt: skip
        expect, named = "does not match the hash chain", p0
    elif case == "forged 未整改->已销号":
        _tamper(
            path,
            'DROP TRIGGER "events_legal_transition"',
            _event(p0, 3, "未整改", "已销号"),
            f"UPDATE problems SET status = '已销号', version = 3 WHERE problem_id = '{p0}'",
        )
        expect, named = "未整改 -> 已销号 is not an allowed transition (forged)", p0
    else:
        _tamper(path, "ALTER TABLE problems ADD COLUMN secret TEXT")
        expect, named = "columns parcelwatch did not create: secret", None
    assert main(["ledger", "verify", str(tmp_path / "ws")]) == 1
    out = capsys.readouterr().out
    assert expect in out
    if named:
        assert f"Problems affected: {named}" in out
    store = GpkgStore(path)
    try:
        assert tamper_warning(store).startswith("警告：台账在 parcelwatch 之外被改动")
        with pytest.warns(UserWarning, match="changed outside parcelwatch"):
            store.apply([Change(ids[1], None, {"notes": "x"})], user="乙", now=NOW)
    finally:
        store.close()


def test_a_schema_1_ledger_is_migrated_with_a_backup(tmp_path):
    """A version-1 file (no hash, no transitions table): opening it writes ledger.schema1-backup.gpkg
    first, then adds the columns, the hash chain and every guard; verify then passes."""
    src = tmp_path / "ledger.gpkg"
    s = GpkgStore.create(src, now=NOW, county_code="370790")
    make_problems(s, 2)
    s.close()
    con = _qgis(src)
    con.create_function("parcelwatch_writer", 0, lambda: 1)
    # turn it back into schema 1: the old events table without the new columns, no new guards
    names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='trigger' AND name NOT LIKE 'rtree%'")]  # fmt: skip
    for n in names:
        con.execute(f'DROP TRIGGER "{n}"')
    for c in ("os_user", "hash", "actor", "recorded_at"):
        con.execute(f'ALTER TABLE events DROP COLUMN "{c}"')
    con.execute("DROP TABLE transitions")
    con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    con.close()
    shutil.copy(src, tmp_path / "v1.gpkg")
    store = GpkgStore(src)
    try:
        assert (tmp_path / "ledger.schema1-backup.gpkg").exists()
        assert store.meta()["schema_version"] == "3"
        assert verify_store(store).ok, verify_store(store).lines()
    finally:
        store.close()
    old = sqlite3.connect(tmp_path / "ledger.schema1-backup.gpkg")
    assert old.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == ("1",)
    old.close()


def test_export_of_a_tampered_ledger_carries_a_visible_warning(tmp_path, capsys):
    """An event deleted behind parcelwatch's back: `export` still writes, with the warning on
    stderr naming the problem; an untouched ledger exports without it."""
    ws = init_workspace(tmp_path / "ws", county_code="370790", now=NOW)
    ids = make_problems(ws.store, 1)
    ws.store.apply([Change(ids[0], Status.ILLEGAL, {"confirmed_class": "II"})], user="甲", now=NOW)
    path = ws.store.path
    ws.close()
    args = ["export", str(tmp_path / "ws"), "--format", "csv", "--today", "2026-05-10", "-o"]
    assert main([*args, str(tmp_path / "a.csv")]) == 0
    assert "警告" not in capsys.readouterr().err
    _tamper(path, 'DROP TRIGGER "events_append_only_delete"', "DELETE FROM events WHERE seq = 2")
    assert main([*args, str(tmp_path / "b.csv")]) == 0
    err = capsys.readouterr().err
    assert f"警告：台账在 parcelwatch 之外被改动（问题 {ids[0]}）" in err and "ledger verify" in err


def test_map_and_exports_of_a_tampered_ledger_carry_the_warning(tmp_path, offline_page):
    """Issue 18.11: after an event is deleted behind parcelwatch's back, the battle map shows a
    visible red banner naming the problem (in Chromium), `export --format all` and a single-format
    export write 台账校验警告.txt beside their files; a sound ledger gets neither."""
    ws = init_workspace(tmp_path / "ws", county_code="370790", now=NOW)
    ids = make_problems(ws.store, 1)
    ws.store.apply([Change(ids[0], Status.ILLEGAL, {"confirmed_class": "II"})], user="甲", now=NOW)
    path = ws.store.path
    ws.close()
    wsdir = str(tmp_path / "ws")
    assert main(["map", wsdir, "-o", str(tmp_path / "sound.html"), "--today", "2026-05-10"]) == 0
    assert (
        main(
            [
                "export",
                wsdir,
                "--format",
                "all",
                "--today",
                "2026-05-10",
                "-o",
                str(tmp_path / "sound"),
            ]
        )
        == 0
    )
    assert not (tmp_path / "sound" / "台账校验警告.txt").exists()
    page = offline_page().open(tmp_path / "sound.html")
    assert not page.is_visible("#pw-warning")

    _tamper(path, 'DROP TRIGGER "events_append_only_delete"', "DELETE FROM events WHERE seq = 2")
    assert main(["map", wsdir, "-o", str(tmp_path / "bad.html"), "--today", "2026-05-10"]) == 0
    page = offline_page().open(tmp_path / "bad.html")
    assert page.is_visible("#pw-warning")
    banner = page.inner_text("#pw-warning")
    assert f"台账在 parcelwatch 之外被改动（问题 {ids[0]}）" in banner and "ledger verify" in banner
    assert (
        main(
            [
                "export",
                wsdir,
                "--format",
                "all",
                "--today",
                "2026-05-10",
                "-o",
                str(tmp_path / "bad"),
            ]
        )
        == 0
    )
    text = (tmp_path / "bad" / "台账校验警告.txt").read_text(encoding="utf-8-sig")
    assert ids[0] in text
    assert (
        main(
            [
                "export",
                wsdir,
                "--format",
                "csv",
                "--today",
                "2026-05-10",
                "-o",
                str(tmp_path / "one.csv"),
            ]
        )
        == 0
    )
    assert ids[0] in (tmp_path / "one_台账校验警告.txt").read_text(encoding="utf-8-sig")
