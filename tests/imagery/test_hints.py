"""Each hint from statistics of synthetic rasters (see conftest) and hand-made ledger records."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest

from parcelwatch.config import Rules
from parcelwatch.imagery.hints import evidence_hints
from parcelwatch.imagery.stats import open_pair, zonal_change
from parcelwatch.ledger.model import ProblemRecord, Status
from tests.imagery.conftest import PARCEL, ROOF, ROOF_BLOCK, pixel_box

RULES = Rules()


def _stats(raster, before_blocks, after_blocks, *, nodata=()):  # type: ignore[no-untyped-def]
    """(parcel stats indexed P1, footprint stats of the roof block for P1)."""
    before = raster("b", blocks=before_blocks)
    after = raster("a", blocks=after_blocks, nodata_blocks=nodata)
    parcel = gpd.GeoSeries([pixel_box(4549, *PARCEL)], index=["P1"], crs=4549).to_crs(4490)
    fp = gpd.GeoSeries([pixel_box(4549, *ROOF_BLOCK)], crs=4549).to_crs(4490)
    with open_pair(before, after) as pair:
        ps = zonal_change(pair, parcel)
        fs = zonal_change(pair, fp).assign(problem_id="P1", footprint_id="B1")
    return ps, fs


def _hint(ps: pd.DataFrame, fs: pd.DataFrame | None, **rec) -> pd.Series:  # type: ignore[no-untyped-def]
    h = evidence_hints(ps, [ProblemRecord(problem_id="P1", **rec)], rules=RULES, footprint_stats=fs)
    assert list(h["problem_id"]) == ["P1"]
    return h.iloc[0]


ROOF_THEN_BARE = (
    [(*ROOF_BLOCK, ROOF)],
    [(*ROOF_BLOCK, (900, 1100, 1300, 1600))],
)  # bare soil NDVI 0.10


@pytest.mark.parametrize("measure", ["复耕", "恢复种植条件", "拆除", "拆除+复耕"])
@pytest.mark.parametrize("status", [Status.RECTIFYING, Status.AWAITING_ACCEPTANCE])
def test_rectification_doubtful(raster, measure: str, status: Status) -> None:
    """Roof demolished but the footprint is bare soil (NDVI 0.10 < 0.25) after: 整改存疑."""
    ps, fs = _stats(raster, *ROOF_THEN_BARE)
    h = _hint(ps, fs, status=status, measure=measure)
    assert h["hint"] == "整改存疑" and h["hint_en"] == "rectification doubtful"
    assert "100%" in h["reason"] and measure in h["reason"]


def test_rectification_doubtful_without_footprints_uses_the_parcel(raster) -> None:
    """No footprint recorded: the whole parcel is judged; 25 % roof < 50 % -> not doubtful."""
    ps, _ = _stats(raster, [], [(*ROOF_BLOCK, ROOF)])
    assert _hint(ps, None, status=Status.RECTIFYING, measure="复耕")["hint"] == "整改属实"
    ps, _ = _stats(raster, [], [(*PARCEL, ROOF)])
    assert _hint(ps, None, status=Status.RECTIFYING, measure="复耕")["hint"] == "整改存疑"


def test_rectification_confirmed(raster) -> None:
    """Roof before, field after on the footprint: 整改属实 (and no 疑似反弹 though 已销号)."""
    ps, fs = _stats(raster, [(*ROOF_BLOCK, ROOF)], [])
    h = _hint(ps, fs, status=Status.CLOSED, measure="拆除")
    assert h["hint"] == "整改属实"


def test_measure_without_restoration_gives_no_rectification_hint(raster) -> None:
    ps, fs = _stats(raster, *ROOF_THEN_BARE)
    assert _hint(ps, fs, status=Status.RECTIFYING, measure="罚款")["hint"] == ""
    assert _hint(ps, fs, status=Status.ILLEGAL, measure="")["hint"] == ""


@pytest.mark.parametrize("status", [Status.CLOSED, Status.REBOUND])
def test_suspected_rebound(raster, status: Status) -> None:
    """Field before, a 400 px roof (1600 m²) after on a closed problem: 疑似反弹 wins over 整改存疑."""
    ps, fs = _stats(raster, [], [(*ROOF_BLOCK, ROOF)])
    h = _hint(ps, fs, status=status, measure="拆除")
    assert h["hint"] == "疑似反弹" and "1600 m²" in h["reason"]


def test_rebound_needs_enough_area(raster) -> None:
    """Below construction_min_m2 there is no rebound hint."""
    ps, fs = _stats(raster, [], [(*ROOF_BLOCK, ROOF)])
    rules = Rules(imagery=type(RULES.imagery)(construction_min_m2=2000.0))
    h = evidence_hints(
        ps, [ProblemRecord(problem_id="P1", status=Status.CLOSED)], rules=rules, footprint_stats=fs
    )
    assert h.iloc[0]["hint"] != "疑似反弹"


def test_suspected_pseudo_change(raster) -> None:
    """Identical images: 疑似伪变化 for an unverified problem."""
    ps, _ = _stats(raster, [], [])
    h = _hint(ps, None, status=Status.UNVERIFIED)
    assert h["hint"] == "疑似伪变化" and h["hint_en"] == "suspected pseudo-change"


def test_changed_footprint_is_not_pseudo_change(raster) -> None:
    """A small new building (4 px = 16 m², 0.25 % of the parcel) still counts as a change."""
    small = (slice(20, 22), slice(20, 22))
    before = raster("b")
    after = raster("a", blocks=[(*small, ROOF)])
    parcel = gpd.GeoSeries([pixel_box(4549, *PARCEL)], index=["P1"], crs=4549)
    fp = gpd.GeoSeries([pixel_box(4549, *small)], crs=4549)
    with open_pair(before, after) as pair:
        ps = zonal_change(pair, parcel)
        fs = zonal_change(pair, fp).assign(problem_id="P1")
    assert _hint(ps, fs, status=Status.UNVERIFIED)["hint"] == ""
    # without the footprint the 16 m² of change is still above no_change_max_m2 (10 m²)
    assert _hint(ps, None, status=Status.UNVERIFIED)["hint"] == ""


def test_no_imagery_gives_no_hint(raster) -> None:
    """Parcel entirely nodata, or missing from the statistics: 无影像, no hint, no error."""
    ps, fs = _stats(raster, [], [(*ROOF_BLOCK, ROOF)], nodata=[PARCEL])
    h = _hint(ps, fs, status=Status.CLOSED, measure="拆除")
    assert h["hint"] == "" and h["imagery_status"] == "无影像" and "无影像" in h["reason"]
    h = evidence_hints(ps.iloc[:0], [ProblemRecord(problem_id="P1")], rules=RULES)
    assert h.iloc[0]["imagery_status"] == "无影像"


def test_hints_are_pure(raster) -> None:
    ps, fs = _stats(raster, *ROOF_THEN_BARE)
    before = ps.copy(), fs.copy()
    evidence_hints(
        ps,
        [ProblemRecord(problem_id="P1", status=Status.RECTIFYING, measure="复耕")],
        rules=RULES,
        footprint_stats=fs,
    )
    pd.testing.assert_frame_equal(ps, before[0])
    pd.testing.assert_frame_equal(fs, before[1])
