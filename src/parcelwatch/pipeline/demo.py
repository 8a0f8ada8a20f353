"""The README demo on the bundled sample county: what exists so far, end to end.

Load and validate every sample layer, join the Excel clue table, write the validated layers
(EPSG:4490, canonical columns) and a text report, then classify the first batch. Later steps
(ledger, map, exports) extend :func:`run_demo`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio

from parcelwatch import crs as crsmod
from parcelwatch.config import Rules, load_rules
from parcelwatch.errors import DataQualityWarning, InputError, OutputError
from parcelwatch.io.clues import join_clues, read_clues
from parcelwatch.pipeline import (
    Inputs,
    LayerSource,
    classify_inputs,
    load_inputs,
    write_classification,
)
from parcelwatch.rules.catalog import CLASS_LABELS
from parcelwatch.units import m2_to_mu

__all__ = ["DEMO_LAYERS", "DemoResult", "run_demo", "sample_sources"]

# role -> (file, layer) in data/samples (see data/samples/README.md)
DEMO_LAYERS: dict[str, tuple[str, str | None]] = {
    "parcels": ("卫片图斑_2026年第1批.shp", None),
    "farmland": ("基础数据.gpkg", "DLTB"),
    "pbf": ("基础数据.gpkg", "YJJBNTTB"),
    "townships": ("基础数据.gpkg", "XZQ"),
    "villages": ("基础数据.gpkg", "CJDCQ"),
    "greenhouses": ("大棚.geojson", None),
    "buildings": ("建筑物.shp", None),
    "approvals": ("审批备案.gpkg", "PZYD"),
    "parks": ("农业园区.geojson", None),
}
CLUE_TABLE = "卫片线索明细表.xlsx"


@dataclass
class DemoResult:
    outputs: dict[str, Path]
    summary: list[str]
    inputs: Inputs
    warnings: list[str] = field(default_factory=list)


# The demo's clock: fixed, so that the demo and its test are reproducible.
BATCH1_ISSUED = date(2026, 4, 1)
BATCH2_ISSUED = date(2026, 10, 8)
MAP_DAY = date(2026, 11, 7)
TZ = timezone(timedelta(hours=8))  # China Standard Time
DEMO_USER = "demo"
REFERENCE_YEAR = 2025  # the year of the sample county's 三调 update and surveys


def sample_sources(samples_dir: Path, *, batch: int = 1) -> dict[str, LayerSource]:
    """The sample county's layers by role; batch 2 has its own parcels and buildings state."""
    if batch == 2:
        sources = sample_sources(samples_dir)
        sources["parcels"] = LayerSource(samples_dir / "卫片图斑_2026年第2批.shp")
        sources["buildings"] = LayerSource(samples_dir / "建筑物_2026年第2批.shp")
        return sources
    missing = [f for f, _ in DEMO_LAYERS.values() if not (samples_dir / f).exists()]
    if missing:
        raise InputError(
            f"{samples_dir} is not a sample county folder: missing {', '.join(sorted(set(missing)))}. "
            "Run the demo from the repository root, or make one with `parcelwatch samples make DIR`."
        )
    return {role: LayerSource(samples_dir / f, layer) for role, (f, layer) in DEMO_LAYERS.items()}


def run_demo(
    samples_dir: str | Path, out_dir: str | Path, *, rules: Rules | None = None, store: str = ""
) -> DemoResult:
    """``store``: a ``postgresql://`` address to run the ledger round on a server (default: ledger.gpkg)."""
    samples_dir, out_dir = Path(samples_dir), Path(out_dir)
    if rules is None:
        rules_file = samples_dir / "rules.toml"
        rules = load_rules(rules_file if rules_file.exists() else None)
    inputs = load_inputs(sample_sources(samples_dir), rules=rules)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"Cannot create the output folder {out_dir}: {exc}. Choose another folder with -o."
        ) from exc

    summary = [f"Sample county in {samples_dir}", *inputs.notes, ""]
    summary.append(
        f"{'layer':<12} {'features':>8}  {'encoding (decided by)':<30} CRS (as delivered)"
    )
    for role, rep in inputs.reports.items():
        enc = f"{rep.encoding.encoding} ({rep.encoding.source})" if rep.encoding else "-"
        summary.append(f"{role:<12} {rep.feature_count:>8}  {enc:<30} {rep.crs}")
        if rep.repaired:
            summary.append(f"{'':<12} repaired {rep.repaired} invalid polygon(s)")
    summary.append("")
    farmland = inputs.layers["farmland"]
    area = crsmod.ellipsoidal_area_m2(farmland.geometry.values, farmland.crs)
    is_farm = farmland["dlbm"].isin(rules.farmland.codes).to_numpy()
    ratio = np.ones(len(farmland))
    if rules.farmland.deduct_tiankan and "tbdlmj" in farmland and "tbmj" in farmland:
        r = (farmland["tbdlmj"] / farmland["tbmj"]).to_numpy(dtype=float)
        ratio = np.where(np.isfinite(r) & (r > 0), r, 1.0)
    summary.append(
        f"耕地 (DLBM {'/'.join(rules.farmland.codes)}, less 田坎): {m2_to_mu((area * ratio * is_farm).sum()):,.2f} 亩"
    )
    pbf = inputs.layers["pbf"]
    summary.append(
        f"永久基本农田: {m2_to_mu(crsmod.ellipsoidal_area_m2(pbf.geometry.values, pbf.crs).sum()):,.2f} 亩"
    )
    parcels = inputs.layers["parcels"]
    parcel_m2 = crsmod.ellipsoidal_area_m2(parcels.geometry.values, parcels.crs)
    summary.append(
        f"卫片图斑: {len(parcels)} parcels, {m2_to_mu(parcel_m2.sum()):,.2f} 亩 (ellipsoidal)"
    )

    outputs: dict[str, Path] = {}
    clue_path = samples_dir / CLUE_TABLE
    if clue_path.exists():
        clues = read_clues(clue_path)
        joined, notes = join_clues(parcels, clues)
        summary.append(
            f"clue table {clue_path.name}: header on row {clues.header_row}, {len(clues.frame)} clues joined by 线索编号"
        )
        summary += [f"  {n}" for n in notes + clues.notes]
        parcels = joined

    gpkg = out_dir / "validated_layers.gpkg"
    if gpkg.exists():
        gpkg.unlink()
    for role, frame in {**inputs.layers, "parcels": parcels}.items():
        g = frame.to_crs(crsmod.STORAGE_CRS)
        g = g.assign(area_m2=crsmod.ellipsoidal_area_m2(g.geometry.values, g.crs))
        g["area_mu"] = m2_to_mu(g["area_m2"])
        pyogrio.write_dataframe(g, gpkg, layer=role, driver="GPKG")
    outputs["validated layers (EPSG:4490, canonical fields)"] = gpkg
    classification = classify_inputs(inputs, rules=rules)
    outputs["classification (parcels, findings)"] = write_classification(
        classification, out_dir / "classification.gpkg", sources=inputs.reports
    )
    summary.append("")
    summary.append(
        f"Classification of {len(classification.parcels)} parcels ({len(classification.findings)} findings); candidates (疑似):"
    )
    labels = CLASS_LABELS["zh"]
    for cls, n in classification.counts().items():
        summary.append(f"  {labels[cls]:<6} {n}")
    high = int((classification.parcels["priority"] == "high").sum())
    alerts = int((classification.parcels["alerts"] != "").sum())
    summary.append(
        f"  priority high (永久基本农田 occupied): {high}; alerts (criminal-referral / large parcel): {alerts}"
    )
    for rid, why in classification.skipped:
        summary.append(f"  rule {rid} did not run: {why}")

    summary.append("")
    summary += _ledger_round(samples_dir, out_dir, outputs, store=store)

    report = out_dir / "load_report.txt"
    text = "\n\n".join(r.to_text() for r in inputs.reports.values())
    report.write_text("\n".join(summary) + "\n\n" + text + "\n", encoding="utf-8")
    outputs["load report"] = report
    return DemoResult(outputs, summary, inputs, list(inputs.notices))


def _at(d: date, hour: int = 9) -> datetime:
    return datetime(d.year, d.month, d.day, hour, tzinfo=TZ)


def _ledger_round(
    samples_dir: Path, out_dir: Path, outputs: dict[str, Path], *, store: str = ""
) -> list[str]:
    """Workspace -> check batch 1 -> staff decisions -> check batch 2 (回头看) -> stats, Excel."""
    import shutil

    from parcelwatch.ledger import export_xlsx, problem_for_parcel, set_status, workspace_stats
    from parcelwatch.pipeline import check_batch, init_workspace

    ws_dir = out_dir / "workspace"
    if ws_dir.exists():
        shutil.rmtree(ws_dir)
    from parcelwatch.pipeline.reference import add_references

    ws = init_workspace(
        ws_dir,
        rules_text=(samples_dir / "rules.toml").read_text(encoding="utf-8"),
        now=_at(BATCH1_ISSUED, 8),
        store=store,
    )
    lines = [f"Ledger workspace {ws_dir}:"]
    # the county's reference layers are registered once; each batch then brings only its parcels
    # (and, for batch 2, the buildings as surveyed then, which win over the registered ones)
    batch1 = sample_sources(samples_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        added = add_references(
            ws.path,
            {k: v for k, v in batch1.items() if k != "parcels"},
            year=REFERENCE_YEAR,
            now=_at(BATCH1_ISSUED, 8),
            user=DEMO_USER,
            rules=ws.rules,
        )
    lines.append(
        f"Reference layers registered ({REFERENCE_YEAR}): "
        + ", ".join(f"{o.version.version_id} ({o.version.features})" for o in added)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        first = check_batch(
            ws,
            {"parcels": batch1["parcels"]},
            batch="2026年第1批",
            now=_at(BATCH1_ISSUED),
            user=DEMO_USER,
            issued=BATCH1_ISSUED,
        )
    lines += first.lines()

    def pid(parcel: str) -> str:
        rec = problem_for_parcel(ws, parcel)
        assert rec is not None, parcel
        return rec.problem_id

    day = BATCH1_ISSUED + timedelta(days=10)
    steps: list[tuple[str, str, dict[str, Any]]] = [
        # the Class II restaurant in a greenhouse: confirmed, demolished, accepted, closed
        (
            "3707902026Q1002",
            "未整改",
            {"confirmed_class": "II", "note": "实地核查：大棚内建餐饮用房，认定违法"},
        ),
        (
            "3707902026Q1002",
            "整改中",
            {
                "measure": "拆除",
                "deadline": date(2026, 6, 30),
                "responsible_unit": "禾丰镇人民政府",
                "responsible_person": "王建国",
            },
        ),
        ("3707902026Q1002", "待验收", {"measure": "拆除", "note": "已拆除，恢复种植条件"}),
        ("3707902026Q1002", "已销号", {"measure": "拆除", "note": "县级验收合格"}),
        # the villa and restaurant in the park: confirmed, rectification under way, deadline passed
        ("3707902026Q1001", "未整改", {"confirmed_class": "I"}),
        (
            "3707902026Q1001",
            "整改中",
            {
                "measure": "拆除",
                "deadline": date(2026, 8, 31),
                "responsible_unit": "禾丰镇人民政府",
                "responsible_person": "李明",
            },
        ),
        # approved construction land: legal; no visible change: pseudo-change
        (
            "3707902026Q1014",
            "合法",
            {"judgement_type": "批准建设用地", "note": "鲁政土字〔2025〕123号"},
        ),
        ("3707902026Q1016", "其他", {"judgement_type": "伪变化", "note": "前后时相影像无实质变化"}),
        # the unknown-use building beside a greenhouse (Class I): demolished, accepted, closed
        ("3707902026Q1008", "未整改", {"confirmed_class": "I"}),
        (
            "3707902026Q1008",
            "整改中",
            {
                "measure": "拆除",
                "deadline": date(2026, 6, 15),
                "responsible_unit": "禾丰镇人民政府",
            },
        ),
        ("3707902026Q1008", "待验收", {"measure": "拆除", "note": "已拆除，恢复种植条件"}),
        ("3707902026Q1008", "已销号", {"measure": "拆除", "note": "县级验收合格"}),
        # the big factory complex at the criminal-referral threshold
        (
            "3707902026Q1013",
            "未整改",
            {
                "confirmed_class": "conversion",
                "deadline": date(2026, 7, 31),
                "responsible_unit": "柳湾镇人民政府",
            },
        ),
    ]
    lines.append("Staff decisions:")
    for i, (parcel, status, fields_) in enumerate(steps):
        rec = set_status(
            ws, pid(parcel), status, user=DEMO_USER, now=_at(day + timedelta(days=7 * i)), **fields_
        )
        lines.append(
            f"  {parcel} -> {rec.problem_id}: {status}"
            + (f"（{fields_['measure']}）" if "measure" in fields_ else "")
        )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        batch2 = sample_sources(samples_dir, batch=2)
        second = check_batch(
            ws,
            {"parcels": batch2["parcels"], "buildings": batch2["buildings"]},
            batch="2026年第2批",
            now=_at(BATCH2_ISSUED),
            user=DEMO_USER,
            issued=BATCH2_ISSUED,
        )
    lines += second.lines()
    stats = workspace_stats(ws, today=BATCH2_ISSUED + timedelta(days=30))
    from parcelwatch.ledger.figures import rate_text

    lines.append(
        f"整改完成率 {rate_text(stats.completion_rate)}（{stats.closed_confirmed}/{stats.confirmed}）；违法占用耕地面积比例：{stats.ratio_text()}"
    )
    outputs["ledger workspace (QGIS can open ledger.gpkg)"] = ws_dir / "ledger.gpkg"

    # imagery evidence (before the map, so that the popups carry the before/after chips)
    from parcelwatch.pipeline import analyse_imagery

    imagery = analyse_imagery(
        ws,
        samples_dir / "imagery" / "before.tif",
        samples_dir / "imagery" / "after.tif",
        now=_at(MAP_DAY, 7),
        user=DEMO_USER,
        image_dates=("2025-10-15", "2026-06-18"),
    )
    lines += imagery.lines()
    outputs["imagery statistics and hints"] = ws_dir / "imagery" / "stats.csv"
    outputs["evidence sheets (one printable page per problem)"] = ws_dir / "imagery" / "evidence"

    from parcelwatch.maps.view import geotiff_basemap
    from parcelwatch.pipeline import load_inputs, write_map
    from parcelwatch.pipeline.reference import context_layers

    # context from the registered layers; the buildings as surveyed for batch 2 win
    context = context_layers(ws, rules=ws.rules)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        context.update(
            load_inputs(
                {"buildings": sample_sources(samples_dir, batch=2)["buildings"]}, rules=ws.rules
            ).layers
        )
    # one month of town patrols (seed 004): the bulletin, and findings + score layers on the map
    from parcelwatch.io.layers import load_layer
    from parcelwatch.patrol.demo import run_patrol_month

    village_layer = load_layer(
        samples_dir / "基础数据.gpkg", layer="CJDCQ", role="villages", rules=ws.rules
    ).frame
    patrol_lines, patrol_outputs, patrol_layers = run_patrol_month(ws, village_layer, out_dir)
    lines += patrol_lines
    outputs.update(patrol_outputs)
    context = {**context, **patrol_layers}
    map_path = write_map(
        ws,
        out_dir / "battle_map.html",
        today=MAP_DAY,
        now=_at(MAP_DAY, 8),
        context=context,
        basemap=geotiff_basemap(samples_dir / "imagery" / "after.tif"),
    )[0]
    outputs["battle map (挂图作战, opens offline)"] = map_path
    review_day = BATCH2_ISSUED + timedelta(days=30)
    outputs["ledger as Excel for editing (import-xlsx takes it back)"] = export_xlsx(
        ws.store, out_dir / "问题台账.xlsx", today=review_day
    )
    from parcelwatch.pipeline import export_all

    exported = export_all(ws, out_dir / "exports", today=review_day)
    lines.append(f"Exports for county review ({len(exported)} files) in {out_dir / 'exports'}")
    outputs.update({f"export {key}": path for key, path in exported.items()})
    from parcelwatch.acceptance.demo import acceptance_round

    lines += acceptance_round(
        ws, samples_dir, out_dir, outputs, user=DEMO_USER, now=_at(review_day), today=review_day
    )
    if store:
        lines.append(
            "Other sources (巡查, 巡察) and the campaign reports: shown on the GeoPackage demo only"
        )
    else:
        lines += _other_sources_round(ws_dir, samples_dir, out_dir, outputs)
    return lines


def _other_sources_round(
    ws_dir: Path, samples_dir: Path, out_dir: Path, outputs: dict[str, Path]
) -> list[str]:
    """Problems that are not 卫片 parcels (a town patrol's find and a 巡察 item) next to the 卫片
    ones, the 巡察 report and a 回头看 two-day report (SEED-SYSTEMS 0.P1, §E1, §E2).

    They go into a copy of the ledger (``workspace-sources``), so that the map and exports above
    stay those of the two 卫片 batches."""
    import shutil
    import sqlite3

    from parcelwatch.ledger.workspace import open_workspace

    copy_dir = out_dir / "workspace-sources"
    if copy_dir.exists():
        shutil.rmtree(copy_dir)
    copy_dir.mkdir(parents=True)
    shutil.copy(ws_dir / "rules.toml", copy_dir / "rules.toml")
    src = sqlite3.connect(ws_dir / "ledger.gpkg")
    dst = sqlite3.connect(copy_dir / "ledger.gpkg")
    with dst:
        src.backup(dst)
    src.close()
    dst.close()
    ws = open_workspace(copy_dir)
    try:
        return _other_sources(ws, out_dir, outputs)
    finally:
        ws.close()


def _other_sources(ws: Any, out_dir: Path, outputs: dict[str, Path]) -> list[str]:
    import shapely

    from parcelwatch.ledger.add import NewProblem, add_problem
    from parcelwatch.reports.campaign import CampaignBook, write_campaign_report
    from parcelwatch.reports.inspection import InspectionBook, figures_as_of, write_inspection_xlsx

    anchor = shapely.centroid(ws.store.get("370790-2026-000003").geometry)
    x, y = float(anchor.x) + 0.002, float(anchor.y) + 0.002
    day = BATCH2_ISSUED + timedelta(days=3)
    patrol = add_problem(
        ws.store,
        NewProblem("巡查", "禾丰镇", lon=round(x, 6), lat=round(y, 6), found_on=day,
                   fields={"source_ref": "巡查-2026-10-11-01", "place_text": "村东大棚区北侧", "construction_year": 2026}),
        user=DEMO_USER, now=_at(day), rules=ws.rules,
    )  # fmt: skip
    inspected = add_problem(
        ws.store,
        NewProblem("巡察", "禾丰镇", lon=round(x + 0.003, 6), lat=round(y, 6), found_on=day,
                   fields={"source_ref": "巡察问题1", "place_text": "村西超市西侧新建房", "construction_year": 2025,
                           "responsible_leader": "王建国"}),
        user=DEMO_USER, now=_at(day), rules=ws.rules,
    )  # fmt: skip
    lines = [
        f"Other sources, in a copy of the ledger ({ws.path}): {patrol} (巡查), {inspected} (巡察)"
    ]
    book = InspectionBook(ws.store)
    ref = "《关于禾丰镇专项巡察问题清单的反馈意见》"
    item = book.add_item(unit="禾丰镇", feedback_ref=ref, feedback_on=day, aspect="违法违规占用耕地", problem_no=1,
                         title="新增违法占地禁而不绝", typical_case="村西超市西侧一处新建房，占用耕地。",
                         measures=["拆除复耕"], responsible_leader="王建国", responsible_unit="禾丰镇人民政府",
                         problem_ids=[inspected], user=DEMO_USER, now=_at(day))  # fmt: skip
    book.add_action(
        item,
        on=day + timedelta(days=1),
        text="实地走访核实",
        user=DEMO_USER,
        now=_at(day + timedelta(days=1)),
    )
    figs = figures_as_of(ws.store, MAP_DAY, ref)
    outputs["巡察整改台账 (Excel)"] = write_inspection_xlsx(figs, out_dir / "巡察整改台账.xlsx")
    text = out_dir / "巡察整改情况.md"
    from parcelwatch.reports.inspection import figure_sentence, inspection_markdown

    text.write_text(inspection_markdown(figs), encoding="utf-8")
    outputs["巡察整改情况 (text for the 公布)"] = text
    lines.append(figure_sentence(figs))
    cb = CampaignBook(ws.store)
    cb.start(name="大棚房专项清理整治回头看", unit="禾丰镇", start=BATCH2_ISSUED, office="禾丰镇领导小组办公室",
             recipient="县领导小组办公室", user=DEMO_USER, now=_at(BATCH2_ISSUED))  # fmt: skip
    cb.add_clue(
        village="样例村",
        source="镇巡查",
        found_on=day,
        suspected="第二类",
        user=DEMO_USER,
        now=_at(day),
    )
    first_due = cb.schedule()[0]
    path, n, _ = write_campaign_report(ws.store, first_due, out_dir / "回头看工作进展_第1期.xlsx", user=DEMO_USER,
                                       now=_at(first_due, 17))  # fmt: skip
    outputs["回头看工作进展 (two-day report)"] = path
    lines.append(f"回头看工作进展 第{n}期 ({first_due.isoformat()}) written")
    # the battle map of this ledger: the 卫片 problems and the two point problems as markers
    from parcelwatch.pipeline import write_map
    from parcelwatch.pipeline.reference import context_layers

    outputs["battle map with every source (卫片 + 巡查/巡察 points)"] = write_map(
        ws, out_dir / "battle_map_sources.html", today=MAP_DAY, now=_at(MAP_DAY, 8),
        context=context_layers(ws, rules=ws.rules),
    )[0]  # fmt: skip
    return lines
