"""The sample county's imagery pair (data/samples/imagery) over the demo workspace.

Expected (data/samples/EXPECTED.md, "Imagery hints"): C01 (3707902026Q1001, demolition under
way, footprints still bare) -> 整改存疑; C02 (3707902026Q1002, closed, a new roof in the
greenhouse; the demo's second batch has already reopened it as 反弹) -> 疑似反弹; C08 (closed,
crops back) -> 整改属实; C16 (no change) -> 疑似伪变化. Statistics match expected.json to 1e-3.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from parcelwatch.cli import main
from parcelwatch.ledger import open_workspace, problem_for_parcel, update_problems
from parcelwatch.pipeline import analyse_imagery
from tests.conftest import DemoRun

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
BEFORE, AFTER = SAMPLES / "imagery" / "before.tif", SAMPLES / "imagery" / "after.tif"
NOW = datetime(2026, 7, 1, 9, 0, tzinfo=timezone(timedelta(hours=8)))
EXPECTED = json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))["imagery"]["sites"]


@pytest.fixture(scope="module")
def demo_ws(demo_run: DemoRun) -> Path:
    return demo_run.workspace  # the session's demo, read-only: `analysed` works on a copy


@pytest.fixture(scope="module")
def analysed(demo_ws: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    ws = tmp_path_factory.mktemp("imagery") / "workspace"
    shutil.copytree(demo_ws, ws)  # module scope: its own copy (demo_copy is per test)
    c01 = problem_for_parcel(ws, "3707902026Q1001")
    assert c01 is not None
    if "复耕" not in c01.measure:  # the demo records 拆除; the owner promised 拆除+复耕
        update_problems(
            ws, [c01.problem_id], user="test", now=NOW - timedelta(days=1), measure="拆除+复耕"
        )
    result = analyse_imagery(
        ws, BEFORE, AFTER, now=NOW, user="test", image_dates=("2025-10-15", "2026-06-18")
    )
    return ws, result


def _pid(ws: Path, parcel: str) -> str:
    rec = problem_for_parcel(ws, parcel)
    assert rec is not None, parcel
    return rec.problem_id


@pytest.mark.parametrize(
    ("parcel", "hint"),
    [
        ("3707902026Q1001", "整改存疑"),
        ("3707902026Q1002", "疑似反弹"),
        ("3707902026Q1008", "整改属实"),
        ("3707902026Q1016", "疑似伪变化"),
    ],
)
def test_sample_hints(analysed, parcel: str, hint: str) -> None:  # type: ignore[no-untyped-def]
    ws, result = analysed
    h = result.hints.set_index("problem_id").loc[_pid(ws, parcel)]
    assert h["hint"] == hint, h["reason"]


def test_no_other_rectification_or_rebound_hints(analysed) -> None:  # type: ignore[no-untyped-def]
    ws, result = analysed
    h = result.hints.set_index("problem_id")["hint"]
    assert set(h[h == "整改存疑"].index) == {_pid(ws, "3707902026Q1001")}
    assert set(h[h == "疑似反弹"].index) == {_pid(ws, "3707902026Q1002")}


def test_sample_statistics_match_expected(analysed) -> None:  # type: ignore[no-untyped-def]
    ws, result = analysed
    for site in EXPECTED:
        if site["batch"] != 1:
            continue
        s = result.stats.loc[_pid(ws, site["parcel_id"])]
        if len(problem_for_parcel(ws, site["parcel_id"]).parcel_ids) > 1:  # type: ignore[union-attr]
            continue  # the problem geometry was redrawn by batch 2
        for key in (
            "ndvi_before",
            "ndvi_after",
            "share_ndvi_drop",
            "share_ndvi_rise",
            "share_brightness_change",
        ):
            assert s[key] == pytest.approx(site[key], abs=1e-3), (site["case"], key)
        for key in ("brightness_before", "brightness_after"):
            assert s[key] == pytest.approx(site[key], abs=0.1), (site["case"], key)


def test_outside_the_imagery_is_no_imagery(analysed) -> None:  # type: ignore[no-untyped-def]
    _, result = analysed
    off = result.stats[result.stats["coverage"] == 0]
    assert len(off) > 0 and (off["imagery_status"] == "无影像").all() and (off["hint"] == "").all()


def test_files_chips_and_evidence(analysed) -> None:  # type: ignore[no-untyped-def]
    ws, result = analysed
    pid = _pid(ws, "3707902026Q1001")
    before, after = result.chips[pid]
    assert before == ws / "imagery" / "chips" / f"{pid}_before.png" and after.is_file()
    assert before.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (ws / "imagery" / "stats.csv").is_file() and (ws / "imagery" / "run.json").is_file()
    page = result.evidence[pid].read_text(encoding="utf-8")
    for text in (
        "@page { size: A4",
        "整改存疑",
        "data:image/png;base64,",
        "<svg",
        "整改中",
        "2026-06-18",
        "9.76 亩",
    ):
        assert text in page, text
    assert (
        "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
        and "https://" not in page
    )


def test_map_popup_shows_the_chips(analysed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from parcelwatch.pipeline import write_map

    ws, result = analysed
    pid = _pid(ws, "3707902026Q1001")
    [page] = write_map(ws, tmp_path / "map.html", today=NOW.date(), now=NOW)
    from parcelwatch.imagery.chips import chip_data_uris

    before_uri, _ = chip_data_uris(ws, [pid])[pid]
    assert before_uri in page.read_text(encoding="utf-8")


def test_ledger_unchanged_unless_asked(analysed) -> None:  # type: ignore[no-untyped-def]
    ws, _ = analysed
    with open_workspace(ws) as w:
        assert not any(e.note == "影像提示" for e in w.store.events())


def test_cli_with_band_spec_and_notes(analysed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws, _ = analysed
    copy = tmp_path / "ws"
    shutil.copytree(ws, copy)
    args = [
        "imagery",
        str(copy),
        "--before",
        str(BEFORE),
        "--after",
        str(AFTER),
        "--bands",
        "red=3,green=2,blue=1,nir=4",
        "--record-notes",
        "--user",
        "cli",
    ]
    assert main(args) == 0
    assert main(args) == 0  # a second run replaces its note instead of adding one
    rec = problem_for_parcel(copy, "3707902026Q1016")
    assert rec is not None and rec.notes.count("【影像提示") == 1 and "疑似伪变化" in rec.notes
    assert (
        main(["imagery", str(copy), "--before", str(tmp_path / "none.tif"), "--after", str(AFTER)])
        == 1
    )
