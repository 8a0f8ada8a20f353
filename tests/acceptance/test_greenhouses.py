"""0.P8 greenhouse registry: numbering, import errors, visits, coverage, exports, 项目总棚数, score.

Scene in EPSG:4549 (GK zone 40, central meridian 120°E) at X0 = 390 km: the areal scale there is
1.0000x, so a 100 m x 50 m box has 5000 m² on the ellipsoid to within 0.2 %.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import geopandas as gpd
import openpyxl
import pyogrio
import pytest
import shapely

from parcelwatch.acceptance.greenhouses import (
    coverage,
    greenhouse_counts,
    import_greenhouses,
    record_visits,
    write_registry_layer,
    write_registry_xlsx,
)
from parcelwatch.acceptance.records import RecordBook
from parcelwatch.cli import main
from parcelwatch.errors import InputError, LedgerError
from parcelwatch.exports.forms import write_self_check_form
from parcelwatch.ledger.model import ProblemRecord, Status
from parcelwatch.ledger.workspace import open_workspace
from parcelwatch.pipeline import init_workspace
from tests.conftest import X0, Y0

NOW = datetime(2021, 5, 22, 9, 0, tzinfo=timezone(timedelta(hours=8)))


def box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def layer(rows: list[dict], geoms: list) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=4549)


def three() -> gpd.GeoDataFrame:
    base = {"乡镇": "禾丰镇", "组": "3组", "建设主体": "某合作社", "类型": "日光温室",
            "土地流转情况": "流转", "建设时间": "2017", "生产情况": "种植", "标识": "全"}  # fmt: skip
    return layer(
        [
            {**base, "村": "邓家集村"},
            {**base, "村": "邓家集村", "标识": "不全"},
            {**base, "村": "东河村"},
        ],
        [box(0, 0, 100, 50), box(200, 0, 300, 50), box(400, 0, 500, 50)],
    )


@pytest.fixture
def book(tmp_path: Path):
    init_workspace(tmp_path / "ws", county_code="370790", county_name="禾丰县", now=NOW)
    ws = open_workspace(tmp_path / "ws")
    yield RecordBook(ws.store)
    ws.close()


def test_numbers_size_and_continuation(book: RecordBook) -> None:
    ids = import_greenhouses(book, three(), source="大棚.gpkg", user="张某", now=NOW)
    assert ids == ["禾丰镇-邓家集村-3组-001", "禾丰镇-邓家集村-3组-002", "禾丰镇-东河村-3组-001"]
    reg = {r["greenhouse_no"]: r for r in book.all("greenhouse_registry")}
    assert float(reg[ids[0]]["size_m2"]) == pytest.approx(5000, rel=2e-3)
    more = import_greenhouses(book, three().iloc[:1], source="b.gpkg", user="张某", now=NOW)
    assert more == ["禾丰镇-邓家集村-3组-003"]
    assert book.replay("greenhouse_registry") == book.all("greenhouse_registry")


def test_bad_type_names_feature_and_changes_nothing(book: RecordBook) -> None:
    g = three()
    g.loc[1, "类型"] = "草棚"
    with pytest.raises(InputError, match=r"大棚.gpkg feature 2: 类型 '草棚'; use one of 塑料大棚"):
        import_greenhouses(book, g, source="大棚.gpkg", user="张某", now=NOW)
    assert book.all("greenhouse_registry") == []
    with pytest.raises(InputError, match="no column 村"):
        import_greenhouses(book, three().drop(columns=["村"]), source="x", user="张某", now=NOW)


def test_visits_coverage_and_refusal(book: RecordBook, tmp_path: Path) -> None:
    ids = import_greenhouses(book, three(), source="s", user="张某", now=NOW)
    record_visits(book, [ids[0]], on=date(2021, 5, 22), by="张某", user="张某", now=NOW)
    with pytest.raises(
        LedgerError, match="row 3: greenhouse '禾丰镇-邓家集村-3组-999' is not in the registry"
    ):
        record_visits(book, [ids[1], "禾丰镇-邓家集村-3组-999"], on=date(2021, 5, 23), by="李某",
                      user="李某", now=NOW, source="visits.xlsx")  # fmt: skip
    cov = {c.village: (c.visited, c.registered) for c in coverage(book.all("greenhouse_registry"))}
    assert cov == {"禾丰镇邓家集村": (1, 2), "禾丰镇东河村": (0, 1)}
    assert len(book.all("greenhouse_visits")) == 1
    reg = book.all("greenhouse_registry")
    out = tmp_path / "棚室台账.xlsx"
    write_registry_xlsx(reg, out, county_name="禾丰县")
    wb = openpyxl.load_workbook(out)
    assert wb["棚室台账"]["A3"].value == "棚室编号"
    nos = [wb["棚室台账"].cell(r, 1).value for r in range(4, 7)]
    assert sorted(nos) == sorted(ids)
    cv = wb["入棚核查覆盖率"]
    assert [cv.cell(r, 4).value for r in (4, 5)] == [0.0, 0.5]
    gpkg = write_registry_layer(reg, tmp_path / "棚室台账.gpkg")
    back = pyogrio.read_dataframe(gpkg, layer="棚室台账")
    assert back.crs.to_epsg() == 4490 and sorted(back["棚室编号"]) == sorted(ids)


def test_greenhouses_inside_problem_fill_total_count(book: RecordBook, tmp_path: Path) -> None:
    """Problem box x 0..260: greenhouse 1 fully inside, 2 (200..300) 60 % inside, 3 outside -> 2.
    Shrunk to x 0..230: greenhouse 2 is 30 % inside -> 1."""
    import_greenhouses(book, three(), source="s", user="张某", now=NOW)
    reg = book.all("greenhouse_registry")
    to4490 = lambda g: gpd.GeoSeries([g], crs=4549).to_crs(4490).iloc[0]  # noqa: E731
    p = ProblemRecord(problem_id="370790-2021-000001", status=Status.RECTIFYING, candidate_class="I",
                      geometry=to4490(box(-10, -10, 260, 60)))  # fmt: skip
    assert greenhouse_counts([p], reg) == {p.problem_id: 2}
    q = ProblemRecord(**{**p.values()}, geometry=to4490(box(-10, -10, 230, 60)))
    assert greenhouse_counts([q], reg) == {p.problem_id: 1}
    out = write_self_check_form([p], tmp_path / "z.xlsx", today=date(2021, 6, 1),
                                greenhouse_counts=greenhouse_counts([p], reg))  # fmt: skip
    ws = openpyxl.load_workbook(out)["自验表"]
    assert ws.cell(6, 6).value == "个" and ws.cell(7, 6).value == 2


def test_cli_registry_round_and_score(tmp_path: Path, capsys) -> None:
    ws = tmp_path / "ws"
    init_workspace(ws, county_code="370790", county_name="禾丰县", now=NOW)
    src = tmp_path / "大棚.gpkg"
    pyogrio.write_dataframe(three(), src)
    assert (
        main(["greenhouses", "import", str(ws), "--greenhouses", str(src), "--user", "张某"]) == 0
    )
    sheet = tmp_path / "visits.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["棚室编号"])
    for n in ("禾丰镇-邓家集村-3组-001", "禾丰镇-邓家集村-3组-002", "禾丰镇-东河村-3组-001"):
        wb.active.append([n])
    wb.save(sheet)
    assert main(["greenhouses", "visit", str(ws), "--import", str(sheet), "--on", "2021-05-22",
                 "--by", "张某", "--user", "张某"]) == 0  # fmt: skip
    assert main(["greenhouses", "list", str(ws)]) == 0
    out = capsys.readouterr().out
    assert "禾丰镇邓家集村: 已核查 2/2" in out and "3 次入棚核查已记录" in out
    assert main(["greenhouses", "export", str(ws), "-o", str(tmp_path / "r.xlsx")]) == 0
    assert main(["acceptance", "score", str(ws)]) == 0
    lines = {x.split()[0]: x for x in capsys.readouterr().out.splitlines() if x.strip()}
    assert "2.00    2.00" in lines["5.5"]  # every field filled -> 详实
    assert "2.00    1.00" in lines["5.6"]  # one 不全 -> 1
    assert "2.00    2.00" in lines["6.1.2"]
    assert "问题台账为空" in lines["5.1"]  # no problems: 5.1 scores 0 whatever the visits
