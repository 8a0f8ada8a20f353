"""Issue 18 point 13: a check that loses a race with a concurrent change retries once by itself,
and when it loses again it says to run the check again (not to "reload the problem").

Scene (tests/ledger/conftest.py): batch 1 has parcel A1 (100 m square) -> one problem. Batch 2
has A2, the same square -> the same site, a "link" change expecting the problem's version. A
concurrent `ledger set` (another connection) bumps the version just before the check writes.
"""

from __future__ import annotations

from datetime import date

import pytest

from parcelwatch.errors import LedgerConflictError
from parcelwatch.ledger import workspace as wsmod
from parcelwatch.ledger.store import GpkgStore
from parcelwatch.ledger.workspace import open_workspace, problem_for_parcel
from parcelwatch.pipeline import check_batch, init_workspace
from tests.ledger.conftest import NOW, box, parcels, write_batch

A = box(0, 0, 100, 100)


@pytest.fixture
def scene(tmp_path):
    ws = init_workspace(tmp_path / "ws", county_code="370790", county_name="样例县", now=NOW)
    b1 = write_batch(tmp_path / "b1", parcels(("A1", A)))
    check_batch(ws, b1, batch="2026年第1批", now=NOW, user="张三", issued=date(2026, 3, 1))
    pid = problem_for_parcel(ws, "A1").problem_id
    b2 = write_batch(tmp_path / "b2", parcels(("A2", A)))
    return ws, pid, b2, tmp_path / "ws"


def racing(monkeypatch, path, pid, times):
    """Make the next ``times`` writes of a check lose to a concurrent change of ``pid``."""
    real = GpkgStore.apply
    state = {"left": times, "people": iter(["王五", "赵六", "钱七"])}

    def apply(self, changes, **kw):
        if kw.get("batch") is not None and state["left"] > 0:
            state["left"] -= 1
            with open_workspace(path) as other:  # another user, another connection
                wsmod.update_problems(
                    other, [pid], user="other", now=NOW, responsible_person=next(state["people"])
                )
        return real(self, changes, **kw)

    monkeypatch.setattr(GpkgStore, "apply", apply)


def test_a_lost_race_is_retried_once_by_itself(scene, monkeypatch):
    ws, pid, b2, path = scene
    racing(monkeypatch, path, pid, times=1)
    summary = check_batch(
        ws, b2, batch="2026年第2批", now=NOW, user="张三", issued=date(2026, 4, 2)
    )
    assert summary.counts["same"] == 1 and summary.same_ids == [pid]
    rec = ws.store.get(pid)
    assert "A2" in rec.parcel_ids and rec.responsible_person == "王五"  # both changes kept


def test_losing_twice_says_to_run_the_check_again(scene, monkeypatch):
    ws, pid, b2, path = scene
    racing(monkeypatch, path, pid, times=2)
    before = len(ws.store.events())
    with pytest.raises(LedgerConflictError) as err:
        check_batch(ws, b2, batch="2026年第2批", now=NOW, user="张三", issued=date(2026, 4, 2))
    msg = str(err.value)
    assert "Run the same check again" in msg and "Nothing of this check was recorded" in msg
    assert len(ws.store.events()) == before + 2  # only the two concurrent edits
    assert "A2" not in ws.store.get(pid).parcel_ids
