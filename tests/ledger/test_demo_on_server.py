"""Done-when 9: the README demo's ledger round on a server store gives the same statistics and forms."""

from __future__ import annotations

import openpyxl

from parcelwatch.ledger import open_workspace
from parcelwatch.ledger.verify import verify_store
from parcelwatch.pipeline.demo import run_demo
from tests.conftest import SAMPLES
from tests.ledger.conftest import stripped


def _cells(path) -> list[list]:
    wb = openpyxl.load_workbook(path)
    return [[[c.value for c in row] for row in ws.iter_rows()] for ws in wb.worksheets]


def test_demo_ledger_round_on_the_server_equals_the_geopackage(tmp_path, pg_db, demo_run):
    """Same summary lines after the workspace line (checks, decisions, 回头看, stats), same records
    and events, and every Excel form and the CSV export with the same cells."""
    file_run, file_out = demo_run, demo_run.out  # the session's demo on a GeoPackage, read-only
    server_run = run_demo(SAMPLES, tmp_path / "server", store=pg_db("wang"))

    def ledger_lines(result, out):
        # the CLI run names the samples as the user typed them (data/samples)
        lines = [
            line.replace(str(out), "OUT").replace(str(SAMPLES), "data/samples")
            for line in result.summary
        ]
        start = next(i for i, line in enumerate(lines) if line.startswith("Ledger workspace"))
        # the other-sources round (巡查/巡察, campaign reports) runs on the GeoPackage demo only;
        # the acceptance round (issue 13: records on both stores) runs on both
        end = next(
            (i for i, line in enumerate(lines) if line.startswith("Other sources")), len(lines)
        )
        assert any(line.startswith("Acceptance:") for line in lines[start + 1 : end])
        return lines[start + 1 : end]

    assert ledger_lines(server_run, tmp_path / "server") == ledger_lines(file_run, file_out)
    a, b = (
        open_workspace(file_out / "workspace"),
        open_workspace(tmp_path / "server" / "workspace"),
    )
    try:
        assert type(b.store).__name__ == "PgStore"
        assert stripped(b.store.records()) == stripped(a.store.records())
        assert b.store.events() == a.store.events()
        assert verify_store(b.store).ok
    finally:
        a.close()
        b.close()
    forms = sorted((file_out / "exports").rglob("*.xlsx"))
    forms += sorted((file_out / "acceptance").rglob("*.xlsx"))
    assert forms and any(p.parent.name == "acceptance" for p in forms)
    for path in forms:
        twin = tmp_path / "server" / path.relative_to(file_out)
        assert _cells(twin) == _cells(path), path.name
    assert _cells(tmp_path / "server" / "问题台账.xlsx") == _cells(file_out / "问题台账.xlsx")
    for path in sorted((file_out / "exports").rglob("*.csv")):
        twin = tmp_path / "server" / path.relative_to(file_out)
        assert twin.read_bytes() == path.read_bytes(), path.name
