"""The ledger on both stores: test-server start-up, creating problems, and single changes.

    .venv/bin/python benchmarks/bench_stores.py [--problems 2000] [--changes 500]

Starts a throw-away PostgreSQL cluster the way the tests do (tests/ledger/pg.py: initdb + pg_ctl
on a unix socket, ``store init``, four logins), then on a GeoPackage and on the server (as the
county login): one transaction creating N problems, then M single-problem status changes, each
its own transaction (read, check, event with hash, versioned UPDATE), then ``ledger verify``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--problems", type=int, default=2000)
    ap.add_argument("--changes", type=int, default=500)
    args = ap.parse_args()

    from tests.ledger import pg
    from tests.ledger.conftest import NOW, make_problems

    from parcelwatch.ledger.model import Change, Status
    from parcelwatch.ledger.pgstore import PgStore
    from parcelwatch.ledger.store import GpkgStore
    from parcelwatch.ledger.verify import verify_store

    t0 = time.perf_counter()
    ctx = pg.running_server()
    server = ctx.__enter__()
    start = time.perf_counter() - t0
    print(f"test server: initdb + start + PostGIS + store init + 4 logins: {start:.2f} s")
    t0 = time.perf_counter()
    db = server.new_db()
    print(f"fresh ledger database from the template: {time.perf_counter() - t0:.2f} s")
    try:
        with tempfile.TemporaryDirectory() as d:
            stores = {
                "gpkg": GpkgStore.create(Path(d) / "ledger.gpkg", now=NOW, county_code="370790"),
                "postgis": PgStore(server.url(db, "wang")),
            }
            for name, store in stores.items():
                t0 = time.perf_counter()
                ids = make_problems(store, args.problems)
                create = time.perf_counter() - t0
                t0 = time.perf_counter()
                for i in range(args.changes):
                    store.apply(
                        [Change(ids[i % len(ids)], Status.ILLEGAL, {"confirmed_class": "II"})],
                        user="bench",
                        now=NOW,
                    )
                change = time.perf_counter() - t0
                t0 = time.perf_counter()
                ok = verify_store(store).ok
                verify = time.perf_counter() - t0
                print(
                    f"{name:8s} create {args.problems} problems in one transaction: {create:.2f} s; "
                    f"{args.changes} single changes: {change:.2f} s ({1000 * change / args.changes:.1f} ms each); "
                    f"verify: {verify:.2f} s ({'ok' if ok else 'FAILED'})"
                )
                store.close()
    finally:
        ctx.__exit__(None, None, None)


if __name__ == "__main__":
    main()
