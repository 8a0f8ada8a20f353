"""No listed dependency goes unused: each one of pyproject.toml is imported where it does its job."""

from __future__ import annotations

import re
import sys

from tests.conftest import REPO

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# distribution -> how the code uses it (a module imported, or SQLAlchemy's driver name)
USE = {
    "xstatic-leaflet": r"import xstatic\.pkg\.leaflet",
    "psycopg": r"postgresql\+psycopg",  # SQLAlchemy's PostgreSQL driver
    "Pillow": r"from PIL import|import PIL",
    "dask": r"from distributed import|import distributed|import dask",
    "pytest-xdist": r"PYTEST_XDIST_WORKER",  # the README's `-n 3`; conftest shares resources
    "ipykernel": r'kernel_name="python3"',  # the kernel nbclient starts for the notebook
}


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=;!~]", requirement, maxsplit=1)[0]


def _used(name: str, text: str) -> bool:
    pattern = USE.get(name) or rf"^\s*(import|from) {re.escape(name.lower().replace('-', '_'))}\b"
    return re.search(pattern, text, re.M) is not None


def test_every_dependency_is_used() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    src = "\n".join(
        p.read_text(encoding="utf-8") for p in (REPO / "src" / "parcelwatch").rglob("*.py")
    )
    tests = "\n".join(p.read_text(encoding="utf-8") for p in (REPO / "tests").rglob("*.py"))
    unused = [_name(r) for r in project["dependencies"] if not _used(_name(r), src)]
    assert not unused, f"listed in [project] dependencies but never used: {unused}"
    extras = project["optional-dependencies"]
    assert "fiona" not in extras and not any("fiona" in r for rs in extras.values() for r in rs)
    for extra in ("province", "photos"):
        assert all(_used(_name(r), src) for r in extras[extra]), extra
    tools = {"ruff", "mypy"}  # run by .ci/run
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    for r in extras["test"]:
        name = _name(r)
        if name == "parcelwatch":
            continue
        if name in tools:
            assert f".venv/bin/{name}" in ci, name
        else:
            assert _used(name, tests), f"test extra {name} is used by no test"
