"""``parcelwatch inspect FILE``: driver, encoding, CRS, features, mapped fields and every problem."""

from __future__ import annotations

import click

from parcelwatch.config import load_rules
from parcelwatch.io.layers import inspect_path
from parcelwatch.io.schema import ROLES


@click.command("inspect")
@click.argument("path", type=click.Path(dir_okay=True))
@click.option("--layer", help="Layer name in a multi-layer source (GeoPackage, FileGDB).")
@click.option(
    "--role",
    type=click.Choice(list(ROLES)),
    help="What the layer is; recognised from its name and fields when omitted.",
)
@click.option("--crs", help="CRS to use when the file has none, e.g. EPSG:4490.")
@click.option(
    "--encoding", help="Text encoding of a shapefile (GBK, UTF-8 ...); detected when omitted."
)
@click.option(
    "--gcj02",
    is_flag=True,
    help="Remove the GCJ-02 (高德/腾讯) offset from longitude/latitude data.",
)
@click.option(
    "--rules",
    "rules_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Rules file with extra field aliases.",
)
@click.pass_context
def inspect_cmd(
    ctx: click.Context,
    path: str,
    layer: str | None,
    role: str | None,
    crs: str | None,
    encoding: str | None,
    gcj02: bool,
    rules_path: str | None,
) -> None:
    """Show how parcelwatch reads a layer file and every problem found in it."""
    rules = load_rules(rules_path)
    reports = inspect_path(
        path, layer=layer, role=role, crs=crs, encoding=encoding, rules=rules, gcj02=gcj02
    )
    for r in reports:
        click.echo(r.to_text())
        click.echo("")
    if any(r.errors for r in reports):
        ctx.exit(1)
