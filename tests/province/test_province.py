"""Province runs on real dask (LocalCluster, and a `dask scheduler` + 2 `dask worker` processes).

The synthetic province (tests/province/synth.py) has 4 counties whose borders cut the farmland
fields and 12 parcels centred on the borders. Expected values are not hand-computed here: each
run must equal, to 1e-6 m², one single-process overlay of the whole province (which has no
borders at all) and the county CLI run county by county on the province-wide reference files.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest
import shapely

from parcelwatch.cli import main
from parcelwatch.errors import InputError, OutputError
from parcelwatch.province import (
    ProvinceError,
    ProvinceStore,
    check_versions,
    county_task,
    done_counties,
    read_results,
    run_province,
)

from . import faults, synth
from .conftest import Province, assert_same

CODES = list(synth.COUNTIES)


def _written(out: Path) -> list[str]:
    return (out / "written.log").read_text(encoding="utf-8").split()


def _border_parcels(province: Province) -> set[str]:
    """Parcels that reach over their county's border (computed from the geometry)."""
    out = set()
    for code in CODES:
        p = ProvinceStore(province.store).parcels(code, synth.BATCH)
        outside = ~shapely.covers(synth.county_box(code), np.asarray(p.geometry.values))
        out |= set(p.loc[outside, "parcel_id"])
    return out


def test_cli_on_local_cluster_equals_global_overlay_and_county_cli(
    province: Province, global_overlay: pd.DataFrame, client, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """The CLI on the session's LocalCluster(2) (the one `--workers 2` starts, see conftest)."""
    out = tmp_path / "out"
    assert (
        main(
            [
                "province",
                "classify",
                str(province.store),
                "--batch",
                synth.BATCH,
                "-o",
                str(out),
                "--cluster",
                client.scheduler.address,
            ]
        )
        == 0
    )
    result = read_results(out)
    assert sorted(done_counties(out)) == CODES and sorted(_written(out)) == CODES
    assert_same(result, global_overlay, what="LocalCluster(2) vs global overlay")
    # the county CLI, county by county, given the province-wide reference files
    m = province.merged
    for code in CODES:
        gpkg = tmp_path / f"{code}.gpkg"
        argv = [
            "classify",
            "--parcels",
            str(synth.parcels_file(province.src, code)),
            "-o",
            str(gpkg),
        ]
        for role in ("farmland", "pbf", "townships", "buildings", "greenhouses"):
            argv += [f"--{role}", str(m[role])]
        assert main(argv) == 0
        cli = pyogrio.read_dataframe(gpkg, layer="parcels")
        assert_same(
            result[result["xzqdm"] == code].drop(columns="geometry"),
            cli.set_index("parcel_id").sort_index(),
            what=f"county {code} vs its CLI run",
        )
    # the summary: Excel with Chinese headers, GeoPackage with every parcel
    wb = openpyxl.load_workbook(out / "省级汇总.xlsx")
    ws = wb["按县汇总"]
    header = [c.value for c in ws[3]]
    assert header[:3] == ["县级代码", "图斑数", "疑似第一类"]
    rows = {r[0]: r for r in ws.iter_rows(min_row=4, values_only=True)}
    assert set(rows) == {*CODES, "合计"}
    for code in CODES:
        part = result[result["xzqdm"] == code]
        assert rows[code][1] == len(part)
        assert rows[code][2] == int((part["problem_class"] == "I").sum())
        assert rows[code][header.index("耕地面积(亩)")] == pytest.approx(
            part["farmland_m2"].sum() / (10000 / 15), abs=0.006
        )
    assert rows["合计"][1] == len(result)
    gp = pyogrio.read_dataframe(out / "province.gpkg", layer="parcels")
    assert len(gp) == len(result) and gp.crs.to_epsg() == 4490
    summary = pyogrio.read_dataframe(out / "province.gpkg", layer="summary")
    assert list(summary["县级代码"]) == [*CODES, "合计"]


def test_by_county_code_control_is_wrong_on_border_parcels_only(
    province: Province, global_overlay: pd.DataFrame, client, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "by_code"
    run_province(
        province.store,
        out,
        batch=synth.BATCH,
        client=client,
        task=functools.partial(county_task, by_code=True),
    )
    r = read_results(out).set_index("parcel_id").sort_index()
    g = global_overlay
    wrong = set(
        r.index[
            ((r["farmland_m2"] - g["farmland_m2"]).abs() > 1e-6)
            | ((r["building_m2"] - g["building_m2"]).abs() > 1e-6)
            | (r["problem_class"] != g["problem_class"])
        ]
    )
    border = _border_parcels(province)
    assert len(border) == 12
    assert wrong, (
        "the by-code control found no difference: the province test data do not test borders"
    )
    assert wrong <= border  # only parcels reaching over a border are wrong
    assert len(wrong) >= 6
    missing = (g["farmland_m2"] - r["farmland_m2"]).loc[sorted(wrong)]
    assert (missing >= -1e-6).all()  # by code, a border parcel loses the neighbour's farmland


@pytest.mark.parametrize("how", ["exit", "raise"])
def test_worker_killed_or_task_raising_once_is_recovered(
    province: Province, global_overlay: pd.DataFrame, client, tmp_path: Path, how: str
) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    marker, log = tmp_path / "failed-once", tmp_path / "calls.log"
    task = functools.partial(
        faults.fail_once, marker=str(marker), target="370104", how=how, log=str(log)
    )
    run = run_province(province.store, out, batch=synth.BATCH, client=client, task=task, retries=2)
    assert marker.exists()  # the failure did happen, in a worker process, not here
    assert int(marker.read_text()) != os.getpid()
    assert log.read_text().split().count("370104") >= 2  # failed, then ran again
    assert sorted(run.computed) == CODES
    assert sorted(_written(out)) == CODES  # no county written twice
    assert_same(read_results(out), global_overlay, what=f"after a task {how}")
    if how == "exit":
        client.wait_for_workers(2, timeout=30)


def test_task_raising_without_retries_fails_clearly(
    province: Province, client, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    task = functools.partial(
        faults.fail_once,
        marker=str(tmp_path / "m"),
        target="370102",
        how="raise",
        log=str(tmp_path / "log"),
    )
    with pytest.raises(
        ProvinceError, match=r"County 370102 failed after 0 retries: OSError: simulated read error"
    ):
        run_province(
            province.store, tmp_path / "out", batch=synth.BATCH, client=client, task=task, retries=0
        )
    assert "370102" not in done_counties(tmp_path / "out")


def test_stopped_halfway_then_restarted_computes_only_missing(
    province: Province, global_overlay: pd.DataFrame, client, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"

    def stop_after_two(county: str, done: int, total: int) -> None:
        if done == 2:
            raise KeyboardInterrupt

    first = functools.partial(faults.counted, log=str(tmp_path / "first.log"))
    with pytest.raises(KeyboardInterrupt):
        run_province(
            province.store,
            out,
            batch=synth.BATCH,
            client=client,
            task=first,
            progress=stop_after_two,
        )
    half = done_counties(out)
    assert len(half) == 2
    # a county dir left half-written by a crash is not "done" and gets recomputed
    (out / "counties" / ".370199-partial").mkdir()
    second = functools.partial(faults.counted, log=str(tmp_path / "second.log"))
    run = run_province(province.store, out, batch=synth.BATCH, client=client, task=second)
    missing = sorted(set(CODES) - set(half))
    assert sorted(run.computed) == missing and sorted(run.skipped) == sorted(half)
    assert (
        sorted((tmp_path / "second.log").read_text().split()) == missing
    )  # the done counties never ran again
    assert sorted(_written(out)) == CODES
    assert_same(read_results(out), global_overlay, what="resumed run")
    # a third run has nothing to do
    third = run_province(province.store, out, batch=synth.BATCH, client=client)
    assert third.computed == [] and sorted(third.skipped) == CODES


def test_largest_county_is_submitted_first(province: Province, client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = ProvinceStore(province.store)
    sizes = {c: store.size(c, synth.BATCH) for c in CODES}
    log = tmp_path / "calls.log"
    run_province(
        province.store,
        tmp_path / "out",
        batch=synth.BATCH,
        client=client,
        task=functools.partial(faults.counted, log=str(log)),
        counties=CODES,
    )
    largest = sorted(CODES, key=lambda c: -sizes[c])[:2]
    assert sizes[largest[1]] > min(sizes.values())
    assert sorted(log.read_text().split()[:2]) == sorted(
        largest
    )  # 2 workers: the 2 largest start first


def test_output_of_another_run_is_refused(province: Province, client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    (out).mkdir()
    (out / "province-run.json").write_text(
        json.dumps(
            {"store": str(province.store.resolve()), "batch": "2025-9", "rules_digest": "x"}
        ),
        encoding="utf-8",
    )
    with pytest.raises(
        OutputError, match="holds the results of another province run: batch '2025-9'"
    ):
        run_province(province.store, out, batch=synth.BATCH, client=client)


def test_version_mismatch_on_one_worker_refuses_to_run(
    province: Province, client, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    def fake_geos() -> None:
        import shapely

        shapely._pw_saved = shapely.geos_version_string  # type: ignore[attr-defined]
        shapely.geos_version_string = "3.9.0-other"

    def restore() -> None:
        import shapely

        shapely.geos_version_string = shapely._pw_saved  # type: ignore[attr-defined]

    addr = sorted(client.scheduler_info()["workers"])[0]
    assert set(check_versions(client)) == set(client.scheduler_info()["workers"])
    client.run(fake_geos, workers=[addr])
    try:
        with pytest.raises(
            ProvinceError, match=rf"(?s)Refusing to run.*worker {addr}: GEOS 3.9.0-other \(here "
        ):
            run_province(province.store, tmp_path / "out", batch=synth.BATCH, client=client)
        assert not (tmp_path / "out").exists()  # refused before anything was written
    finally:
        client.run(restore, workers=[addr])
    check_versions(client)


def test_scheduler_and_two_worker_processes_give_the_same_output(
    province: Province, global_overlay: pd.DataFrame, tmp_path: Path
) -> None:
    """`dask scheduler` + 2 `dask worker` on 127.0.0.1, reached with --cluster tcp://...

    The workers run without a nanny only to start and stop faster on the test machine; worker
    restarts by the nanny are tested on the LocalCluster.
    """
    from distributed import Client

    dask_cli = Path(sys.executable).with_name("dask")
    sched_file = tmp_path / "scheduler.json"
    env = {**os.environ, "DASK_DISTRIBUTED__LOGGING__DISTRIBUTED": "error"}
    procs = [
        subprocess.Popen(
            [
                str(dask_cli),
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(sched_file),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        deadline = time.monotonic() + 60
        text = ""
        # the scheduler creates the file before it writes it: wait for the whole JSON document
        while time.monotonic() < deadline:
            text = sched_file.read_text() if sched_file.exists() else ""
            if text.rstrip().endswith("}"):
                break
            time.sleep(0.1)
        address = json.loads(text)["address"]
        for _ in range(2):
            procs.append(
                subprocess.Popen(
                    [
                        str(dask_cli),
                        "worker",
                        address,
                        "--host",
                        "127.0.0.1",
                        "--nthreads",
                        "1",
                        "--no-dashboard",
                        "--no-nanny",
                        "--memory-limit",
                        "2GiB",
                    ],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        with Client(address, timeout="30s") as c:
            c.wait_for_workers(2, timeout=60)
            assert len(c.scheduler_info()["workers"]) == 2
        out = tmp_path / "out"
        assert (
            main(
                [
                    "province",
                    "classify",
                    str(province.store),
                    "--batch",
                    synth.BATCH,
                    "-o",
                    str(out),
                    "--cluster",
                    address,
                ]
            )
            == 0
        )
        assert_same(read_results(out), global_overlay, what="scheduler + 2 workers")
        meta = [
            json.loads((out / "counties" / f"xzqdm={c}" / "meta.json").read_text()) for c in CODES
        ]
        assert all(
            m["pid"] not in (os.getpid(), procs[0].pid) for m in meta
        )  # computed in the workers
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)


def test_cluster_and_workers_both_given_is_a_usage_error(
    province: Province, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(
        [
            "province",
            "classify",
            str(province.store),
            "--batch",
            synth.BATCH,
            "-o",
            str(tmp_path / "o"),
            "--workers",
            "2",
            "--cluster",
            "tcp://127.0.0.1:1",
        ]
    )
    assert rc == 1
    assert "not both" in capsys.readouterr().err


def test_unreachable_scheduler_is_reported(
    province: Province, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    rc = main(
        [
            "province",
            "classify",
            str(province.store),
            "--batch",
            synth.BATCH,
            "-o",
            str(tmp_path / "o"),
            "--cluster",
            f"tcp://127.0.0.1:{port}",
        ]
    )
    assert rc == 1
    assert f"Cannot reach the dask scheduler at tcp://127.0.0.1:{port}" in capsys.readouterr().err


def test_store_layout_partitioned_by_text_code_with_bbox_and_locality(province: Province) -> None:
    import pyarrow.parquet as pq

    store = ProvinceStore(province.store)
    assert store.counties == CODES and store.batches == {synth.BATCH: CODES}
    assert sorted(store.roles) == ["buildings", "farmland", "greenhouses", "pbf", "townships"]
    f = province.store / "farmland" / "xzqdm=370101" / "part-0.parquet"
    schema = pq.read_schema(f)
    assert "bbox" in schema.names and "xzqdm" not in schema.names
    assert json.loads(schema.metadata[b"geo"])["columns"]["geometry"]["covering"]["bbox"][
        "xmin"
    ] == ["bbox", "xmin"]
    # a code with a leading zero stays text: read back as '010101', never 10101
    farm = store.read_county("farmland", "370101")
    assert len(farm) == len(province.data["370101"]["farmland"])
    # sorted along a Hilbert curve: consecutive rows are near each other
    c = shapely.centroid(np.asarray(farm.geometry.values))
    step = np.hypot(np.diff(shapely.get_x(c)), np.diff(shapely.get_y(c)))
    rnd = np.random.default_rng(0).permutation(len(c))
    step_random = np.hypot(np.diff(shapely.get_x(c)[rnd]), np.diff(shapely.get_y(c)[rnd]))
    assert np.median(step) < 0.5 * np.median(step_random)
    # extent reads cross partitions: a box on the 370101/370102 border gets both counties' pieces
    box = (
        synth.LON0 + synth.SIZE - 0.001,
        synth.LAT0 + 0.005,
        synth.LON0 + synth.SIZE + 0.001,
        synth.LAT0 + 0.006,
    )
    got = store.read_extent("farmland", box)
    assert {i[:6] for i in got["patch_id"]} == {"370101", "370102"}
    assert shapely.intersects(np.asarray(got.geometry.values), shapely.box(*box)).all()


def test_pack_reports_missing_files_and_bad_codes(province: Province, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"No delivery folder for county 370199"):
        main_raise(
            [
                "province",
                "pack",
                str(province.src),
                "--counties",
                "370101,370199",
                "--batch",
                "b",
                "--parcels",
                "卫片图斑.*",
                "-o",
                str(tmp_path / "s"),
            ]
        )
    with pytest.raises(Exception, match=r"'37010' .* is not a 6-digit"):
        main_raise(
            [
                "province",
                "pack",
                str(province.src),
                "--counties",
                "37010",
                "--batch",
                "b",
                "--parcels",
                "x.shp",
                "-o",
                str(tmp_path / "s"),
            ]
        )
    with pytest.raises(InputError, match=r"County 370103 has no parcels file .*nothing\.shp"):
        main_raise(
            [
                "province",
                "pack",
                str(province.src),
                "--counties",
                "370103",
                "--batch",
                "b",
                "--parcels",
                "nothing.shp",
                "-o",
                str(tmp_path / "s"),
            ]
        )
    with pytest.raises(Exception, match=r"Batch name 'a/b' cannot be used"):
        main_raise(
            [
                "province",
                "pack",
                str(province.src),
                "--batch",
                "a/b",
                "--parcels",
                "卫片图斑.*",
                "-o",
                str(tmp_path / "s"),
            ]
        )
    assert not (tmp_path / "s" / "province.json").exists()


def main_raise(argv: list[str]) -> None:
    from parcelwatch.cli import cli

    cli.main(args=argv, prog_name="parcelwatch", standalone_mode=False)


def test_pack_prefixes_ids_that_repeat_across_counties(tmp_path: Path) -> None:
    from parcelwatch.province import pack_frames

    a = gpd.GeoDataFrame(
        {"building_id": ["B1"], "use": ["住宅"]},
        geometry=[shapely.box(117, 36, 117.001, 36.001)],
        crs=4490,
    )
    p = gpd.GeoDataFrame(
        {"parcel_id": ["P1"]}, geometry=[shapely.box(117, 36, 117.002, 36.002)], crs=4490
    )
    rep = pack_frames(
        {
            "370101": {"parcels": p, "buildings": a},
            "370102": {"parcels": p.assign(parcel_id="P2"), "buildings": a},
        },
        tmp_path / "s",
        batch="b",
    )
    assert any(
        "buildings ids repeat across counties (B1 in 370101 and 370102)" in n for n in rep.notes
    )
    ids = sorted(
        ProvinceStore(tmp_path / "s").read_extent("buildings", (116, 35, 118, 37))["building_id"]
    )
    assert ids == ["370101:B1", "370102:B1"]


def test_no_dask_import_in_rules_io_or_pipeline() -> None:
    src = Path(__file__).resolve().parents[2] / "src" / "parcelwatch"
    for f in [
        *src.glob("rules/*.py"),
        *src.glob("io/*.py"),
        src / "pipeline" / "inputs.py",
        src / "province" / "task.py",
        src / "province" / "store.py",
    ]:
        text = f.read_text(encoding="utf-8")
        assert (
            "import dask" not in text
            and "from dask" not in text
            and "distributed" not in text.replace("dask.distributed", "")
        ), f


def test_write_back_into_county_ledgers_is_idempotent(
    province: Province, client, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """Each county's parcels land in its own ledger once (every 卫片 parcel is recorded, DOMAIN W1),
    with the province run's candidate class; a second write-back adds nothing."""
    from datetime import datetime, timedelta, timezone

    from parcelwatch.ledger.workspace import find_problems
    from parcelwatch.pipeline import init_workspace
    from parcelwatch.province import write_back

    now = datetime(2026, 12, 1, 9, 0, tzinfo=timezone(timedelta(hours=8)))
    out = tmp_path / "out"
    run_province(province.store, out, batch=synth.BATCH, client=client)
    result = read_results(out)
    for code in ("370101", "370102"):
        init_workspace(tmp_path / "ledgers" / code, county_code=code, now=now).close()
    first = write_back(
        province.store,
        tmp_path / "ledgers",
        batch=synth.BATCH,
        counties=CODES,
        now=now,
        user="省厅",
    )
    assert set(first.counts) == {"370101", "370102"}
    assert any("370103 无台账工作区" in n for n in first.notes) and any(
        "370104" in n for n in first.notes
    )
    for code in ("370101", "370102"):
        mine = result[result["xzqdm"] == code]
        recs = find_problems(tmp_path / "ledgers" / code)
        assert sorted(p for r in recs for p in r.parcel_ids) == sorted(mine["parcel_id"])
        ledger_class = {p: r.candidate_class for r in recs for p in r.parcel_ids}
        problems = mine[mine["problem_class"] != "none"]
        assert len(problems) and {p: ledger_class[p] for p in problems["parcel_id"]} == dict(
            zip(problems["parcel_id"], problems["problem_class"], strict=True)
        )
        assert first.counts[code]["new"] == len(recs) and first.events[code] > 0
    again = write_back(
        province.store,
        tmp_path / "ledgers",
        batch=synth.BATCH,
        counties=CODES,
        now=now + timedelta(days=1),
        user="省厅",
    )
    assert again.events == {"370101": 0, "370102": 0}
    assert [len(find_problems(tmp_path / "ledgers" / c)) for c in ("370101", "370102")] == [
        first.counts[c]["new"] for c in ("370101", "370102")
    ]


def test_county_task_overlays_in_the_zone_the_county_delivered(
    province: Province, tmp_path: Path
) -> None:
    """A county delivering in GK zone 40 (EPSG:4549) near 117E: the county CLI overlays in zone 40
    (from the farmland CRS), the longitude would say zone 39. The store is EPSG:4490, so pack
    records the zone, and the county task equals the CLI; in zone 39 it would not."""
    from parcelwatch.province import pack_province
    from parcelwatch.province.task import classify_frames, county_inputs

    code = "370103"
    src = tmp_path / "deliveries" / code
    src.mkdir(parents=True)
    layers = {r: g.to_crs("EPSG:4549") for r, g in province.data[code].items()}
    for layer, role in (("DLTB", "farmland"), ("YJJBNTTB", "pbf"), ("XZQ", "townships")):
        pyogrio.write_dataframe(layers[role], src / "基础数据.gpkg", layer=layer, driver="GPKG")
    for role, name in (
        ("buildings", "建筑物.gpkg"),
        ("greenhouses", "大棚.gpkg"),
        ("parcels", "卫片图斑.gpkg"),
    ):
        pyogrio.write_dataframe(layers[role], src / name, driver="GPKG")
    pack_province(
        tmp_path / "deliveries",
        tmp_path / "store",
        batch=synth.BATCH,
        parcels="卫片图斑.gpkg",
        layers={k: v for k, v in synth.FILES.items() if k != "parcels"},
    )
    assert ProvinceStore(tmp_path / "store").zones == {code: 40}
    res = county_task(str(tmp_path / "store"), code, synth.BATCH)
    assert "zone 40" in res.notes[0]
    argv = [
        "classify",
        "--parcels",
        str(src / "卫片图斑.gpkg"),
        "--farmland",
        f"{src / '基础数据.gpkg'}:DLTB",
        "--pbf",
        f"{src / '基础数据.gpkg'}:YJJBNTTB",
    ]
    argv += [
        "--townships",
        f"{src / '基础数据.gpkg'}:XZQ",
        "--buildings",
        str(src / "建筑物.gpkg"),
        "--greenhouses",
        str(src / "大棚.gpkg"),
        "-o",
        str(tmp_path / "cli.gpkg"),
    ]
    assert main(argv) == 0
    cli = (
        pyogrio.read_dataframe(tmp_path / "cli.gpkg", layer="parcels")
        .set_index("parcel_id")
        .sort_index()
    )
    got = res.parcels.set_index("parcel_id").sort_index()
    for c in ("farmland_m2", "pbf_m2", "building_farmland_m2"):
        assert (got[c] - cli[c]).abs().max() <= 1e-6, c
    _, in_39 = classify_frames(county_inputs(tmp_path / "store", code, synth.BATCH), zone=39)
    wrong = in_39.parcels.set_index("parcel_id").sort_index()
    assert (wrong["farmland_m2"] - cli["farmland_m2"]).abs().max() > 1e-6
