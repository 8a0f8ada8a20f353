"""The README demo on the bundled sample county: what exists so far, end to end.

Load and validate every sample layer, join the Excel clue table, write the validated layers
(EPSG:4490, canonical columns) and a text report, then classify the first batch. Later steps
(ledger, map, exports) extend :func:`run_demo`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyogrio

from parcelwatch import crs as crsmod
from parcelwatch.config import Rules, load_rules
from parcelwatch.errors import DataQualityWarning, InputError, OutputError
from parcelwatch.io.clues import join_clues, read_clues
from parcelwatch.pipeline import Inputs, LayerSource, classify_inputs, load_inputs, write_classification
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


def sample_sources(samples_dir: Path) -> dict[str, LayerSource]:
    missing = [f for f, _ in DEMO_LAYERS.values() if not (samples_dir / f).exists()]
    if missing:
        raise InputError(
            f"{samples_dir} is not a sample county folder: missing {', '.join(sorted(set(missing)))}. "
            "Run the demo from the repository root, or make one with `parcelwatch samples make DIR`."
        )
    return {role: LayerSource(samples_dir / f, layer) for role, (f, layer) in DEMO_LAYERS.items()}


def run_demo(samples_dir: str | Path, out_dir: str | Path, *, rules: Rules | None = None) -> DemoResult:
    samples_dir, out_dir = Path(samples_dir), Path(out_dir)
    if rules is None:
        rules_file = samples_dir / "rules.toml"
        rules = load_rules(rules_file if rules_file.exists() else None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataQualityWarning)
        inputs = load_inputs(sample_sources(samples_dir), rules=rules)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"Cannot create the output folder {out_dir}: {exc}. Choose another folder with -o.") from exc

    summary = [f"Sample county in {samples_dir}", *inputs.notes, ""]
    summary.append(f"{'layer':<12} {'features':>8}  {'encoding (decided by)':<30} CRS (as delivered)")
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
    summary.append(f"耕地 (DLBM {'/'.join(rules.farmland.codes)}, less 田坎): {m2_to_mu((area * ratio * is_farm).sum()):,.2f} 亩")
    pbf = inputs.layers["pbf"]
    summary.append(f"永久基本农田: {m2_to_mu(crsmod.ellipsoidal_area_m2(pbf.geometry.values, pbf.crs).sum()):,.2f} 亩")
    parcels = inputs.layers["parcels"]
    parcel_m2 = crsmod.ellipsoidal_area_m2(parcels.geometry.values, parcels.crs)
    summary.append(f"卫片图斑: {len(parcels)} parcels, {m2_to_mu(parcel_m2.sum()):,.2f} 亩 (ellipsoidal)")

    outputs: dict[str, Path] = {}
    clue_path = samples_dir / CLUE_TABLE
    if clue_path.exists():
        clues = read_clues(clue_path)
        joined, notes = join_clues(parcels, clues)
        summary.append(f"clue table {clue_path.name}: header on row {clues.header_row}, {len(clues.frame)} clues joined by 线索编号")
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
    outputs["classification (parcels, findings)"] = write_classification(classification, out_dir / "classification.gpkg", sources=inputs.reports)
    summary.append("")
    summary.append(f"Classification of {len(classification.parcels)} parcels ({len(classification.findings)} findings); candidates (疑似):")
    labels = CLASS_LABELS["zh"]
    for cls, n in classification.counts().items():
        summary.append(f"  {labels[cls]:<6} {n}")
    high = int((classification.parcels["priority"] == "high").sum())
    alerts = int((classification.parcels["alerts"] != "").sum())
    summary.append(f"  priority high (永久基本农田 occupied): {high}; alerts (criminal-referral / large parcel): {alerts}")
    for rid, why in classification.skipped:
        summary.append(f"  rule {rid} did not run: {why}")

    report = out_dir / "load_report.txt"
    text = "\n\n".join(r.to_text() for r in inputs.reports.values())
    report.write_text("\n".join(summary) + "\n\n" + text + "\n", encoding="utf-8")
    outputs["load report"] = report
    warn = [str(w.message) for w in caught if issubclass(w.category, DataQualityWarning)]
    return DemoResult(outputs, summary, inputs, warn)
