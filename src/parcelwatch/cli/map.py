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
@click.option("--tianditu-key", default="", help="天地图 key (tk); default from [map] in the workspace rules is not set yet.")
@click.option("--split-by", type=click.Choice(["township"]), help="One map per township plus an index page.")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), help="Date for overdue checks (default: today).")
@click.option("--farmland", help=LAYER_HELP)
@click.option("--pbf", help=LAYER_HELP)
@click.option("--greenhouses", help=LAYER_HELP)
@click.option("--buildings", help=LAYER_HELP)
@click.option("--townships-layer", "townships_layer", help="township boundaries (file or file:LAYER), drawn on")
def map_cmd(ws: str, out_path: str, townships: tuple[str, ...], basemap: str, tianditu_key: str, split_by: str | None, today: datetime | None, **layers: str | None) -> None:
    """Write the self-contained, offline battle map of a workspace."""
    from parcelwatch.ledger import open_workspace
    from parcelwatch.maps.view import parse_basemap, write_map
    from parcelwatch.pipeline import load_inputs

    w = open_workspace(ws)
    sources = {("townships" if k == "townships_layer" else k): v for k, v in layers.items() if v}
    context = load_inputs(sources, rules=w.rules).layers if sources else None
    day = today.date() if today else datetime.now().astimezone().date()
    files = write_map(w, out_path, today=day, now=datetime.now().astimezone(), townships=townships, basemap=parse_basemap(basemap, tianditu_key=tianditu_key), context=context, split_by_township=split_by == "township")
    for f in files:
        click.echo(f"Written: {f}")
