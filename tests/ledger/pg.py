"""A throw-away PostgreSQL + PostGIS server for the tests (initdb + pg_ctl on a unix socket).

Started once per session (as the ``postgres`` OS user when the tests run as root, since initdb
refuses root); each test gets a fresh database cloned from a template that ``store init`` set up,
with three logins: ``zhang`` (township 370790101), ``li`` (370790102) and ``wang`` (county).
Where ``CI`` is set the server must start (a failure fails the tests); elsewhere the tests that
need it are skipped with a reason when the PostgreSQL binaries are absent.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg
import pytest

PG_BIN = Path(os.environ.get("PW_PG_BIN", "/usr/lib/postgresql/15/bin"))
TEMPLATE = "pw_template"
TOWN_ZHANG = "370790101"
TOWN_LI = "370790102"
_counter = itertools.count()


def _as_server_user(cmd: list) -> list:
    return (
        ["runuser", "-u", "postgres", "--", *map(str, cmd)]
        if os.geteuid() == 0
        else list(map(str, cmd))
    )


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(
            f"PostgreSQL test server: {reason} (CI is set, so this fails instead of skipping)"
        )
    pytest.skip(f"PostgreSQL test server: {reason}")


class PgServer:
    def __init__(self, socket_dir: Path) -> None:
        self.socket_dir = socket_dir

    def url(self, db: str, user: str = "postgres") -> str:
        return f"postgresql://{user}@/{db}?host={self.socket_dir}"

    def admin(self, db: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(
            host=str(self.socket_dir), dbname=db, user="postgres", autocommit=True
        )

    def new_db(self) -> str:
        name = f"t{os.getpid()}_{next(_counter)}"
        with self.admin() as con:
            con.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        return name

    def drop_db(self, name: str) -> None:
        with self.admin() as con:
            con.execute(f"DROP DATABASE {name} WITH (FORCE)")


def _data_parent() -> str | None:
    """Where the server's folder goes: ``PW_PG_DIR`` if set, else /dev/shm (Linux's memory file
    system) when it is writable with 1 GiB free, else the system's temporary folder.

    Each test's database is a copy of the PostGIS template (~1,000 files, ~8 MB) made and removed
    again: on a disk file system (here ext4 mounted with ``discard``, one TRIM per removed file)
    that was most of the ~0.5 s a PostgreSQL test spent in its setup."""
    if os.environ.get("PW_PG_DIR"):
        return os.environ["PW_PG_DIR"]
    shm = Path("/dev/shm")
    try:
        st = os.statvfs(shm)
    except OSError:
        return None
    if os.access(shm, os.W_OK) and st.f_bavail * st.f_frsize >= 1 << 30:
        return str(shm)
    return None


@contextlib.contextmanager
def running_server():
    """Start the server, set up the template ledger with its logins, stop it at the end."""
    if not (PG_BIN / "initdb").exists():
        _unavailable(
            f"no initdb in {PG_BIN}; install postgresql-15 postgresql-15-postgis-3 or set PW_PG_BIN"
        )
    d = Path(tempfile.mkdtemp(prefix="pw-pg-", dir=_data_parent()))
    if os.geteuid() == 0:
        shutil.chown(d, "postgres", "postgres")
        d.chmod(0o755)
    data = d / "data"
    try:
        subprocess.run(_as_server_user([PG_BIN / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                                        "--locale=C.UTF-8", "--no-sync"]), check=True, capture_output=True)  # fmt: skip
        subprocess.run(_as_server_user([PG_BIN / "pg_ctl", "-D", data, "-l", d / "server.log", "-w", "-o",
                                        f"-c listen_addresses='' -k {d} -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
                                        "start"]), check=True, capture_output=True)  # fmt: skip
    except (subprocess.CalledProcessError, OSError) as exc:
        out = getattr(exc, "stderr", b"") or b""
        shutil.rmtree(d, ignore_errors=True)
        _unavailable(f"could not start ({exc}; {out.decode(errors='replace')[-400:]})")
    server = PgServer(d)
    try:
        from parcelwatch.ledger.pgstore import add_user, init_store

        with server.admin() as con:
            con.execute(f"CREATE DATABASE {TEMPLATE}")
        url = server.url(TEMPLATE)
        init_store(
            url, now_iso="2026-03-05T09:30:00+08:00", county_code="370790", county_name="样例县"
        )
        add_user(url, "zhang", township=TOWN_ZHANG)
        add_user(url, "li", township=TOWN_LI)
        add_user(url, "wang", county=True)
        add_user(url, "reader", county=True, read_only=True)
        yield server
    finally:
        subprocess.run(
            _as_server_user([PG_BIN / "pg_ctl", "-D", data, "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server():
    with running_server() as server:
        yield server


@pytest.fixture
def pg_db(pg_server):
    """A fresh ledger database; returns a function user -> URL. Dropped after the test (closing
    what the test left connected): a session's hundred databases of ~8 MB took the server's
    removal at the end of the suite 12 s (one unlink per file)."""
    name = pg_server.new_db()
    yield lambda user="wang": pg_server.url(name, user)
    pg_server.drop_db(name)
