"""Acceptance records on the shared PostgreSQL ledger: `store init` created their tables, so the
book works there as in a GeoPackage (it refused before), and the exports read the registry."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from parcelwatch.acceptance.records import RecordBook, read_if_present

NOW = datetime(2026, 5, 6, 10, 0, tzinfo=timezone(timedelta(hours=8)))


def test_record_book_on_postgres(pg_db) -> None:  # noqa: F811
    from parcelwatch.ledger.pgstore import PgStore

    store = PgStore(pg_db("wang"))
    try:
        assert read_if_present(store, "greenhouse_registry") == []
        book = RecordBook(store)
        book.insert_many("greenhouse_registry", [{"township": "禾丰镇", "village": "马塘", "owner": "甲"}],
                         ids=["禾丰镇-马塘-一组-001"], user="王", now=NOW)  # fmt: skip
        rows = read_if_present(store, "greenhouse_registry")
        assert [(r["greenhouse_no"], r["owner"], r["version"]) for r in rows] == [
            ("禾丰镇-马塘-一组-001", "甲", 1)
        ]
    finally:
        store.close()
