"""``parcelwatch export``: a thin shell over :mod:`parcelwatch.exports`."""

from __future__ import annotations

import sys
from datetime import date

import click

from parcelwatch.cli.ledger import DATE


@click.command("export")
@click.argument("workspace", type=click.Path(file_okay=False, exists=True))
@click.option(
    "--format",
    "fmt",
    required=True,
    type=click.Choice(["gpkg", "shp", "geojson", "kml", "kmz", "csv", "xlsx", "all"]),
    help="Output format; xlsx writes the four Excel forms into the folder -o, all writes every format into it.",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(),
    help="Output file (a folder for xlsx and all).",
)
@click.option(
    "--status",
    "statuses",
    multiple=True,
    help="Only problems in this status (repeatable), e.g. 整改中.",
)
@click.option(
    "--class",
    "classes",
    multiple=True,
    help="Only this class, confirmed else candidate (repeatable): I, II, III, conversion, non_dpf, none.",
)
@click.option(
    "--township", "townships", multiple=True, help="Only this township, name or code (repeatable)."
)
@click.option(
    "--batch", "batches", multiple=True, help="Only problems found in this batch (repeatable)."
)
@click.option("--overdue", is_flag=True, help="Only problems overdue on --today.")
@click.option("--today", type=DATE, help="Date for overdue and the forms (default: today).")
@click.option(
    "--encoding",
    type=click.Choice(["GBK", "UTF-8"], case_sensitive=False),
    default="GBK",
    show_default=True,
    help="Shapefile text encoding (GBK writes a .cpg of 936 for ArcMap-era systems).",
)
@click.option(
    "--crs",
    "crs_kind",
    type=click.Choice(["geographic", "gk"]),
    default="geographic",
    show_default=True,
    help="Shapefile CRS: CGCS2000 geographic (EPSG:4490) or the county's 3-degree Gauss-Kruger zone.",
)
@click.option(
    "--epsg",
    type=click.Choice(["4490", "4326"]),
    default="4490",
    show_default=True,
    help="GeoJSON CRS.",
)
@click.option(
    "--kml-folders",
    type=click.Choice(["status", "township"]),
    default="status",
    show_default=True,
    help="KML/KMZ folders by status or by township.",
)
def export_cmd(
    workspace: str,
    fmt: str,
    output: str,
    statuses: tuple[str, ...],
    classes: tuple[str, ...],
    townships: tuple[str, ...],
    batches: tuple[str, ...],
    overdue: bool,
    today: date | None,
    encoding: str,
    crs_kind: str,
    epsg: str,
    kml_folders: str,
) -> None:
    """Export the ledger's problems for county review (GeoPackage, shapefile, GeoJSON, KML/KMZ, CSV, Excel forms)."""
    from parcelwatch.cli.options import reporter
    from parcelwatch.cli.options import today as clock_today
    from parcelwatch.exports import Filters
    from parcelwatch.ledger.workspace import open_workspace
    from parcelwatch.pipeline import export, export_all

    day = today or clock_today()
    filters = Filters(statuses, classes, townships, batches, overdue)
    notices: list = []
    progress = _progress() if sys.stderr.isatty() else None
    with open_workspace(workspace) as ws:
        from parcelwatch.ledger.verify import tamper_warning

        if tampered := tamper_warning(ws.store):
            click.echo(tampered, err=True)
        if fmt == "all":
            rep = reporter("导出")
            names = ["读取台账", "shp", "gpkg", "geojson", "csv", "kml", "kmz", "xlsx"]
            with rep.stages(names):
                written = list(
                    export_all(
                        ws,
                        output,
                        today=day,
                        filters=filters,
                        on_stage=rep.on_stage,
                        notices=notices,
                    ).values()
                )
        else:
            written = export(
                ws,
                fmt,
                output,
                today=day,
                filters=filters,
                encoding=encoding,
                projected=crs_kind == "gk",
                epsg=int(epsg),
                kml_folders=kml_folders,
                notices=notices,
                progress=progress,
            )
        n = len(filters.apply(ws.store.records(geometry=False), today=day))
    click.echo(f"Exported {n} problem(s):")
    for p in written:
        click.echo(f"  {p}")
    _print_notices(notices)


def _progress():  # type: ignore[no-untyped-def]
    """A one-line placemark counter on the terminal (stderr), ended with a newline."""

    def show(done: int, total: int) -> None:
        click.echo(f"\r  KML {done}/{total}", nl=done >= total, err=True)

    return show


def _print_notices(notices: list) -> None:
    """Where the point problems went, then what the files could not carry exactly (grouped by
    format and field, with the records)."""
    placed = [n for n in notices if n.kind == "placement"]
    if placed:
        by_fmt: dict[str, list[str]] = {}
        for n in placed:
            where = n.message.split("written to ")[-1].split(", not to")[0]
            by_fmt.setdefault(n.fmt, []).append(where)
        ids = sorted({n.problem_id for n in placed})
        click.echo(
            f"Note: {len(ids)} point problem(s) (经度/纬度, no polygon) are in the point "
            f"layers, not the polygon ones: {', '.join(ids[:10])}"
            + (f" ... and {len(ids) - 10} more" if len(ids) > 10 else ""),
            err=True,
        )
        for fmt, where in by_fmt.items():
            click.echo(f"  {fmt}: {where[0]}", err=True)
    notices = [n for n in notices if n.kind != "placement"]
    if not notices:
        return
    groups: dict[tuple[str, str, str], list[str]] = {}
    for n in notices:
        groups.setdefault((n.fmt, n.field, n.message.split(":")[0]), []).append(n.problem_id)
    click.echo(f"Warning: {len(notices)} value(s) could not be written exactly:", err=True)
    for (fmt, field, what), ids in groups.items():
        shown = ", ".join(ids[:10]) + (f" ... and {len(ids) - 10} more" if len(ids) > 10 else "")
        click.echo(f"  {fmt} [{field}] {what}: {shown}", err=True)
    first = {n.fmt + n.field: n for n in notices}
    for n in list(first.values())[:5]:
        click.echo(f"  e.g. {n}", err=True)
    if any(n.fmt == "shapefile" and "GBK" in n.message for n in notices):
        click.echo(
            "  To keep these characters, export the shapefile with --encoding UTF-8.", err=True
        )
