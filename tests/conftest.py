"""Shared fixtures: small hand-drawn layers written in the formats real deliveries come in."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import pickle
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "data" / "samples"
REALDATA = REPO.parent / "shared" / "realdata"


def require_realdata() -> None:
    """Skip the calling test module when ../shared/realdata is absent, unless ``CI`` is set.

    CI has the real public layers beside the repository and must run these tests: there a missing
    folder is an error. A user's fresh clone has nothing beside it: there the tests are skipped
    with a one-line reason (`pytest -r s` prints it).
    """
    if REALDATA.is_dir():
        return
    if os.environ.get("CI"):
        raise RuntimeError(
            f"CI is set but {REALDATA} is missing: clone shared/ beside the repository"
        )
    pytest.skip(
        f"real public data not found at {REALDATA} (only CI requires it)", allow_module_level=True
    )


# Under pytest-xdist (`-n 3`, the README's command) the expensive session resources are built
# once per session and shared by the workers through files under a lock (the README demo, the
# province's deliveries and global overlay: see `shared_root`; the demo and the sample counties
# are built by background jobs, see `background_jobs`), or are cheap enough to start on each
# worker (the PostgreSQL server, Chromium). The tests are not pinned to a worker: `--dist
# loadgroup` with `xdist_group` marks is silently ignored with pytest 9.2 and pytest-xdist 3.8
# (pytest-dev/pytest-xdist#1386), and pinning made one worker finish late.


# Except that the test files below, whose module fixtures are expensive (the hostile workspace
# through every command, the province's LocalCluster with its worker processes, ...), are each
# run whole on one worker: with xdist's default `load` scheduling their tests were split over
# both workers, which then both built the module fixtures. Every other test is still its own
# unit of work. `--dist load` (the default) only: any other `--dist` given is left alone.
RUN_WHOLE_ON_ONE_WORKER = (
    "tests/hostile/test_table.py",
    "tests/province/test_province.py",
    "tests/e2e/test_expected.py",
)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):  # type: ignore[no-untyped-def]
    if config.getoption("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ExpensiveModulesTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return path if path in RUN_WHOLE_ON_ONE_WORKER else nodeid

    return ExpensiveModulesTogether(config, log)


# A point in the sample county's zone (GK zone 40, central meridian 120E), in EPSG:4549 metres.
X0, Y0 = 390_000.0, 4_080_000.0


def square(x: float, y: float, size: float) -> shapely.Polygon:
    """An axis-aligned square with lower-left corner (x, y)."""
    return shapely.box(x, y, x + size, y + size)


def write_shapefile(
    gdf: gpd.GeoDataFrame,
    path: Path,
    *,
    encoding: str = "GBK",
    cpg: bool = False,
    ldid: int | None = 0,
) -> Path:
    """Write a shapefile as real Chinese deliveries look: GBK text, optionally no .cpg, LDID byte set."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pyogrio.write_dataframe(gdf, path, encoding=encoding)
    cpg_path = path.with_suffix(".cpg")
    if not cpg and cpg_path.exists():
        os.remove(cpg_path)
    if ldid is not None:
        dbf = path.with_suffix(".dbf")
        data = bytearray(dbf.read_bytes())
        data[29] = ldid
        dbf.write_bytes(bytes(data))
    return path


@pytest.fixture
def gk_parcels() -> Callable[..., gpd.GeoDataFrame]:
    """Factory: n parcels of 100 m x 100 m in EPSG:4549 with Chinese field names.

    Each square is 10,000 m² in the Gauss-Kruger plane; its ellipsoidal area is a little smaller
    (about 9,998 m² at this distance from the central meridian).
    """

    def make(n: int = 3, **columns: list) -> gpd.GeoDataFrame:
        data = {
            "监测编号": [f"3707902026Q{i + 1:03d}" for i in range(n)],
            "行政区名称": ["禾丰镇", "东河乡", "柳湾镇"][:n] + ["禾丰镇"] * max(0, n - 3),
            "监测面积": [15.0] * n,
        }
        data.update(columns)
        geoms = [square(X0 + 200 * i, Y0, 100) for i in range(n)]
        return gpd.GeoDataFrame(data, geometry=geoms, crs=4549)

    return make


# ------------------------------------------------------------------------------ PostgreSQL
# One throw-away server per session (per xdist worker), defined here once: a session fixture
# imported into several modules is a separate fixture in each, and started a server for each.
from tests.ledger.pg import pg_db, pg_server  # noqa: E402,F401  (fixtures)

# ------------------------------------------------------------------------------ headless Chromium
# One session browser for every folder (tests/maps, tests/hostile): Playwright's sync API cannot
# run two at once. The helpers (OfflinePage, chromium_path) are in tests/maps/conftest.py.


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    from tests.maps.conftest import CHROMIUM_ARGS, chromium_path

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def offline_page(browser):
    from tests.maps.conftest import OfflinePage

    pages = []

    def make(**kw):
        p = OfflinePage(browser, **kw)
        pages.append(p)
        return p

    yield make
    for p in pages:
        p.close()


# ------------------------------------------------------------------------------ the README demo
# Built once per test session, as a user runs it (`python -m parcelwatch demo -o OUT` from the
# repository root), and shared read-only by every test that needs the demo's outputs or its
# workspace. A test that changes the workspace takes `demo_copy` (its own copy). The session
# fails at teardown if anyone wrote to the shared ledger.


@dataclass(frozen=True)
class DemoRun:
    """The demo's output folder, what it printed and its outputs by name (as printed)."""

    out: Path
    stdout: str
    outputs: dict[str, Path]

    @property
    def workspace(self) -> Path:
        return self.out / "workspace"

    @property
    def summary(self) -> list[str]:
        """The printed lines before the warnings and the list of outputs."""
        lines = self.stdout.splitlines()
        for marker in ("Data-quality warnings (the data were loaded; have a look):", "Outputs:"):
            if marker in lines:
                lines = lines[: lines.index(marker)]
        while lines and not lines[-1]:
            lines.pop()
        return lines


def _outputs(stdout: str) -> dict[str, Path]:
    lines = stdout.splitlines()
    out: dict[str, Path] = {}
    for line in lines[lines.index("Outputs:") + 1 :]:
        name, _, path = line.strip().rpartition(": ")
        out[name] = Path(path)
    return out


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def shared_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder every pytest-xdist worker of this session sees (its own basetemp without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


# ------------------------------------------------------------------------------ background jobs
# A session resource that takes long to build (the README demo, ~15-40 s; the small sample
# county, ~7-12 s) is started in a background process as soon as the session knows that one of
# its tests needs it (the autouse fixture below), once per session: the first worker to get there
# starts it under the job's lock, the job writes its result file when done, and the fixture that
# needs it waits for that file. Before, the first worker to need it built it inside its test's
# setup while the other worker, needing it too, sat idle on the lock for as long.


def start_job(root: Path, name: str, code: str, *args: str) -> subprocess.Popen | None:
    """Start ``python -c code *args`` (cwd: the repository) unless a worker of this session has
    already: the caller then owns the process (and waits for it at its end)."""
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        started = root / f"{name}.started"
        if started.exists():
            return None
        started.write_text(str(os.getpid()), encoding="utf-8")
        return subprocess.Popen([sys.executable, "-c", code, *args], cwd=REPO,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


def job_result(root: Path, name: str, code: str, *args: str, timeout_s: float = 900) -> Path:
    """The job's result file (``args[-1]``), starting the job here if nobody has, once it exists."""
    result = Path(args[-1])
    proc = start_job(root, name, code, *args)
    if proc is not None:
        proc.wait()
    deadline = time.monotonic() + timeout_s
    while not result.exists():
        assert time.monotonic() < deadline, f"the background job {name} wrote no {result}"
        time.sleep(0.05)
    return result


# The README demo, run as a user runs it; the job writes its exit code, output and the ledger's
# digest (a job's failure is written as a failed run, never left as a missing file).
DEMO_JOB = """
import hashlib, json, os, subprocess, sys, traceback
out, result = sys.argv[1:3]
try:
    res = subprocess.run([sys.executable, "-m", "parcelwatch", "demo", "-o", out], capture_output=True,
                         text=True, encoding="utf-8", check=False)
    ledger = os.path.join(out, "workspace", "ledger.gpkg")
    digest = hashlib.sha256(open(ledger, "rb").read()).hexdigest() if res.returncode == 0 else ""
    shared = {"returncode": res.returncode, "stdout": res.stdout, "stderr": res.stderr, "ledger": digest}
except BaseException:
    shared = {"returncode": -1, "stdout": "", "stderr": traceback.format_exc(), "ledger": ""}
with open(result + ".part", "w", encoding="utf-8") as f:
    json.dump(shared, f)
os.replace(result + ".part", result)
"""


def demo_job(root: Path) -> tuple[str, str, str]:
    """The demo job's code and arguments: output folder, result file."""
    (root / "demo").mkdir(exist_ok=True)
    return DEMO_JOB, str(root / "demo" / "demo-output"), str(root / "demo" / "result.json")


# Which jobs a session needs: the fixture that waits for each, and the job's code and arguments.
BACKGROUND_JOBS: dict[str, Callable[[Path], tuple[str, ...]]] = {"demo_run": demo_job}


@pytest.fixture(scope="session", autouse=True)
def background_jobs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """Start, at the session's first test, the jobs that its tests will need (see above)."""
    root = shared_root(tmp_path_factory)
    needed = set().union(*(getattr(item, "fixturenames", ()) for item in request.session.items))
    procs = [start_job(root, name, *job(root)) for name, job in BACKGROUND_JOBS.items() if name in needed]  # fmt: skip
    yield
    for proc in procs:
        if proc is not None:
            proc.wait()  # another worker may still be waiting for its result


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    # Run once per session in the background (see background_jobs); every worker reads the
    # result the job left beside the demo's output.
    root = shared_root(tmp_path_factory)
    code, out, result = demo_job(root)
    shared = json.loads(job_result(root, "demo_run", code, out, result).read_text(encoding="utf-8"))
    assert shared["returncode"] == 0, shared["stderr"]
    run = DemoRun(Path(out), shared["stdout"], _outputs(shared["stdout"]))
    # Every worker checks at its end: a write by any test changes the digest for good, so the
    # last worker to finish sees it even when another worker's test made it.
    yield run
    assert _digest(run.workspace / "ledger.gpkg") == shared["ledger"], (
        "a test wrote to the shared demo workspace: use the demo_copy fixture instead"
    )


@pytest.fixture
def demo_copy(demo_run: DemoRun, tmp_path: Path) -> Path:
    """A private copy of the demo workspace, for a test that changes it."""
    ws = tmp_path / "demo-workspace"
    shutil.copytree(demo_run.workspace, ws)
    return ws


# ------------------------------------------------------------------------------ sample counties
# `parcelwatch samples make DIR` (small, seed 0), run as a user runs it, once per session in the
# background like the demo: its printed tables are checked in tests/test_cli_progress.py, and
# tests/test_samples.py uses its files as the second, independent generation that must equal
# make_samples()' byte for byte. test_samples' first generation (`make_samples` called from
# Python, with its manifest) is a background job too.

SAMPLES_CLI_JOB = """
import json, os, subprocess, sys
out, result = sys.argv[1:3]
res = subprocess.run([sys.executable, "-m", "parcelwatch", "samples", "make", out], capture_output=True,
                     text=True, encoding="utf-8", check=False)
with open(result + ".part", "w", encoding="utf-8") as f:
    json.dump({"exit_code": res.returncode, "output": res.stdout + res.stderr}, f)
os.replace(result + ".part", result)
"""

SAMPLES_JOB = """
import os, pickle, sys, traceback
from pathlib import Path
out, result = sys.argv[1:3]
try:
    from parcelwatch.samples import make_samples
    made = {"manifest": make_samples(Path(out), scale="small", seed=0)}
except BaseException:
    made = {"error": traceback.format_exc()}
with open(result + ".part", "wb") as f:
    pickle.dump(made, f)
os.replace(result + ".part", result)
"""


def samples_cli_job(root: Path) -> tuple[str, str, str]:
    return SAMPLES_CLI_JOB, str(root / "samples-cli" / "s"), str(root / "samples-cli.json")


def samples_job(root: Path) -> tuple[str, str, str]:
    return SAMPLES_JOB, str(root / "samples-small"), str(root / "samples-small.pickle")


BACKGROUND_JOBS["samples_made_by_cli"] = samples_cli_job
BACKGROUND_JOBS["small"] = samples_job  # the fixture of tests/test_samples.py


@dataclass(frozen=True)
class SamplesMade:
    """The folder `samples make` wrote, its exit code and what it printed."""

    out: Path
    exit_code: int
    output: str


@pytest.fixture(scope="session")
def samples_made_by_cli(tmp_path_factory: pytest.TempPathFactory) -> SamplesMade:
    root = shared_root(tmp_path_factory)
    code, out, result = samples_cli_job(root)
    shared = json.loads(job_result(root, "samples_made_by_cli", code, out, result).read_text(encoding="utf-8"))  # fmt: skip
    return SamplesMade(Path(out), shared["exit_code"], shared["output"])


def samples_made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """`make_samples(DIR, scale="small", seed=0)` and its manifest, once per session."""
    root = shared_root(tmp_path_factory)
    code, out, result = samples_job(root)
    made = pickle.loads(job_result(root, "small", code, out, result).read_bytes())
    assert "error" not in made, made.get("error")
    return Path(out), made["manifest"]
