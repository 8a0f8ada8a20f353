"""``parcelwatch province pack|classify``: every county of a province in one run (dask.distributed)."""

from __future__ import annotations

import click


@click.group("province")
def province() -> None:
    """Province scale: pack county deliveries into one store, classify every county on a dask cluster."""


def _codes(values: tuple[str, ...]) -> list[str] | None:
    codes = [c.strip() for v in values for c in v.split(",") if c.strip()]
    return codes or None


@province.command("pack")
@click.argument("src", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--counties",
    multiple=True,
    help="County codes (comma-separated or repeated); default: every sub-folder of SRC named by a 6-digit code.",
)
@click.option(
    "--batch", required=True, help="The batch (批次) the parcels belong to, e.g. 2026年第1批."
)
@click.option(
    "--parcels",
    required=True,
    help="The batch's 卫片图斑 file inside each county folder (file or file.gpkg:LAYER).",
)
@click.option(
    "--layer",
    "layers",
    multiple=True,
    metavar="ROLE=FILE[:LAYER]",
    help="A reference layer's file inside each county folder (overrides the default names, e.g. farmland=基础数据.gpkg:DLTB).",
)
@click.option("--encoding", help="Text encoding of shapefiles without a .cpg (e.g. GBK).")
@click.option(
    "--rules",
    "rules_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Rules file with field aliases (TOML).",
)
@click.option(
    "-o",
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="The province store folder (created or added to).",
)
def pack_cmd(
    src: str,
    counties: tuple[str, ...],
    batch: str,
    parcels: str,
    layers: tuple[str, ...],
    encoding: str | None,
    rules_path: str | None,
    out_dir: str,
) -> None:
    """Read county deliveries SRC/<county code>/... (any format and encoding the loader reads) into a store."""
    from parcelwatch.config import load_rules
    from parcelwatch.province import pack_province

    specs = {}
    for item in layers:
        role, sep, spec = item.partition("=")
        if not sep or not spec:
            raise click.BadParameter(
                f"{item!r} is not ROLE=FILE[:LAYER] (e.g. farmland=基础数据.gpkg:DLTB).",
                param_hint="--layer",
            )
        specs[role.strip()] = spec.strip()
    report = pack_province(
        src,
        out_dir,
        batch=batch,
        parcels=parcels,
        counties=_codes(counties),
        layers=specs,
        rules=load_rules(rules_path),
        encoding=encoding,
        progress=lambda msg: click.echo(f"  reading {msg}"),
    )
    for line in report.lines():
        click.echo(line)


@province.command("classify")
@click.argument("store", type=click.Path(exists=True, file_okay=False))
@click.option("--batch", required=True, help="The batch to classify.")
@click.option(
    "-o",
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Output folder: per-county results, 省级汇总.xlsx, province.gpkg. A rerun computes only missing counties.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Worker processes on this machine (a LocalCluster); default 2.",
)
@click.option("--cluster", help="Address of a running dask scheduler, e.g. tcp://10.0.0.5:8786.")
@click.option(
    "--counties", multiple=True, help="Only these county codes (comma-separated or repeated)."
)
@click.option(
    "--rules",
    "rules_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Province rules file (TOML).",
)
@click.option(
    "--retries",
    type=click.IntRange(min=0),
    default=2,
    show_default=True,
    help="Reruns of a county task that raised.",
)
@click.option(
    "--ledgers",
    type=click.Path(exists=True, file_okay=False),
    help="Folder of county workspaces (LEDGERS/<code>/): write each county's problems into its ledger.",
)
@click.option(
    "--user",
    default="province",
    show_default=True,
    help="Who the ledger events are recorded for (with --ledgers).",
)
def classify_cmd(
    store: str,
    batch: str,
    out_dir: str,
    workers: int | None,
    cluster: str | None,
    counties: tuple[str, ...],
    rules_path: str | None,
    retries: int,
    ledgers: str | None,
    user: str,
) -> None:
    """Classify every county of STORE's batch: one dask task per county, reference layers by extent."""
    from pathlib import Path

    from parcelwatch.config import load_rules
    from parcelwatch.province import (
        province_client,
        province_summary,
        run_province,
        write_back,
        write_summary_gpkg,
        write_summary_xlsx,
    )

    rules = load_rules(rules_path)
    with province_client(workers=workers, cluster=cluster) as client:
        click.echo(
            f"dask cluster: {len(client.scheduler_info()['workers'])} worker(s) at {client.scheduler.address}"
        )
        run = run_province(
            store,
            out_dir,
            batch=batch,
            client=client,
            rules=rules,
            counties=_codes(counties),
            retries=retries,
            progress=lambda county, done, total: click.echo(
                f"  county {county} written ({done}/{total})"
            ),
        )
    click.echo(f"{len(run.computed)} counties computed, {len(run.skipped)} already done (kept).")
    table = province_summary(out_dir, counties=run.counties)
    xlsx = write_summary_xlsx(table, Path(out_dir) / "省级汇总.xlsx", batch=batch)
    gpkg = write_summary_gpkg(table, out_dir, Path(out_dir) / "province.gpkg")
    click.echo(table.to_string(index=False))
    click.echo(f"Written: {xlsx}, {gpkg}")
    if ledgers:
        from parcelwatch.cli.options import now as clock_now

        wb = write_back(
            store,
            ledgers,
            batch=batch,
            counties=run.counties,
            now=clock_now(),
            user=user,
            rules_digest=rules.digest(),
        )
        click.echo("Ledger write-back:")
        for line in wb.lines():
            click.echo(line)
