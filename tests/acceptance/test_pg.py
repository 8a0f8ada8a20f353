"""On the shared PostgreSQL ledger the acceptance tables are not created yet: a clear refusal."""

from __future__ import annotations

import pytest

from parcelwatch.acceptance.records import RecordBook, read_if_present
from parcelwatch.errors import LedgerError


def test_record_book_on_postgres_refuses_clearly(pg_db) -> None:  # noqa: F811
    from parcelwatch.ledger.pgstore import PgStore

    store = PgStore(pg_db("wang"))
    try:
        with pytest.raises(LedgerError, match="only in a GeoPackage workspace"):
            RecordBook(store)
        assert read_if_present(store, "greenhouse_registry") == []  # exports keep working
    finally:
        store.close()
