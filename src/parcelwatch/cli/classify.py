"""``parcelwatch classify``: overlay and classify one batch of parcels."""

from __future__ import annotations

import click

from parcelwatch.cli.options import out_file
from parcelwatch.config import load_rules
from parcelwatch.rules.catalog import CLASS_LABELS

LAYER_HELP = "file, or file:LAYER for a multi-layer source"


@click.command("classify")
@click.option("--parcels", required=True, help=f"卫片图斑 change parcels ({LAYER_HELP}).")
@click.option(
    "-w",
    "--workspace",
    type=click.Path(file_okay=False, exists=True),
    help="Workspace whose registered reference layers (`reference add`) fill every layer not given here.",
)
@click.option(
    "--farmland", help=f"三调 DLTB land-use patches ({LAYER_HELP}); required without --workspace."
)
@click.option("--pbf", help=f"永久基本农田 ({LAYER_HELP}).")
@click.option("--greenhouses", help=f"大棚 footprints ({LAYER_HELP}).")
@click.option("--buildings", help=f"building footprints with 用途/层数 ({LAYER_HELP}).")
@click.option("--approvals", help=f"approvals and filings, told apart by 批准类型 ({LAYER_HELP}).")
@click.option("--parks", help=f"agricultural parks ({LAYER_HELP}).")
@click.option("--townships", help=f"township boundaries XZQ ({LAYER_HELP}).")
@click.option("--villages", help=f"village boundaries CJDCQ ({LAYER_HELP}).")
@click.option(
    "--rules",
    "rules_path",
    type=click.Path(exists=True, dir_okay=False),
    help="County rules file (TOML).",
)
@out_file("Output GeoPackage (layers parcels, findings, run_info).")
def classify_cmd(
    out_path: str, rules_path: str | None, workspace: str | None, **sources: str | None
) -> None:
    """Find 大棚房 Class I/II/III and farmland-conversion candidates (疑似) in a batch."""
    from pathlib import Path

    from parcelwatch.cli.options import reporter
    from parcelwatch.pipeline import classify_inputs, load_inputs, write_classification

    if workspace is None and not sources.get("farmland"):
        raise click.UsageError(
            "Give --farmland FILE, or --workspace WS whose reference layers are registered (`parcelwatch reference add`)."
        )
    rep = reporter("分类")
    with rep.stages(["读取图层", "叠加分析与分类", "写出"]):
        rep.on_stage("读取图层")
        if workspace is None:
            rules = load_rules(rules_path)
            inputs = load_inputs(sources, rules=rules)
        else:
            from parcelwatch.pipeline.reference import load_batch_inputs

            ws_rules = Path(workspace) / "rules.toml"
            rules = load_rules(rules_path or (ws_rules if ws_rules.exists() else None))
            inputs = load_batch_inputs(workspace, sources, rules=rules)
        rep.on_stage("叠加分析与分类")
        result = classify_inputs(inputs, rules=rules)
        rep.on_stage("写出")
        write_classification(result, out_path, sources=inputs.reports, notices=inputs.notices)
    for notice in inputs.notices:
        click.echo(f"WARNING: {notice}", err=True)
    for note in inputs.notes + result.notes:
        click.echo(note)
    for rid, why in result.skipped:
        click.echo(f"rule {rid} did not run: {why}")
    counts = result.counts()
    labels = CLASS_LABELS["zh"]
    click.echo(
        f"{len(result.parcels)} parcels, {len(result.findings)} findings; candidates (疑似) by class:"
    )
    for cls, n in counts.items():
        click.echo(f"  {labels[cls]:<8} {n}")
    click.echo(f"Written: {out_path}")
