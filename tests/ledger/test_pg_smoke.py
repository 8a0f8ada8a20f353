from parcelwatch.ledger.pgstore import PgStore
from tests.ledger.conftest import make_problems


def test_smoke(pg_db):
    s = PgStore(pg_db("wang"))
    ids = make_problems(s, 3)
    assert len(s.records()) == 3 and ids
