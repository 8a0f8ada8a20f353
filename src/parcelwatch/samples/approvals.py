"""Approvals and filings (审批备案, layer PZYD) of the background county.

* every facility-land block (设施农用地 1202 in a park, livestock farms) has a 设施农用地备案
  filed with the township (备案 is a filing, not a permit for non-agricultural building);
* most industrial blocks carry a provincial construction-land approval (建设用地 or 农转用);
* a few field quadrants hold a temporary-use approval (临时用地).

Document numbers follow the local patterns 鲁政土字〔2024〕57号, 禾自然资设备〔2023〕12号 and
禾临用〔2025〕4号; numbers are unique within a year and a document type.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import shapely

from .landscape import Blocks, BlockType

__all__ = ["background_approvals", "document_numbers"]

_FILED_USE = {"PARK": ("蔬菜种植", "食用菌生产", "育苗"), "LIVESTOCK": ("畜禽养殖",)}


def document_numbers(kind: np.ndarray, year: np.ndarray, reserved: set[str]) -> np.ndarray:
    """Sequential 文号 per (type, year), skipping numbers already used by the planted cases."""
    fmt = {
        "建设用地": "鲁政土字〔{y}〕{n}号",
        "农转用": "鲁政土字〔{y}〕{n}号",
        "设施农用地备案": "禾自然资设备〔{y}〕{n}号",
        "临时用地": "禾临用〔{y}〕{n}号",
    }
    counters: dict[tuple[str, int], int] = {}
    out = np.empty(len(kind), dtype=object)
    for k, (t, y) in enumerate(zip(kind.tolist(), year.tolist(), strict=True)):
        family = "鲁政土字" if t in ("建设用地", "农转用") else t
        while True:
            n = counters.get((family, y), 0) + 1
            counters[(family, y)] = n
            doc = fmt[t].format(y=y, n=n)
            if doc not in reserved:
                break
        out[k] = doc
    return out


def background_approvals(
    blocks: Blocks,
    btype: np.ndarray,
    park_1202: np.ndarray,
    village_name: np.ndarray,
    rng: np.random.Generator,
    reserved: set[str],
) -> pd.DataFrame:
    """Approval polygons (EPSG:4549) with 批准文号, 批准类型, 项目名称, 批准日期, 备案用途."""
    polys = blocks.polygons()
    facility = np.flatnonzero(
        ((btype == BlockType.PARK) & park_1202) | (btype == BlockType.LIVESTOCK)
    )
    industrial = np.flatnonzero(btype == BlockType.INDUSTRIAL)
    industrial = industrial[rng.random(len(industrial)) < 0.7]
    farm = np.flatnonzero((btype == BlockType.FARM) & (blocks.case_i < 0))
    temporary = farm[rng.random(len(farm)) < 0.004]
    ids = np.r_[facility, industrial, temporary]
    kind = np.r_[
        np.full(len(facility), "设施农用地备案", dtype=object),
        np.where(rng.random(len(industrial)) < 0.6, "建设用地", "农转用").astype(object),
        np.full(len(temporary), "临时用地", dtype=object),
    ]
    geoms = shapely.buffer(polys[ids], -1.0, join_style="mitre")
    # temporary approvals cover only the south-west quarter of their block
    t = np.flatnonzero(kind == "临时用地")
    if len(t):
        c = blocks.corners[ids[t]]
        q = np.stack(
            [c[:, 0], (c[:, 0] + c[:, 1]) / 2, (c[:, 0] + c[:, 2]) / 2, (c[:, 0] + c[:, 3]) / 2],
            axis=1,
        )
        geoms[t] = shapely.polygons(np.concatenate([q, q[:, :1]], axis=1))
    n = len(ids)
    start = np.where(kind == "临时用地", np.datetime64("2025-01-01"), np.datetime64("2019-01-01"))
    span = np.where(kind == "临时用地", 450, 2550)
    days = start + rng.integers(0, span).astype("timedelta64[D]")
    day = [
        date(1970, 1, 1) + timedelta(days=int(x))
        for x in days.astype("datetime64[D]").astype(np.int64)
    ]
    year = np.array([d.year for d in day])
    vn = village_name[ids]
    is_livestock = btype[ids] == BlockType.LIVESTOCK
    use = np.full(n, None, dtype=object)
    fac = kind == "设施农用地备案"
    use[fac & ~is_livestock] = rng.choice(
        np.array(_FILED_USE["PARK"], dtype=object), (fac & ~is_livestock).sum()
    )
    use[fac & is_livestock] = "畜禽养殖"
    project = np.empty(n, dtype=object)
    for k in range(n):
        v = str(vn[k]).removesuffix("村")
        if kind[k] == "设施农用地备案":
            project[k] = f"{v}{'养殖场' if is_livestock[k] else str(use[k]) + '基地'}设施农用地"
        elif kind[k] == "临时用地":
            project[k] = f"{v}段道路施工临时用地"
        else:
            project[k] = f"{v}工业项目建设用地"
    doc = document_numbers(kind, year, reserved)
    return pd.DataFrame(
        {
            "批准文号": doc,
            "批准类型": kind,
            "项目名称": project,
            "批准日期": day,
            "备案用途": use,
            "geometry": geoms,
        }
    )
