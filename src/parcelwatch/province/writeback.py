"""Write each county's problems into its own ledger workspace (回头看), idempotently.

``LEDGERS/<county code>/`` is the county's workspace (``parcelwatch init``). For each county the
inputs its province task read (its parcels, the reference layers by extent) are written to a
temporary folder and handed to the ledger's own :func:`parcelwatch.pipeline.check_batch`,
which classifies with the workspace's rules and reconciles with the ledger in one transaction;
checking the same batch again changes nothing, so a rerun of the province job is harmless. A
reference layer with no feature in the county's extent is left out (the loader refuses empty
layers), so the rules that need it do not run there; a note says so.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pyogrio

from parcelwatch.crs import working_crs
from parcelwatch.province.store import ProvinceStore
from parcelwatch.province.task import county_inputs

__all__ = ["WriteBack", "write_back"]


@dataclass
class WriteBack:
    """Per county: the ledger's outcome counts (new/same/rebound/unchanged) and events written."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(
        default_factory=list
    )  # counties without a workspace, rules differences

    def lines(self) -> list[str]:
        out = [
            f"  {c}: 新增 {n['new']}，已在台账 {n['same']}，反弹 {n['rebound']}，重复核对 {n['unchanged']}；事件 {self.events[c]} 条"
            for c, n in self.counts.items()
        ]
        return out + [f"  注：{n}" for n in self.notes]


def write_back(
    store: str | Path | ProvinceStore,
    ledgers: str | Path,
    *,
    batch: str,
    counties: list[str],
    now: datetime,
    user: str,
    rules_digest: str | None = None,
) -> WriteBack:
    """Check ``batch`` into each county's workspace under ``ledgers``; see the module docstring."""
    from parcelwatch.ledger.workspace import LEDGER_FILE, open_workspace
    from parcelwatch.pipeline import check_batch

    store = store if isinstance(store, ProvinceStore) else ProvinceStore(store)
    ledgers = Path(ledgers)
    result = WriteBack()
    for county in counties:
        folder = ledgers / county
        if not (folder / LEDGER_FILE).is_file():
            result.notes.append(
                f"县 {county} 无台账工作区（{folder}），未写入；用 `parcelwatch init {folder} --county-code {county}` 创建后重新运行"
            )
            continue
        with open_workspace(folder) as ws:
            rules = ws.rules
            if rules_digest and rules.digest() != rules_digest:
                result.notes.append(
                    f"县 {county} 的台账按其工作区规则（{ws.rules_path}）判定，与省级汇总所用规则不同"
                )
            frames = county_inputs(store, county, batch, rules=rules)
            zone = rules.county.gk_zone or store.zones.get(county)
            if zone:  # written in the county's zone, so that check_batch overlays in it too
                wcrs = working_crs(zone)
                frames = {role: frame.to_crs(wcrs) for role, frame in frames.items()}
            with tempfile.TemporaryDirectory(prefix=f"pw-{county}-") as tmp:
                sources = {}
                for role, frame in frames.items():
                    if not len(frame) and role != "parcels":  # the loader refuses empty layers
                        result.notes.append(
                            f"县 {county} 的范围内没有{role}要素，台账核对时该图层视为缺失"
                        )
                        continue
                    path = Path(tmp) / f"{role}.gpkg"
                    pyogrio.write_dataframe(frame, path, layer=role, driver="GPKG")
                    sources[role] = path
                summary = check_batch(ws, sources, batch=batch, now=now, user=user)
        result.counts[county] = dict(summary.counts)
        result.events[county] = summary.events
    return result
