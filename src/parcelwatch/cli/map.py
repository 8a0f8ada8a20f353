"""``parcelwatch map WS -o map.html``: the battle map (挂图作战)."""

from __future__ import annotations

from datetime import datetime

import click

from parcelwatch.cli.options import out_file

LAYER_HELP = "context layer (file or file:LAYER) instead of the registered one; drawn off by default (tick it in the layer control)"


@click.command("map")
@click.argument("ws", type=click.Path(file_okay=False, exists=True))
@out_file(
    "Output HTML file; it works offline. With --split-by township this is the index page and one page per township is written beside it."
)
@click.option(
    "--township",
    "townships",
    multiple=True,
    help="Only the problems of this township (乡镇 name as in the ledger); repeat for several.",
)
@click.option(
    "--basemap",
    default="none",
    show_default=True,
    help="Background: none (boundaries and context layers only); tianditu (天地图, needs a key and network); xyz:URL (an intranet tile template with {x}, {y}, {z}); image:GEOTIFF (a local image rendered into the page); amap (高德, GCJ-02: shifted for display only).",
)
@click.option(
    "--tianditu-key",
    default=None,
    help="天地图 key (tk), default [map] tianditu_key of the workspace rules. WARNING: the key is written into the HTML in clear; anyone with the page can read and use it. Prefer --tianditu-key-at-view.",
)
@click.option(
    "--tianditu-key-at-view",
    "tianditu_key_at_view",
    is_flag=True,
    default=None,
    help="The page asks for the 天地图 key when opened and keeps it in that browser (localStorage); the key is never written into the file. Default [map] tianditu_key_at_view.",
)
@click.option(
    "--split-by",
    type=click.Choice(["township"]),
    help="Write one map per township plus an index page (automatic above 20,000 problems).",
)
@click.option(
    "--today",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Date used to decide what is overdue (逾期), as YYYY-MM-DD. Default: today.",
)
@click.option(
    "--farmland",
    help=f"三调 DLTB land-use layer: only 耕地 (DLBM 0101/0102/0103) is drawn ({LAYER_HELP}).",
)
@click.option("--pbf", help=f"永久基本农田 layer, drawn as its own layer ({LAYER_HELP}).")
@click.option("--greenhouses", help=f"大棚 footprints ({LAYER_HELP}).")
@click.option("--buildings", help=f"building footprints ({LAYER_HELP}).")
@click.option(
    "--townships-layer",
    "townships_layer",
    help="Township boundaries XZQ (file or file:LAYER), drawn on by default.",
)
def map_cmd(
    ws: str,
    out_path: str,
    townships: tuple[str, ...],
    basemap: str,
    tianditu_key: str | None,
    tianditu_key_at_view: bool | None,
    split_by: str | None,
    today: datetime | None,
    **layers: str | None,
) -> None:
    """Write the battle map (挂图作战) of workspace WS: one self-contained HTML page that opens
    offline, with problems coloured by status, overdue ones outlined, search, filters, the
    statistics of the forms and `ledger stats`, and optional context layers."""
    from parcelwatch.cli.options import now, reporter
    from parcelwatch.ledger import open_workspace
    from parcelwatch.maps.view import parse_basemap
    from parcelwatch.pipeline import load_inputs, write_map
    from parcelwatch.pipeline.reference import context_layers

    w = open_workspace(ws)
    from parcelwatch.ledger.verify import tamper_warning

    if tampered := tamper_warning(w.store):
        click.echo(tampered, err=True)
    sources = {("townships" if k == "townships_layer" else k): v for k, v in layers.items() if v}
    rep = reporter("挂图作战图")
    with rep.stages(["读取参考图层", "读取台账", "生成地图"]):
        rep.on_stage("读取参考图层")
        # the registered reference layers around the problems; layers given here win
        context = context_layers(w, rules=w.rules)
        if sources:
            context.update(load_inputs(sources, rules=w.rules).layers)
        day = today.date() if today else now().date()
        at_view = (
            w.rules.map.tianditu_key_at_view
            if tianditu_key_at_view is None
            else tianditu_key_at_view
        )
        key = w.rules.map.tianditu_key if tianditu_key is None else tianditu_key
        bm = parse_basemap(basemap, tianditu_key=key, tianditu_key_at_view=at_view)
        files = write_map(
            w,
            out_path,
            today=day,
            now=now(),
            townships=townships,
            basemap=bm,
            context=context,
            split_by_township=split_by == "township",
            on_stage=rep.on_stage,
        )
    if bm.kind == "tianditu" and bm.key:
        click.echo(
            "Note: the 天地图 key is written into the page in clear; share the page only with people who may use the key (or use --tianditu-key-at-view).",
            err=True,
        )
    for f in files:
        click.echo(f"Written: {f}")
