"""The imagery job over a workspace: statistics, hints, chips and evidence sheets (edge: files).

:func:`analyse_imagery` reads the ledger, opens the before/after pair, computes the statistics
of every problem parcel and building footprint window by window, derives the hints with the
workspace rules and writes, under ``WS/imagery/``:

* ``stats.csv`` - one row per problem (``scope`` = parcel) and per footprint (``scope`` =
  footprint): the statistics of :data:`~parcelwatch.imagery.stats.STAT_COLUMNS` plus, on parcel
  rows, ``hint``, ``hint_en``, ``hint_reason``, ``hint_reason_en`` (UTF-8 with BOM for Excel);
* ``run.json`` - the images, band spec, rules digest, user and time of the run;
* ``chips/<problem_id>_{before,after}.png`` - the chips (problems with imagery only);
* ``evidence/<problem_id>.html`` - the printable evidence sheets (``write_evidence=True``).

The ledger itself is not changed unless ``record_notes=True``: then each hint is written into
the problem's 备注 through :func:`~parcelwatch.ledger.workspace.update_problems` (no status change,
one event per problem; a previous imagery note is replaced, so re-running does not pile up).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from parcelwatch.atomic import atomic_path, write_text_atomic
from parcelwatch.errors import OutputError
from parcelwatch.imagery.chips import chip_data_uris, write_chips
from parcelwatch.imagery.evidence import evidence_html, location_svg
from parcelwatch.imagery.hints import evidence_hints
from parcelwatch.imagery.stats import STAT_COLUMNS, BandSpec, Thresholds, open_pair, zonal_change

__all__ = ["ImageryResult", "analyse_imagery", "IMAGERY_DIR", "STATS_FILE"]

IMAGERY_DIR = Path("imagery")
STATS_FILE = IMAGERY_DIR / "stats.csv"
_NOTE_RE = re.compile(r"\s*【影像提示[^】]*】[^【]*")


@dataclass
class ImageryResult:
    """What :func:`analyse_imagery` computed and wrote."""

    stats: pd.DataFrame  # one row per problem, index problem_id: statistics + hint columns
    footprints: pd.DataFrame  # one row per (problem_id, footprint_id)
    hints: pd.DataFrame  # HINT_COLUMNS, one row per problem
    chips: dict[str, tuple[Path, Path]]
    evidence: dict[str, Path]
    files: list[Path] = field(default_factory=list)
    noted: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Problems per hint (``无影像`` counted too)."""
        h = self.hints
        out = h.loc[h["hint"] != "", "hint"].value_counts().to_dict()
        n = int((h["imagery_status"] == "无影像").sum())
        if n:
            out["无影像"] = n
        return {str(k): int(v) for k, v in out.items()}

    def lines(self) -> list[str]:
        """A short text report (Chinese)."""
        c = self.counts()
        out = [
            f"影像分析：问题 {len(self.stats)} 个，生成切片 {len(self.chips)} 组，佐证单 {len(self.evidence)} 份"
        ]
        out += [f"  {k}：{v}" for k, v in c.items()]
        shown = self.hints[self.hints["hint"] != ""]
        out += [
            f"  {pid} {hint}" for pid, hint in zip(shown["problem_id"], shown["hint"], strict=True)
        ]
        return out


def _footprints(snapshot: Any, ids: set[str]) -> gpd.GeoDataFrame:
    f = snapshot.findings
    f = f[f["problem_id"].isin(ids) & f.geometry.notna() & ~f.geometry.is_empty]
    return f.drop_duplicates(["problem_id", "footprint_id"]).reset_index(drop=True)


def _noted(old: str, hint: str, reason: str, day: str) -> str:
    kept = _NOTE_RE.sub("", old or "").strip()
    return (kept + " " if kept else "") + f"【影像提示 {day}】{hint}：{reason}"


def analyse_imagery(
    ws: Any,
    before: str | Path,
    after: str | Path,
    *,
    bands: str | Mapping[str, int] | BandSpec | None = None,
    now: datetime,
    user: str | None = None,
    write_evidence: bool = True,
    write_chip_files: bool = True,
    record_notes: bool = False,
    problem_ids: Sequence[str] | None = None,
    image_dates: tuple[str, str] = ("", ""),
    progress: Callable[[int, int], None] | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> ImageryResult:
    """Imagery evidence for the problems of a workspace (all, or ``problem_ids``); see the module doc.

    ``bands`` is a spec like ``"red=3,green=2,blue=1,nir=4"`` (defaults: B, G, R, NIR for 4+
    bands, RGB without NIR for 3). ``now`` stamps the run; ``user`` is recorded (and needed for
    ``record_notes``). Rasters in any CRS work: geometries are reprojected to the raster.
    ``progress(done, total)`` follows the per-problem statistics; ``on_stage(name)`` is called as
    each stage starts (the CLI renders both).
    """
    stage = on_stage or (lambda _name: None)
    from parcelwatch.crs import gk3_zone_from_lon, working_crs
    from parcelwatch.ledger.workspace import opened, update_problems

    with opened(ws) as w:
        stage("读取台账")
        records = w.store.records(list(problem_ids) if problem_ids is not None else None)
        snapshot = w.store.snapshot()
        events: dict[str, list[Any]] = {}
        for e in w.store.events():
            events.setdefault(e.problem_id, []).append(e)
        rules = w.rules
        ws_path = w.path
        county = rules.county.name
        th = Thresholds.from_rules(rules.imagery)
        ids = [r.problem_id for r in records]
        geoms = gpd.GeoSeries(
            [r.geometry for r in records], index=pd.Index(ids, name="problem_id"), crs=4490
        )
        fps = _footprints(snapshot, set(ids))
        with open_pair(before, after, bands=bands) as pair:
            stage("影像统计")
            stats = zonal_change(pair, geoms, thresholds=th, progress=progress)
            fstats = zonal_change(pair, fps.geometry, thresholds=th)
            fstats.insert(0, "footprint_id", fps["footprint_id"].astype(str).to_numpy())
            fstats.insert(0, "problem_id", fps["problem_id"].astype(str).to_numpy())
            band_spec = pair.bands
            chips: dict[str, tuple[Path, Path]] = {}
            if write_chip_files:
                stage("影像切片")
                with_img = stats.index[stats["coverage"] > 0]
                in_raster = geoms.loc[with_img].to_crs(pair.crs)
                chips = write_chips(
                    pair, zip(in_raster.index, in_raster.array, strict=True), ws_path
                )
        stage("提示与佐证单")
        hints = evidence_hints(stats, records, rules=rules, footprint_stats=fstats)
        h = hints.set_index("problem_id")
        stats = stats.join(
            h.rename(columns={"reason": "hint_reason", "reason_en": "hint_reason_en"}).drop(
                columns=["imagery_status"]
            )
        )
        out_dir = ws_path / IMAGERY_DIR
        files: list[Path] = []
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            table = pd.concat(
                [
                    stats.reset_index().assign(scope="parcel", footprint_id=""),
                    fstats.assign(scope="footprint"),
                ],
                ignore_index=True,
            )
            cols = [
                "scope",
                "problem_id",
                "footprint_id",
                *STAT_COLUMNS,
                "hint",
                "hint_en",
                "hint_reason",
                "hint_reason_en",
            ]
            with atomic_path(ws_path / STATS_FILE) as tmp:
                table.reindex(columns=cols).to_csv(tmp, index=False, encoding="utf-8-sig")
            files.append(ws_path / STATS_FILE)
            meta = {
                "before": str(Path(before).resolve()),
                "after": str(Path(after).resolve()),
                "bands": {k: v for k, v in band_spec.items()},
                "rules_digest": rules.digest(),
                "user": user or "",
                "at": now.isoformat(),
                "problems": len(records),
                "hints": {
                    str(k): int(v)
                    for k, v in hints.loc[hints["hint"] != "", "hint"].value_counts().items()
                },
            }
            write_text_atomic(out_dir / "run.json", json.dumps(meta, ensure_ascii=False, indent=2))
            files.append(out_dir / "run.json")
            evidence: dict[str, Path] = {}
            if write_evidence:
                ev_dir = out_dir / "evidence"
                ev_dir.mkdir(exist_ok=True)
                uris = chip_data_uris(ws_path, list(chips))
                valid = geoms[geoms.notna() & ~geoms.is_empty]
                planar, fplanar, sindex = valid, fps, None
                if len(valid):
                    c = valid.union_all().centroid
                    planar = valid.to_crs(working_crs(gk3_zone_from_lon(c.x)))
                    fplanar = fps.to_crs(planar.crs) if len(fps) else fps
                    sindex = planar.sindex
                for rec in records:
                    pid = rec.problem_id
                    svg = ""
                    if sindex is not None and pid in planar.index:
                        g = planar.loc[pid]
                        near = sindex.query(
                            g.buffer(
                                max(g.bounds[2] - g.bounds[0], g.bounds[3] - g.bounds[1], 50.0)
                            )
                        )
                        neighbours = [planar.iloc[i] for i in near if planar.index[i] != pid]
                        feet = (
                            list(fplanar.geometry[fplanar["problem_id"] == pid]) if len(fps) else []
                        )
                        svg = location_svg(g, neighbours=neighbours, footprints=feet)
                    page = evidence_html(
                        rec,
                        events.get(pid, []),
                        stats=stats.loc[pid].to_dict(),
                        hint=h.loc[pid].to_dict(),
                        chips=uris.get(pid),
                        location=svg,
                        county_name=county,
                        image_dates=image_dates,
                        generated_at=now,
                    )
                    path = ev_dir / f"{pid}.html"
                    write_text_atomic(path, page)
                    evidence[pid] = path
        except OSError as exc:
            raise OutputError(
                f"Cannot write the imagery results to {out_dir}: {exc}. Check the workspace folder is writable."
            ) from exc
        noted: list[str] = []
        if record_notes:
            if not user:
                from parcelwatch.errors import LedgerError

                raise LedgerError(
                    "record_notes=True needs user= (the name recorded on the ledger change). Pass --user."
                )
            by_id = {r.problem_id: r for r in records}
            shown = hints[hints["hint"] != ""]
            for pid, hint, reason in zip(
                shown["problem_id"], shown["hint"], shown["reason"], strict=True
            ):
                rec = by_id[pid]
                text = _noted(rec.notes, str(hint), str(reason), now.date().isoformat())
                if text != rec.notes:
                    noted += update_problems(
                        w, [pid], user=user, now=now, notes=text, note="影像提示"
                    )
    return ImageryResult(stats, fstats, hints, chips, evidence, files, noted)
