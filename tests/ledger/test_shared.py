"""The shared ledger on PostgreSQL: three real logins and row-level security, copying a county's
ledger to the server and back, and the ``store`` commands."""

from __future__ import annotations

import psycopg
import pytest
import shapely

from parcelwatch.cli import main
from parcelwatch.errors import (
    ConfigError,
    LedgerPermissionError,
    NotInTownshipError,
)
from parcelwatch.ledger.copy import copy_ledger
from parcelwatch.ledger.model import Change, Status, replay
from parcelwatch.ledger.pgstore import PgStore, list_users
from parcelwatch.ledger.store import GpkgStore
from parcelwatch.ledger.workspace import workspace_stats
from parcelwatch.pipeline import init_workspace
from tests.ledger.conftest import NOW, make_problems, stripped
from tests.ledger.pg import TOWN_LI, TOWN_ZHANG


def _psql(url: str) -> psycopg.Connection:
    user = url.split("//")[1].split("@")[0]
    db = url.split("/")[3].split("?")[0]
    return psycopg.connect(host=url.split("host=")[1], dbname=db, user=user, autocommit=True)


@pytest.fixture
def county(pg_db):
    """wang (county) creates 4 problems: 0 and 2 in zhang's township, 1 and 3 in li's."""
    with PgStore(pg_db("wang")) as wang:
        ids = make_problems(wang, 4, townships=(TOWN_ZHANG, TOWN_LI))
    return pg_db, ids


def test_three_logins_see_and_change_only_their_scope(county):
    """Done-when 7 (store level): zhang sees 2, li 2, wang 4; zhang changing li's problem is "not in
    your township"; his own change is recorded with actor = zhang; the read-only login cannot write."""
    pg_db, ids = county
    with PgStore(pg_db("zhang")) as zhang, PgStore(pg_db("li")) as li:
        assert [r.problem_id for r in zhang.records(geometry=False)] == [ids[0], ids[2]]
        assert [r.problem_id for r in li.records(geometry=False)] == [ids[1], ids[3]]
        with pytest.raises(NotInTownshipError, match=f"Problem {ids[1]} is not in your township"):
            zhang.apply([Change(ids[1], Status.ILLEGAL, {"confirmed_class": "II"})], user="张", now=NOW)  # fmt: skip
        with pytest.raises(NotInTownshipError):
            zhang.get(ids[3])
        zhang.apply(
            [Change(ids[0], Status.ILLEGAL, {"confirmed_class": "II"})], user="张三", now=NOW
        )
        rows = [r for r in zhang.event_rows() if r["problem_id"] == ids[0]]
        assert [(r["user"], r["actor"]) for r in rows] == [("setup", "wang"), ("张三", "zhang")]
        assert [r.problem_id for r in li.events()] == [ids[1], ids[3]]
    with PgStore(pg_db("wang")) as wang:
        assert len(wang.records(geometry=False)) == 4 and len(wang.events()) == 5
    with PgStore(pg_db("reader")) as reader:
        assert len(reader.records(geometry=False)) == 4
        with pytest.raises(LedgerPermissionError, match="may not do this"):
            reader.apply([Change(ids[1], None, {"notes": "x"})], user="读", now=NOW)


def test_a_township_login_cannot_move_edit_geometry_forge_or_delete(county):
    """With psql as zhang: moving a problem to li's township, editing its geometry or area, writing
    an event for li's problem or under li's name, deleting an event or a problem: all refused."""
    pg_db, ids = county
    con = _psql(pg_db("zhang"))
    p = ids[0]
    cases = [
        (f"UPDATE pw.problems SET township_code = '{TOWN_LI}', version = version + 1 WHERE problem_id = '{p}'", "permission denied"),
        (f"UPDATE pw.problems SET geom = ST_Multi(ST_Buffer(geom, 0.001)) WHERE problem_id = '{p}'", "permission denied"),
        (f"UPDATE pw.problems SET parcel_area_m2 = 1 WHERE problem_id = '{p}'", "permission denied"),
        (f"INSERT INTO pw.events (problem_id, seq, at, \"user\", kind, from_status, to_status, changes) VALUES ('{ids[1]}', 2, 'x', 'x', 'update', '未核查', '未核查', '{{}}')", "row-level security"),
        (f"INSERT INTO pw.events (problem_id, seq, at, \"user\", kind, from_status, to_status, changes, actor) VALUES ('{p}', 2, 'x', 'x', 'update', '未核查', '未核查', '{{}}', 'li')", "recorded under the login"),
        ("DELETE FROM pw.events", "permission denied"),
        ("DELETE FROM pw.problems", "permission denied"),
        ("INSERT INTO pw.problem_parcels (problem_id, parcel_id, batch) VALUES ('x', 'y', 'z')", "permission denied"),
    ]  # fmt: skip
    for sql, msg in cases:
        with pytest.raises(psycopg.Error, match=msg):
            con.execute(sql)
    # his own township: an UPDATE of li's row matches nothing (invisible)
    cur = con.execute(f"UPDATE pw.problems SET notes = 'x' WHERE problem_id = '{ids[1]}'")
    assert cur.rowcount == 0
    con.close()


def test_stats_list_and_export_as_a_township_user_show_only_that_township(county, tmp_path, capsys):
    """Done-when 7 (commands): a workspace of zhang's (init --store) lists, counts and exports
    only his 2 problems; wang's workspace has all 4."""
    pg_db, ids = county
    zhang = init_workspace(tmp_path / "zhang", county_code="370790", now=NOW, store=pg_db("zhang"))
    wang = init_workspace(tmp_path / "wang", county_code="370790", now=NOW, store=pg_db("wang"))
    try:
        assert workspace_stats(zhang, today=NOW.date()).total == 2
        assert workspace_stats(wang, today=NOW.date()).total == 4
    finally:
        zhang.close()
        wang.close()
    assert main(["ledger", "list", str(tmp_path / "zhang")]) == 0
    out = capsys.readouterr().out
    assert ids[0] in out and ids[2] in out and ids[1] not in out and ids[3] not in out
    xlsx = tmp_path / "z.xlsx"
    assert main(["ledger", "export-xlsx", str(tmp_path / "zhang"), "-o", str(xlsx), "--today", "2026-05-10"]) == 0  # fmt: skip
    import openpyxl

    sheet = openpyxl.load_workbook(xlsx).worksheets[0]
    found = {c.value for row in sheet.iter_rows() for c in row if isinstance(c.value, str)}
    assert ids[0] in found and ids[2] in found and ids[1] not in found
    page = tmp_path / "map.html"
    assert main(["map", str(tmp_path / "zhang"), "-o", str(page), "--today", "2026-05-10"]) == 0
    html = page.read_text(encoding="utf-8")
    assert ids[0] in html and ids[2] in html and ids[1] not in html and ids[3] not in html


def test_copy_geopackage_to_server_and_back_gives_the_same_ledger(tmp_path, pg_db, gpkg_store):
    """Done-when 8: a GeoPackage with history -> PostGIS (as the county login) -> a new GeoPackage:
    same records (and geometries), same events with the same hashes, same replay; a second copy
    changes nothing."""
    ids = make_problems(gpkg_store, 3)
    gpkg_store.apply(
        [Change(ids[0], Status.ILLEGAL, {"confirmed_class": "II"})], user="甲", now=NOW
    )
    gpkg_store.apply(
        [Change(ids[0], Status.RECTIFYING, {"measure": "拆除+复耕"})], user="乙", now=NOW
    )
    server = PgStore(pg_db("wang"))
    back = GpkgStore.create(tmp_path / "back.gpkg", now=NOW, county_code="370790")
    try:
        first = copy_ledger(gpkg_store, server)
        assert (first.problems_added, first.events_added, first.parcels_added) == (3, 5, 3)
        assert not copy_ledger(gpkg_store, server).changed
        copy_ledger(server, back)
        assert not copy_ledger(server, back).changed
        for other in (server, back):
            assert stripped(other.records()) == stripped(gpkg_store.records())
            assert other.events() == gpkg_store.events()
            assert replay(other.events()) == stripped(other.records(geometry=False))
            assert [r["hash"] for r in other.event_rows()] == [r["hash"] for r in gpkg_store.event_rows()]  # fmt: skip
            mine = {r.problem_id: r.geometry for r in gpkg_store.records()}
            assert all(shapely.equals_exact(r.geometry, mine[r.problem_id], 1e-12) for r in other.records())  # fmt: skip
            snap_a, snap_b = gpkg_store.snapshot(), other.snapshot()
            assert snap_a.parcels.drop(columns="geometry").equals(snap_b.parcels.drop(columns="geometry"))  # fmt: skip
        from parcelwatch.ledger.verify import verify_store

        assert verify_store(server).ok and verify_store(back).ok
        # the copy continues: a change made on the GeoPackage later is appended on the next copy
        gpkg_store.apply([Change(ids[1], None, {"notes": "later"})], user="丙", now=NOW)
        assert copy_ledger(gpkg_store, server).events_added == 1
    finally:
        server.close()
        back.close()


def test_store_commands(pg_server, pg_db, tmp_path, capsys):
    """store init is idempotent; users add/list; a password in the address is refused everywhere."""
    url = pg_db("postgres")
    assert main(["store", "init", url]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert main(["store", "users", url, "add", "zhao", "--township", "370790103"]) == 0
    assert "never takes it" in capsys.readouterr().out
    assert {"user": "zhao", "scope": "370790103", "read_only": False} in list_users(url)
    assert main(["store", "users", url, "list"]) == 0
    assert "zhao\t370790103\tread-write" in capsys.readouterr().out
    with pytest.raises(ConfigError, match="password"):
        PgStore(url.replace("postgres@", "postgres:secret@"))
    code = main(["init", str(tmp_path / "ws"), "--store", url.replace("postgres@", "wang:pw@")])
    err = capsys.readouterr().err
    assert code != 0 and "password" in err and "pw@" not in err
    assert not (tmp_path / "ws" / "ledger.gpkg").exists()
