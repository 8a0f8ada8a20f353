"""The new records and `ledger add` through the store interface, on the GeoPackage and on a fresh
PostgreSQL/PostGIS ledger (h11's throw-away server fixture; county login ``wang``)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from parcelwatch.errors import LedgerError
from parcelwatch.ledger.add import NewProblem, add_problem
from parcelwatch.reports.inspection import ACTIONS, ITEMS, InspectionBook
from tests.ledger.conftest import store  # noqa: F401  (fixture)

TZ = timezone(timedelta(hours=8))


def test_add_and_audited_records_on_both_stores(store):  # noqa: F811
    now = datetime(2024, 10, 15, 9, tzinfo=TZ)
    pid = add_problem(store, NewProblem("巡察", "太山镇", lon=113.61, lat=35.27, found_on=date(2024, 10, 14),
                                        fields={"place_text": "村西", "construction_year": 2023}), user="u", now=now)  # fmt: skip
    assert pid == "370790-2024-000001"
    rec = store.get(pid)
    assert (rec.source, rec.construction_year, rec.found_on) == ("巡察", 2023, date(2024, 10, 14))
    book = InspectionBook(store)
    iid = book.add_item(unit="太山镇", feedback_ref="R", feedback_on=date(2024, 10, 14), aspect="A", problem_no=1,
                        title="T", measures=["m"], responsible_leader="徐波", responsible_unit="U",
                        problem_ids=[pid], user="u", now=now)  # fmt: skip
    book.add_action(iid, on=date(2024, 10, 15), text="走访", user="u", now=now)
    book.set_item(
        iid,
        status="已完成",
        completed_on=date(2024, 12, 20),
        user="v",
        now=now + timedelta(days=60),
    )
    with pytest.raises(LedgerError, match="no such problem"):
        book.add_item(unit="太山镇", feedback_ref="R", feedback_on=date(2024, 10, 14), aspect="A", problem_no=2,
                      title="T2", measures=["m"], responsible_leader="徐波", responsible_unit="U",
                      problem_ids=["370790-2024-999999"], user="u", now=now)  # fmt: skip
    assert [i["item_id"] for i in book.book.all(ITEMS.name)] == ["XCZG-2024-001"]
    for e in (ITEMS, ACTIONS):
        assert book.book.replay(e.name) == book.book.all(e.name)
    audit = book.book.audit(ITEMS.name, iid)
    assert [(a["seq"], a["kind"], a["user"]) for a in audit] == [
        (1, "create", "u"),
        (2, "edit", "v"),
    ]
    assert audit[1]["changes"]["status"] == ["未整改", "已完成"]
