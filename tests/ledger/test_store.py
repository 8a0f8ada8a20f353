"""The GeoPackage store: QGIS/GDAL-readable, one transaction per write, versions, kill -9, two writers."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from datetime import date

import pyogrio
import pytest
import shapely
import xlsxwriter

from parcelwatch.errors import LedgerConflictError, LedgerError, StatusTransitionError
from parcelwatch.ledger.model import Change, Status, replay
from parcelwatch.ledger.store import (
    GpkgStore,
    _st_bound,
    _st_is_empty,
    geometry_from_blob,
    gpkg_geometry_blob,
    open_store,
)
from tests.ledger.conftest import NOW, location, make_problems, stripped
from tests.ledger.procs import ScriptProcess


def test_every_table_reads_back_with_gdal(gpkg_store):
    """pyogrio/GDAL lists and reads every table; feature tables are MultiPolygon in EPSG:4490."""
    ids = make_problems(gpkg_store, 3)
    gpkg_store.apply([Change(ids[0], Status.ILLEGAL, {"confirmed_class": "II"})], user="u", now=NOW)
    path = gpkg_store.path
    layers = dict(pyogrio.list_layers(path))
    assert layers == {
        "problems": "MultiPolygon",
        "problem_parcels": "MultiPolygon",
        "findings": "MultiPolygon",
        "events": None,
        "batches": None,
        "meta": None,
    }
    for name in layers:
        df = pyogrio.read_dataframe(path, layer=name)
        if layers[name]:
            assert df.crs.to_epsg() == 4490
    problems = pyogrio.read_dataframe(path, layer="problems")
    assert sorted(problems["problem_id"]) == ids
    assert set(problems["status"]) == {"未核查", "未整改"}
    assert str(problems["deadline"].dtype).startswith("datetime64")  # DATE column, read as a date
    mine = gpkg_store.get(ids[1]).geometry
    theirs = problems.set_index("problem_id").geometry[ids[1]]
    assert shapely.equals_exact(mine, theirs, tolerance=1e-12)
    events = pyogrio.read_dataframe(path, layer="events")
    assert len(events) == 4 and list(events.columns)[:4] == ["problem_id", "seq", "at", "user"]


def test_geopackage_metadata_for_qgis(gpkg_store):
    con = sqlite3.connect(gpkg_store.path)
    assert con.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47
    assert con.execute("PRAGMA user_version").fetchone()[0] == 10400
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    contents = dict(con.execute("SELECT table_name, data_type FROM gpkg_contents").fetchall())
    assert contents == {
        "problems": "features",
        "problem_parcels": "features",
        "findings": "features",
        "events": "attributes",
        "batches": "attributes",
        "meta": "attributes",
    }
    geom = con.execute(
        "SELECT table_name, geometry_type_name, srs_id FROM gpkg_geometry_columns ORDER BY table_name"
    ).fetchall()
    assert geom == [
        ("findings", "MULTIPOLYGON", 4490),
        ("problem_parcels", "MULTIPOLYGON", 4490),
        ("problems", "MULTIPOLYGON", 4490),
    ]
    org, code, wkt = con.execute(
        "SELECT organization, organization_coordsys_id, definition FROM gpkg_spatial_ref_sys WHERE srs_id = 4490"
    ).fetchone()
    assert (org, code) == ("EPSG", 4490) and "China Geodetic Coordinate System 2000" in wkt
    alias = con.execute(
        "SELECT title FROM gpkg_data_columns WHERE table_name='problems' AND column_name='remaining_unrectified_m2'"
    ).fetchone()[0]
    assert alias == "剩余未整改面积(m²)"
    assert (
        con.execute(
            "SELECT COUNT(*) FROM gpkg_extensions WHERE extension_name='gpkg_rtree_index'"
        ).fetchone()[0]
        == 3
    )
    con.close()


def test_geometry_blob_and_the_rtree_functions():
    """GPKG header 'GP', version 0, flags 0x03 (little endian, xy envelope), srs 4490, then WKB."""
    g = shapely.MultiPolygon([shapely.box(120.0, 36.0, 120.5, 36.25)])
    blob = gpkg_geometry_blob(g)
    assert blob[:4] == b"GP\x00\x03" and int.from_bytes(blob[4:8], "little") == 4490
    assert shapely.equals(geometry_from_blob(blob), g)
    assert [_st_bound(i)(blob) for i in range(4)] == [120.0, 120.5, 36.0, 36.25]
    assert _st_is_empty(blob) == 0 and _st_is_empty(gpkg_geometry_blob(shapely.MultiPolygon())) == 1
    assert _st_is_empty(None) is None


def test_rtree_is_maintained(gpkg_store):
    make_problems(gpkg_store, 2)
    con = sqlite3.connect(gpkg_store.path)
    n, minx = con.execute("SELECT COUNT(*), MIN(minx) FROM rtree_problems_geom").fetchone()
    assert n == 2 and 118.5 < minx < 119.0  # X0 lies 110 km west of 120E
    con.close()


def test_direct_edits_cannot_bypass_the_history(gpkg_store):
    """Triggers refuse a status change without its event (e.g. typed in QGIS), deletes, and event edits."""
    ids = make_problems(gpkg_store, 1)
    con = sqlite3.connect(gpkg_store.path)
    from parcelwatch.ledger.store import _register_functions

    _register_functions(con)
    for sql in (
        "UPDATE problems SET status = '已销号'",
        "UPDATE problems SET status = '已销号', version = version + 1",
        "DELETE FROM problems",
        "UPDATE events SET note = 'x'",
        "DELETE FROM events",
    ):
        with pytest.raises(sqlite3.IntegrityError, match="parcelwatch ledger"):
            con.execute(sql)
    con.close()
    assert gpkg_store.get(ids[0]).status is Status.UNVERIFIED


def test_a_batch_of_changes_is_all_or_nothing(store):
    """Change 3 of 3 is refused: changes 1 and 2 are rolled back with it."""
    ids = make_problems(store, 3)
    before = store.events()
    changes = [
        Change(ids[0], Status.ILLEGAL, {"confirmed_class": "II"}),
        Change(ids[1], None, {"responsible_person": "李四"}),
        Change(ids[2], Status.CLOSED),
    ]
    with pytest.raises(StatusTransitionError, match=ids[2]):
        store.apply(changes, user="u", now=NOW)
    assert store.events() == before
    assert {r.status for r in store.records()} == {Status.UNVERIFIED}
    assert store.get(ids[1]).responsible_person == ""


def test_a_stale_version_is_a_conflict(store):
    ids = make_problems(store, 1)
    store.apply(
        [Change(ids[0], None, {"responsible_person": "甲"}, expected_version=1)], user="甲", now=NOW
    )
    with pytest.raises(
        LedgerConflictError,
        match=rf"Problem {ids[0]} was changed by someone else: you edited version 1, the ledger now has version 2.*Reload",
    ):
        store.apply(
            [Change(ids[0], None, {"responsible_person": "乙"}, expected_version=1)],
            user="乙",
            now=NOW,
        )
    assert store.get(ids[0]).responsible_person == "甲"


def test_replay_of_the_events_table_equals_the_stored_rows(store):
    ids = make_problems(store, 4)
    steps = [
        [
            Change(ids[0], Status.ILLEGAL, {"confirmed_class": "I"}),
            Change(ids[1], Status.OTHER, {"judgement_type": "设施农用地"}),
        ],
        [
            Change(
                ids[0],
                Status.RECTIFYING,
                {"measure": "拆除+复耕", "deadline": date(2026, 6, 30)},
                note="限期拆除",
            )
        ],
        [
            Change(ids[0], Status.AWAITING_ACCEPTANCE),
            Change(ids[2], Status.CASE_BY_CASE, note="有早年合同"),
        ],
        [
            Change(ids[0], Status.CLOSED, {"acceptance_result": "合格"}),
            Change(ids[2], Status.CLOSED, {"decision_ref": "县政府〔2026〕3号"}),
        ],
        [
            Change(ids[0], Status.REBOUND, note="第2批又发现"),
            Change(ids[3], None, {"remaining_unrectified_m2": 12.5, "notes": "待复核"}),
        ],
    ]
    for changes in steps:
        store.apply(changes, user="u", now=NOW)
    stored = stripped(store.records())
    assert replay(store.events()) == stored
    assert [stored[i].status for i in ids] == [
        Status.REBOUND,
        Status.OTHER,
        Status.CLOSED,
        Status.UNVERIFIED,
    ]
    assert stored[ids[0]].version == 6 and stored[ids[0]].rebound_count == 1


def test_open_errors(tmp_path):
    with pytest.raises(LedgerError, match="No ledger at .*`parcelwatch init WS`"):
        GpkgStore(tmp_path / "none.gpkg")
    other = tmp_path / "other.gpkg"
    sqlite3.connect(other).execute("CREATE TABLE t (a)").connection.close()
    with pytest.raises(LedgerError, match="is not a parcelwatch ledger"):
        GpkgStore(other)


# ------------------------------------------------------------------------------------------
# Processes


def _python(code: str, *args: str) -> ScriptProcess:
    """The script in another process (forked from a server that imported the ledger once)."""
    return ScriptProcess(code, *args)


_CONCURRENT = """
import sys, time
from pathlib import Path
from parcelwatch.errors import LedgerConflictError
from parcelwatch.ledger.model import Change
from parcelwatch.ledger.store import open_store
from tests.ledger.conftest import NOW
path, pid, name, ready, go = sys.argv[1:6]
store = open_store(path)
rec = store.get(pid)                       # both processes read version 1
Path(ready).write_text(str(rec.version))
while not Path(go).exists():
    time.sleep(0.005)
try:
    store.apply([Change(pid, None, {"responsible_person": name}, expected_version=rec.version)], user=name, now=NOW)
    print("OK")
except LedgerConflictError as exc:
    print("CONFLICT", exc)
"""


def test_two_processes_update_the_same_problem_one_gets_a_conflict(store, tmp_path):
    """Both read version 1 and write at once: exactly one wins; the other gets LedgerConflictError
    naming the problem and versions; after reloading, its retry succeeds - no update is lost."""
    pid = make_problems(store, 1)[0]
    go = tmp_path / "go"
    procs = {
        name: _python(
            _CONCURRENT, location(store), pid, name, str(tmp_path / f"ready-{name}"), str(go)
        )
        for name in ("甲", "乙")
    }
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready-{n}").exists() for n in procs):
        assert time.monotonic() < deadline, "writers did not start"
        time.sleep(0.01)
    go.write_text("go")
    out = {}
    for name, p in procs.items():
        stdout, stderr = p.communicate(timeout=120)
        assert p.returncode == 0, stderr
        out[name] = stdout.strip()
    winners = [n for n, o in out.items() if o == "OK"]
    losers = [n for n, o in out.items() if o.startswith("CONFLICT")]
    assert len(winners) == 1 and len(losers) == 1, out
    assert (
        f"Problem {pid} was changed by someone else: you edited version 1, the ledger now has version 2"
        in out[losers[0]]
    )
    assert store.get(pid).responsible_person == winners[0] and store.get(pid).version == 2
    # the loser reloads and retries: both changes are in the history
    rec = store.get(pid)
    store.apply(
        [Change(pid, None, {"responsible_person": losers[0]}, expected_version=rec.version)],
        user=losers[0],
        now=NOW,
    )
    people = [e.changes.get("responsible_person") for e in store.events(pid)]
    assert people == [None, winners[0], losers[0]]
    assert replay(store.events()) == stripped(store.records())


_KILLED_IMPORT = """
import sys, time
from pathlib import Path
from parcelwatch.ledger.store import open_store
from parcelwatch.ledger.xlsx import import_xlsx
from tests.ledger.conftest import NOW
path, workbook, marker = sys.argv[1:4]
def progress(done, total):
    if done == total // 2:
        # inside the transaction, half the rows written; renamed into place so that the parent
        # never reads the marker created but still empty
        Path(marker + ".part").write_text(f"{done}/{total}")
        Path(marker + ".part").replace(marker)
        time.sleep(120)
import_xlsx(open_store(path), workbook, user="killed", now=NOW, progress=progress)
print("finished")
"""


def test_sigkill_in_the_middle_of_a_large_import_leaves_a_consistent_store(store, tmp_path):
    """1,000 status changes in one import; the process is killed with SIGKILL half-way inside the
    transaction (the child writes a marker at change 500, so the kill lands mid-transaction
    whatever the size: 5,000 on the GeoPackage took 74 s of the suite and proved nothing more).
    The store is as before (none applied), integrity_check is ok, replay equals the rows, and the
    same import then completes."""
    n = 1000
    ids = make_problems(store, n)
    workbook = tmp_path / "returned.xlsx"
    wb = xlsxwriter.Workbook(str(workbook))
    ws = wb.add_worksheet("问题台账")
    ws.write_row(0, 0, ["问题编号", "版本", "状态", "认定类别"])
    for i, pid in enumerate(ids, start=1):
        ws.write_row(i, 0, [pid, 1, "未整改", "第二类"])
    wb.close()
    marker = tmp_path / "inside"
    proc = _python(_KILLED_IMPORT, location(store), str(workbook), str(marker))
    deadline = time.monotonic() + 240
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "import never reached the middle"
        time.sleep(0.02)
    assert marker.read_text() == f"{n // 2}/{n}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    after = open_store(location(store))
    try:
        if isinstance(after, GpkgStore):
            assert after.integrity_check() == "ok"
        statuses = [r.status for r in after.records(geometry=False)]
        assert statuses.count(Status.ILLEGAL) in (0, n)  # all or none
        assert statuses.count(Status.ILLEGAL) == 0
        assert len(after.events()) == n
        assert replay(after.events()) == stripped(after.records(geometry=False))
        # the store is usable: the same import now completes
        from parcelwatch.ledger.xlsx import import_xlsx

        report = import_xlsx(after, workbook, user="again", now=NOW)
        assert not report.issues and len(report.applied) == n
        assert {r.status for r in after.records(geometry=False)} == {Status.ILLEGAL}
        assert replay(after.events()) == stripped(after.records(geometry=False))
    finally:
        after.close()


def test_geometries_encoded_together_are_bound_as_one_by_one():
    """encode_geometries (a batch's geometries at once) gives, on both databases, the bytes the
    Geom type binds for each geometry alone: polygon (as a one-part multipolygon), multipolygon,
    empty, missing, and a collection holding a polygon and a line (the polygon kept)."""
    from types import SimpleNamespace

    from parcelwatch.ledger.sqlstore import Geom, encode_geometries

    sq = shapely.box(0, 0, 1, 1)
    geoms = [
        sq,
        shapely.MultiPolygon([sq, shapely.box(2, 2, 3, 3)]),
        shapely.Polygon(),
        None,
        shapely.GeometryCollection([sq, shapely.LineString([(0, 0), (5, 5)])]),
    ]
    for dialect in ("sqlite", "postgresql"):
        one = Geom().bind_processor(SimpleNamespace(name=dialect))
        assert encode_geometries(dialect, geoms) == [one(g) for g in geoms]
    assert encode_geometries("sqlite", []) == []
