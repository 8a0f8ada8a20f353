"""The import rules of ``docs/architecture.md``, checked on the source with ``ast``.

Data flows one way: cli -> pipeline -> {builders and record packages} -> ledger -> {io, rules,
config} -> base. A module may import its own package, and any package of its own layer or a
lower one; never a higher one, and never another package's private (``_name``) attribute.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "parcelwatch"

#: layer of each top-level package or module of parcelwatch (higher may import lower)
LAYERS: dict[str, int] = {
    # base: no parcelwatch imports but each other
    "errors": 0,
    "units": 0,
    "labels": 0,
    "crs": 0,
    "print_layout": 0,
    "atomic": 0,
    # reading files and pure rules (config reads the layer roles of io.schema)
    "config": 1,
    "io": 1,
    "rules": 1,
    # the store and the model
    "ledger": 2,
    # pure builders over frames and arrays, and the record packages over the store
    "imagery": 3,
    "maps": 3,
    "exports": 3,
    "reports": 3,
    "acceptance": 3,
    "patrol": 3,
    "violations": 3,
    "samples": 3,
    # the only code that opens a workspace and drives a whole job
    "pipeline": 4,
    "province": 4,
    # the shells
    "cli": 5,
    "__init__": 5,
    "__main__": 5,
}
#: names of the root package any module may import (metadata, not code)
ROOT_CONSTANTS = {"__version__"}
#: known exceptions, each with its way out (none since the one audited-record base,
#: ledger/records.py, made the table helpers public)
ALLOWED_PRIVATE: set[tuple[str, str]] = set()


def _module_name(path: Path, root: Path) -> tuple[str, ...]:
    parts = path.relative_to(root).with_suffix("").parts
    return parts[:-1] if parts[-1] == "__init__" and len(parts) > 1 else parts


def _imports(path: Path, root: Path) -> Iterator[tuple[int, tuple[str, ...], str | None]]:
    """(line, imported module as parts below ``parcelwatch``, imported name or None)."""
    mod = _module_name(path, root)
    package = mod if path.name == "__init__.py" else mod[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "parcelwatch":
                    yield node.lineno, tuple(parts[1:]), None
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                target = (*base, *(node.module.split(".") if node.module else ()))
            elif node.module and node.module.split(".")[0] == "parcelwatch":
                target = tuple(node.module.split(".")[1:])
            else:
                continue
            for alias in node.names:
                yield node.lineno, target, alias.name


def violations(root: Path) -> list[str]:
    """Every import in the tree at ``root`` (a ``parcelwatch`` folder) that breaks the rules."""
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        own = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        if own not in LAYERS:
            found.append(f"{rel}: package {own!r} has no layer; add it to LAYERS and the docs")
            continue
        for line, target, name in _imports(path, root):
            if not target:  # from parcelwatch import X: X is a module or a root name
                if name in ROOT_CONSTANTS:
                    continue
                target, name = (name or "__init__",), None
            other = target[0]
            where = f"{rel}:{line}"
            if other not in LAYERS:
                if other == "__init__":
                    other = "__init__"
                else:
                    found.append(f"{where}: imports unknown package parcelwatch.{other}")
                    continue
            if other != own and LAYERS[other] > LAYERS[own]:
                found.append(
                    f"{where}: {own} (layer {LAYERS[own]}) imports parcelwatch.{'.'.join(target)}"
                    f" (layer {LAYERS[other]}): imports go downwards only"
                )
            if (
                other != own
                and name is not None
                and name.startswith("_")
                and (rel.as_posix(), name) not in ALLOWED_PRIVATE
            ):
                found.append(
                    f"{where}: {own} imports the private name {name} of parcelwatch.{'.'.join(target)}:"
                    " make it public (documented) or move it"
                )
    return found


#: the one module that reads the clock; library functions take ``today=`` / ``now=``
CLOCK_MODULE = "cli/options.py"
_CLOCK = re.compile(r"datetime.now|date.today")


def clock_reads(root: Path) -> list[str]:
    """Lines outside :data:`CLOCK_MODULE` that read the clock (the issue's grep, per line)."""
    return [
        f"{path.relative_to(root).as_posix()}:{i}: {line.strip()}"
        for path in sorted(root.rglob("*.py"))
        if path.relative_to(root).as_posix() != CLOCK_MODULE
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _CLOCK.search(line)
    ]


def test_only_the_cli_reads_the_clock(tmp_path: Path) -> None:
    assert clock_reads(SRC) == []
    root = _tree(
        tmp_path,
        {
            "cli/options.py": "def now():\n    return datetime.now(timezone.utc)\n",
            "maps/x.py": "stamp = generated_at or datetime.now().astimezone()\n",
        },
    )
    assert clock_reads(root) == ["maps/x.py:1: stamp = generated_at or datetime.now().astimezone()"]


def test_source_follows_the_import_rules() -> None:
    assert violations(SRC) == []


def test_layers_name_every_package() -> None:
    packages = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    modules = {p.stem for p in SRC.glob("*.py")}
    assert (packages | modules) - set(LAYERS) == set()


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "parcelwatch"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        # upward: the ledger (2) reaching up into the pipeline (4), absolute and lazy
        (
            "ledger/x.py",
            "def f():\n    from parcelwatch.pipeline import load_inputs\n",
            "imports go downwards",
        ),
        ("ledger/x.py", "import parcelwatch.cli.options\n", "imports go downwards"),
        ("maps/x.py", "from parcelwatch import pipeline\n", "imports go downwards"),
        ("io/x.py", "from parcelwatch.ledger.model import Status\n", "imports go downwards"),
        (
            "errors.py",
            "from parcelwatch.units import m2_to_mu\nfrom parcelwatch.io import schema\n",
            "imports go downwards",
        ),
        # a private name across packages, even downwards
        ("maps/x.py", "from parcelwatch.ledger.workspace import _opened\n", "private name _opened"),
        ("exports/x.py", "from parcelwatch.maps.battle_map import _css\n", "private name _css"),
        # relative imports are resolved too
        ("ledger/sub/x.py", "from ...pipeline import batch\n", "imports go downwards"),
        # a new package must be placed in a layer
        ("newthing/__init__.py", "", "has no layer"),
    ],
)
def test_checker_finds_a_violation(tmp_path: Path, name: str, text: str, expected: str) -> None:
    """Each synthetic tree breaks one rule; the checker must name it (a checker that finds
    nothing would pass the real source test vacuously)."""
    root = _tree(tmp_path, {name: text})
    found = violations(root)
    assert len(found) >= 1 and all(expected in f or "has no layer" in f for f in found), found
    assert any(expected in f for f in found), found


def test_checker_allows_the_rules(tmp_path: Path) -> None:
    """Downward, same-layer, own-package private and root-version imports are fine."""
    root = _tree(
        tmp_path,
        {
            "cli/x.py": "from parcelwatch.pipeline import check_batch\nfrom parcelwatch.cli.options import _now\n",
            "pipeline/x.py": "from parcelwatch.ledger.workspace import opened\nfrom parcelwatch import crs, __version__\n",
            "maps/x.py": "from parcelwatch.imagery.chips import chip_data_uris\nfrom .view import _slug\n",
            "ledger/x.py": "from parcelwatch.rules.overlay import overlap_pairs\nfrom parcelwatch.labels import STATUS_STYLE\n",
        },
    )
    assert violations(root) == []
