"""``parcelwatch reference add|list WS``: reference layers registered once per workspace."""

from __future__ import annotations

import click

LAYER_HELP = "file, or file:LAYER for a multi-layer source"


@click.group("reference")
def reference() -> None:
    """Reference layers (三调 耕地, 永久基本农田, 大棚, 建筑物 ...) kept in the workspace."""


@reference.command("add")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.option("--farmland", help=f"三调 DLTB land-use patches ({LAYER_HELP}).")
@click.option("--pbf", help=f"永久基本农田 ({LAYER_HELP}).")
@click.option("--greenhouses", help=f"大棚 footprints ({LAYER_HELP}).")
@click.option("--buildings", help=f"building footprints with 用途/层数 ({LAYER_HELP}).")
@click.option("--approvals", help=f"approvals and filings ({LAYER_HELP}).")
@click.option("--parks", help=f"agricultural parks ({LAYER_HELP}).")
@click.option("--townships", help=f"township boundaries XZQ ({LAYER_HELP}).")
@click.option("--villages", help=f"village boundaries CJDCQ ({LAYER_HELP}).")
@click.option(
    "--year",
    type=int,
    help="The data's year (default: this year). A newer year replaces an older one.",
)
@click.option(
    "--user", help="Who registers them (default: [ledger] default_user, else the OS user)."
)
def add_cmd(workspace: str, year: int | None, user: str | None, **sources: str | None) -> None:
    """Load, validate and store reference layers once; `check` then reads what each batch touches."""
    from parcelwatch.cli.ledger import _now, _user
    from parcelwatch.ledger.workspace import open_workspace
    from parcelwatch.pipeline.reference import add_references

    given = {k: v for k, v in sources.items() if v}
    if not given:
        raise click.UsageError("Give at least one layer, e.g. --farmland 三调.gpkg:DLTB.")
    now = _now()
    with open_workspace(workspace) as ws:
        outcomes = add_references(
            ws.path,
            given,
            year=year or now.year,
            now=now,
            user=_user(user, ws.rules),
            rules=ws.rules,
        )
    for o in outcomes:
        click.echo(o.line())
    click.echo(f"Next: parcelwatch check {workspace} --batch NAME --parcels FILE")


@reference.command("list")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.option(
    "--all",
    "all_versions",
    is_flag=True,
    help="Also the replaced versions (their provenance is kept).",
)
def list_cmd(workspace: str, all_versions: bool) -> None:
    """The registered reference layers with their provenance."""
    from parcelwatch.ledger.workspace import open_workspace
    from parcelwatch.pipeline.reference import describe_versions, open_references

    with open_workspace(workspace) as ws:
        lines = describe_versions(open_references(ws.path), all_versions=all_versions)
    for line in lines:
        click.echo(line)
