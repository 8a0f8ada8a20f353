"""Inline every asset into the page, and prove that nothing is fetched at view time.

Leaflet comes from the installed ``xstatic-leaflet`` package (the exact 1.9.3 folium targets);
its CSS images are inlined as data URIs. Our own JS/CSS lives in ``maps/static``.
"""

from __future__ import annotations

import base64
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path

from parcelwatch.errors import OutputError

__all__ = ["leaflet_assets", "own_asset", "assert_offline", "page_assets", "REMOTE_REFERENCE"]

# A script/stylesheet/image pulled from the network at view time (tile URL *templates* inside
# our JSON config are not references: they are only used when the user picks an online basemap).
REMOTE_REFERENCE = re.compile(
    r"""(<script[^>]+src\s*=\s*["']?(https?:)?//)|(<link[^>]+href\s*=\s*["']?(https?:)?//)|(<img[^>]+src\s*=\s*["']?(https?:)?//)|(@import\s+(url\()?["']?(https?:)?//)|(url\(\s*["']?(https?:)?//)""",
    re.IGNORECASE,
)


@lru_cache(maxsize=1)
def leaflet_assets() -> tuple[str, str]:
    """(css, js) of Leaflet from the xstatic-leaflet package, images inlined."""
    try:
        import xstatic.pkg.leaflet as xleaflet
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise OutputError(
            "The map needs the package xstatic-leaflet (pip install xstatic-leaflet)."
        ) from exc
    base = Path(xleaflet.BASE_DIR)
    css = (base / "leaflet.css").read_text(encoding="utf-8")
    js = (base / "leaflet.js").read_text(encoding="utf-8")

    def inline(match: re.Match[str]) -> str:
        name = match.group(1)
        data = (base / name).read_bytes()
        mime = "image/svg+xml" if name.endswith(".svg") else "image/png"
        return f"url(data:{mime};base64,{base64.b64encode(data).decode('ascii')})"

    css = re.sub(r"url\(\s*['\"]?(images/[^)'\"]+)['\"]?\s*\)", inline, css)
    js = js.replace("//# sourceMappingURL=leaflet.js.map", "")
    return css, js


def own_asset(name: str) -> str:
    """Our own JS/CSS shipped in parcelwatch/maps/static."""
    return (
        resources.files("parcelwatch.maps")
        .joinpath("static")
        .joinpath(name)
        .read_text(encoding="utf-8")
    )


# The page's data blocks: JSON whose every "<" is written \u003c (see battle_map._script_json),
# so the first "</script" after the opening tag is the block's end. Their values are text shown
# with textContent, never markup: they are not assets of the page.
_DATA_BLOCK = re.compile(
    r"""(<script\b[^>]*\btype\s*=\s*["']application/json["'][^>]*>).*?(</script)""",
    re.IGNORECASE | re.DOTALL,
)


def page_assets(html: str) -> str:
    """The page without the contents of its JSON data blocks: the markup, styles and code."""
    return _DATA_BLOCK.sub(lambda m: m.group(1) + m.group(2), html)


def assert_offline(html: str) -> None:
    """Raise if the page would load a script, stylesheet or image from the network.

    Only the page's own assets are looked at: a note reading ``<img src=//evil.example/x.png>``
    is data, escaped in a JSON block and shown as text, and does not stop the map being written.
    """
    html = page_assets(html)
    m = REMOTE_REFERENCE.search(html)
    if m:
        start = max(0, m.start() - 60)
        raise OutputError(
            f"The map would load a remote resource at view time: ...{html[start : m.end() + 60]}... This is a bug: every asset must be inlined."
        )
