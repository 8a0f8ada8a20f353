"""``parcelwatch map WS -o map.html``: the battle map (挂图作战)."""

from __future__ import annotations

from datetime import datetime

import click

LAYER_HELP = "context layer (file or file:LAYER), drawn off by default"


@click.command("map")
@click.argument("ws", type=click.Path(file_okay=False, exists=True))
@click.option("-o", "--out", "out_path", required=True, type=click.Path(dir_okay=False), help="Output HTML (the index page with --split-by township).")
@click.option("--township", "townships", multiple=True, help="Only these townships (repeatable).")
@click.option("--basemap", default="none", show_default=True, help="none | tianditu | xyz:URL | image:GEOTIFF | amap")
@click.option("--tianditu-key", default=None, help="天地图 key (tk), default [map] tianditu_key of the workspace rules. WARNING: the key is written into the HTML in clear; anyone with the page can read and use it. Prefer --tianditu-key-at-view.")
@click.option("--tianditu-key-at-view", "tianditu_key_at_view", is_flag=True, default=None, help="The page asks for the 天地图 key when opened and keeps it in that browser (localStorage); the key is never written into the file. Default [map] tianditu_key_at_view.")
@click.option("--split-by", type=click.Choice(["township"]), help="One map per township plus an index page.")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), help="Date for overdue checks (default: today).")
@click.option("--farmland", help=LAYER_HELP)
@click.option("--pbf", help=LAYER_HELP)
@click.option("--greenhouses", help=LAYER_HELP)
@click.option("--buildings", help=LAYER_HELP)
@click.option("--townships-layer", "townships_layer", help="township boundaries (file or file:LAYER), drawn on")
def map_cmd(ws: str, out_path: str, townships: tuple[str, ...], basemap: str, tianditu_key: str | None, tianditu_key_at_view: bool | None, split_by: str | None, today: datetime | None, **layers: str | None) -> None:
    """Write the self-contained, offline battle map of a workspace."""
    from parcelwatch.ledger import open_workspace
    from parcelwatch.maps.view import parse_basemap, write_map
    from parcelwatch.pipeline import load_inputs

    w = open_workspace(ws)
    from parcelwatch.ledger.verify import tamper_warning

    if tampered := tamper_warning(w.store):
        click.echo(tampered, err=True)
    sources = {("townships" if k == "townships_layer" else k): v for k, v in layers.items() if v}
    context = load_inputs(sources, rules=w.rules).layers if sources else None
    day = today.date() if today else datetime.now().astimezone().date()
    at_view = w.rules.map.tianditu_key_at_view if tianditu_key_at_view is None else tianditu_key_at_view
    key = w.rules.map.tianditu_key if tianditu_key is None else tianditu_key
    bm = parse_basemap(basemap, tianditu_key=key, tianditu_key_at_view=at_view)
    files = write_map(w, out_path, today=day, now=datetime.now().astimezone(), townships=townships, basemap=bm, context=context, split_by_township=split_by == "township")
    if bm.kind == "tianditu" and bm.key:
        click.echo("Note: the 天地图 key is written into the page in clear; share the page only with people who may use the key (or use --tianditu-key-at-view).", err=True)
    for f in files:
        click.echo(f"Written: {f}")
