"""Issue 18 point 12: the 天地图 key. Given as a key it is in the page (and --help says so); with
--tianditu-key-at-view the page asks for it and keeps it in the browser, never in the file."""

from __future__ import annotations

import datetime as dt

import pytest

from parcelwatch.cli import cli, main
from parcelwatch.config import load_rules
from parcelwatch.errors import InputError
from parcelwatch.maps.battle_map import Basemap
from parcelwatch.pipeline import init_workspace
from tests.ledger.conftest import NOW, make_problems

KEY = "0123456789abcdefSECRETKEY"


@pytest.fixture
def ws(tmp_path):
    with init_workspace(tmp_path / "ws", county_code="370790", county_name="禾丰县", now=NOW) as w:
        make_problems(w.store, 2)
    return tmp_path / "ws"


def test_help_says_the_key_is_written_into_the_html():
    from click.testing import CliRunner

    text = CliRunner().invoke(cli, ["map", "--help"], terminal_width=200).output
    assert "written into the HTML in clear" in " ".join(text.split())
    assert "--tianditu-key-at-view" in text


def test_readme_says_so_too():
    from tests.conftest import REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "--tianditu-key-at-view" in readme and "in clear" in readme


def test_map_section_is_real_and_the_error_points_to_it(ws, tmp_path):
    """Before: the error pointed to [map].tianditu_key, which the rules file rejected."""
    rules = ws / "rules.toml"
    assert "[map]" in rules.read_text(encoding="utf-8")  # the defaults written by init hold it
    with pytest.raises(
        InputError, match=r"tianditu_key under \[map\] in the workspace's rules.toml"
    ):
        Basemap("tianditu").config()
    text = rules.read_text(encoding="utf-8").replace('tianditu_key = ""', f'tianditu_key = "{KEY}"')
    rules.write_text(text, encoding="utf-8")
    assert load_rules(rules).map.tianditu_key == KEY
    out = tmp_path / "key.html"
    assert (
        main(["map", str(ws), "-o", str(out), "--basemap", "tianditu", "--today", "2026-05-10"])
        == 0
    )
    assert KEY in out.read_text(encoding="utf-8")  # the documented behaviour of a key in the rules


def test_key_at_view_is_asked_for_kept_in_the_browser_and_never_in_the_file(
    ws, tmp_path, offline_page
):
    rules = ws / "rules.toml"
    rules.write_text(
        rules.read_text(encoding="utf-8").replace('tianditu_key = ""', f'tianditu_key = "{KEY}"'),
        encoding="utf-8",
    )
    out = tmp_path / "ask.html"
    assert (
        main(
            [
                "map",
                str(ws),
                "-o",
                str(out),
                "--basemap",
                "tianditu",
                "--tianditu-key-at-view",
                "--today",
                "2026-05-10",
            ]
        )
        == 0
    )
    html = out.read_text(encoding="utf-8")
    assert KEY not in html and "tk=" in html
    pg = offline_page()
    page = pg.open(out)
    assert pg.remote == []  # no tile is fetched without a key
    page.fill("#pw-tk", "viewerkey42")
    page.click("#pw-tk-form button[type=submit]")
    page.wait_for_function(
        "window.pw && window.pw.ready && document.querySelectorAll('.leaflet-tile').length > 0"
    )
    assert pg.remote and all("tk=viewerkey42" in u for u in pg.remote)
    assert KEY not in out.read_text(encoding="utf-8") and "viewerkey42" not in out.read_text(
        encoding="utf-8"
    )
    # a second opening uses the stored key without asking
    pg.remote.clear()
    page.goto(out.resolve().as_uri())
    page.wait_for_function(
        "window.pw && window.pw.ready && document.querySelectorAll('.leaflet-tile').length > 0"
    )
    assert pg.remote and all("tk=viewerkey42" in u for u in pg.remote)
    page.click("#pw-tk-forget")
    page.wait_for_function("window.pw && window.pw.ready")
    assert page.evaluate("window.localStorage.getItem('parcelwatch.tianditu_key')") is None


def test_rules_key_at_view_default(ws, tmp_path):
    rules = ws / "rules.toml"
    text = rules.read_text(encoding="utf-8")
    text = text.replace('tianditu_key = ""', f'tianditu_key = "{KEY}"').replace(
        "tianditu_key_at_view = false", "tianditu_key_at_view = true"
    )
    rules.write_text(text, encoding="utf-8")
    out = tmp_path / "m.html"
    assert (
        main(["map", str(ws), "-o", str(out), "--basemap", "tianditu", "--today", "2026-05-10"])
        == 0
    )
    assert KEY not in out.read_text(encoding="utf-8")


_ = dt


def test_the_key_is_not_part_of_the_rules_digest():
    """The digest recorded with every batch hashes the rules of the checks, not the map's key."""
    from dataclasses import replace

    from parcelwatch.config import DEFAULT_RULES

    keyed = replace(DEFAULT_RULES, map=replace(DEFAULT_RULES.map, tianditu_key=KEY))
    assert keyed.digest() == DEFAULT_RULES.digest()
