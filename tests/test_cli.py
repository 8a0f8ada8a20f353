"""The command line: exit codes, messages without tracebacks, inspect output."""

from __future__ import annotations

import subprocess
import sys

from parcelwatch.cli import main
from tests.conftest import write_shapefile


def run(args, capsys):
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_version_and_versions(capsys):
    code, out, _ = run(["--version"], capsys)
    assert code == 0 and "parcelwatch, version 0.1.0" in out
    code, out, _ = run(["--show-versions"], capsys)
    assert code == 0
    for name in ("GDAL (pyogrio)", "PROJ", "GEOS", "pyogrio", "shapely", "folium", "rasterio"):
        assert name in out


def test_inspect_gbk_shapefile(tmp_path, gk_parcels, capsys):
    path = write_shapefile(gk_parcels(), tmp_path / "卫片图斑.shp")
    code, out, _ = run(["inspect", str(path)], capsys)
    assert code == 0
    assert "encoding:  gb18030 (from gb18030 fallback: no .cpg, no LDID, text is not UTF-8)" in out
    assert "CRS:       EPSG:4549" in out
    assert "parcel_id       <- 监测编号" in out
    assert "role:      parcels (卫片图斑)" in out


def test_inspect_reports_problems_and_exits_1(tmp_path, gk_parcels, capsys):
    gdf = gk_parcels(3)
    gdf.loc[2, "监测编号"] = gdf.loc[0, "监测编号"]
    path = write_shapefile(gdf, tmp_path / "p.shp")
    code, out, err = run(["inspect", str(path), "--role", "parcels"], capsys)
    assert code == 1
    assert "ERROR: field 监测编号: 1 id(s) appear more than once" in out
    assert "Traceback" not in out + err


def test_missing_crs_error_no_traceback(tmp_path, gk_parcels, capsys):
    path = write_shapefile(gk_parcels(), tmp_path / "p.shp")
    path.with_suffix(".prj").unlink()
    code, out, err = run(["inspect", str(path)], capsys)
    assert code == 1
    assert "the layer has no CRS" in out and "--crs" in out
    code, out, err = run(["inspect", str(path), "--crs", "EPSG:4549"], capsys)
    assert code == 0 and "given with --crs" in out


def test_usage_error_exit_2(capsys):
    code, _, err = run(["inspect"], capsys)
    assert code == 2 and "Missing argument" in err


def test_missing_file_exit_1(tmp_path, capsys):
    code, _, err = run(["inspect", str(tmp_path / "nope.shp")], capsys)
    assert code == 1 and err.startswith("Error: File not found") and "Traceback" not in err


def test_rules_defaults_and_check(tmp_path, capsys):
    code, out, _ = run(["rules", "defaults"], capsys)
    assert code == 0 and "[greenhouse]" in out
    path = tmp_path / "r.toml"
    path.write_text('[county]\nregion = "north"\n', encoding="utf-8")
    code, out, _ = run(["rules", "check", str(path)], capsys)
    assert code == 0 and "22.5 m² (北方标准)" in out
    path.write_text('[county]\nregoin = "north"\n', encoding="utf-8")
    code, _, err = run(["rules", "check", str(path)], capsys)
    assert code == 1 and "Did you mean 'region'?" in err


def test_console_script_runs_as_module():
    res = subprocess.run(
        [sys.executable, "-m", "parcelwatch", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0 and "0.1.0" in res.stdout


def test_bad_crs_option(tmp_path, gk_parcels, capsys):
    path = write_shapefile(gk_parcels(), tmp_path / "p.shp")
    code, out, err = run(["inspect", "--crs", "EPSG:99999999", str(path)], capsys)
    assert code == 1 and "is not a CRS PROJ knows" in out + err
