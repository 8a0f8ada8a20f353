"""Shared fixtures: small hand-drawn layers written in the formats real deliveries come in."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
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


# Under pytest-xdist (`-n 2`, the README's command) the expensive session resources are built
# once per session and shared by the workers through files under a lock (the README demo, the
# province's deliveries and global overlay: see `shared_root`), or are cheap enough to start on
# each worker (the PostgreSQL server, the province's LocalCluster). The tests are not pinned to
# workers: `--dist loadgroup` with `xdist_group` marks is silently ignored with pytest 9.2 and
# pytest-xdist 3.8 (pytest-dev/pytest-xdist#1386), and pinning made one worker finish late.


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


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    # Under xdist the first worker to get here runs the demo (the others wait on the lock) and
    # leaves its exit code, output and the ledger's digest beside it: the others read them, so
    # that the demo runs once per session (the pytest-xdist docs' recipe, with fcntl's lock).
    root = shared_root(tmp_path_factory)
    out = root / "demo" / "demo-output"
    result = root / "demo" / "result.json"
    with open(root / "demo.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not result.exists():
            res = subprocess.run(
                [sys.executable, "-m", "parcelwatch", "demo", "-o", str(out)],
                cwd=REPO,
                capture_output=True,
                text=True,
                encoding="utf-8",
                check=False,
            )
            ledger = out / "workspace" / "ledger.gpkg"
            digest = _digest(ledger) if res.returncode == 0 else ""
            shared = {"returncode": res.returncode, "stdout": res.stdout, "stderr": res.stderr,
                      "ledger": digest}  # fmt: skip
            result.write_text(json.dumps(shared), encoding="utf-8")
        shared = json.loads(result.read_text(encoding="utf-8"))
    assert shared["returncode"] == 0, shared["stderr"]
    run = DemoRun(out, shared["stdout"], _outputs(shared["stdout"]))
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


# ------------------------------------------------------------------------------ samples make
# `parcelwatch samples make DIR` (small, seed 0), once per session and shared like the demo: its
# printed tables are checked in tests/test_cli_progress.py, and tests/test_samples.py uses its
# files as the second, independent generation that must equal make_samples()' byte for byte.


@dataclass(frozen=True)
class SamplesMade:
    """The folder `samples make` wrote, its exit code and what it printed."""

    out: Path
    exit_code: int
    output: str


@pytest.fixture(scope="session")
def samples_made_by_cli(tmp_path_factory: pytest.TempPathFactory) -> SamplesMade:
    from click.testing import CliRunner

    from parcelwatch.cli import cli

    root = shared_root(tmp_path_factory)
    out, result = root / "samples-cli" / "s", root / "samples-cli.json"
    with open(root / "samples-cli.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not result.exists():
            res = CliRunner().invoke(cli, ["samples", "make", str(out)])
            shared = {"exit_code": res.exit_code, "output": res.output}
            result.write_text(json.dumps(shared), encoding="utf-8")
        shared = json.loads(result.read_text(encoding="utf-8"))
    return SamplesMade(out, shared["exit_code"], shared["output"])
