"""The planted cases: a hand-designed 3 km x 2 km district of the county.

The *case region* is a 10 x 8 grid of field blocks (300 m x 250 m pitch, 6 m roads; the road at
x = 1500 m is a 12 m county road and the boundary between 禾丰镇 (west) and 东河乡 (east)). All
coordinates here are case-local metres from the region's south-west corner; the region is not
warped, so case-local + offset = EPSG:4549. Block (i, j) is column i (west to east), row j
(south to north)::

    j\\i  0     1      2      3      4      5      6      7      8      9
    7    Vb    P      P/C01  P/C09  .      .      N2     .      .      .
    6    Vb    P/C05  P/C06  P/C07  C10    .      .      C17    .      N1
    5    C08   P/C02  P/C03  P/C04  .      .      .      .      C13    .
    4    .     P      P      P      .      C16    .      .      .      Vd
    3    .     .      .      .      .      .      C12    .      .      Vd
    2    .     .      .      .      .      .      .      .      C11    .
    1    .     .      Va     .      C18    C18    .      C14    .      C15
    0    .     .      Va     .      .      Vc     Vc     .      .      .

P = the agricultural park YQ001 (solar greenhouses on 水浇地; block (3, 7) is filed facility land),
Va..Vd = village settlements, "." = ordinary fields. Each case sits in its own block so that
the expectations do not depend on the random background. The imagery covers x 0-2000 m,
y 500-2000 m.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

__all__ = [
    "CASE_IMAGERY_BOX",
    "CaseBuilding",
    "CaseParcel",
    "CaseApproval",
    "CaseGreenhouse",
    "CaseFinding",
    "CaseDesign",
    "block_origin",
    "design_cases",
    "FORCED_BLOCKS",
    "PARK_BLOCKS",
    "VILLAGE_BLOCKS",
    "case_village",
    "case_township",
]

# Case-local window of the before/after imagery (x0, y0, x1, y1).
CASE_IMAGERY_BOX = (0.0, 500.0, 2000.0, 2000.0)

PARK_BLOCKS = tuple((i, j) for i in (1, 2, 3) for j in (4, 5, 6, 7))
# Blocks forced to 水浇地 (0102, KCXS 0); value = part of 永久基本农田.
FORCED_BLOCKS: dict[tuple[int, int], bool] = {
    (0, 5): False, (5, 4): True, (6, 3): True, (8, 2): False, (8, 5): False, (7, 1): False,
    (9, 1): False, (7, 6): False, (4, 1): False, (5, 1): False, (9, 6): False, (6, 7): False,
}  # fmt: skip
# village settlement blocks -> village key (a, b west = 禾丰镇; c, d east = 东河乡)
VILLAGE_BLOCKS: dict[tuple[int, int], str] = {
    (0, 6): "b", (0, 7): "b", (2, 0): "a", (2, 1): "a", (5, 0): "c", (6, 0): "c", (9, 3): "d", (9, 4): "d",
}  # fmt: skip


def case_township(i: int) -> int:
    """Township index (0 = 禾丰镇, 1 = 东河乡) of case column ``i``."""
    return 0 if i < 5 else 1


def case_village(i: int, j: int) -> str:
    """Village key of case block (i, j): a/b west (south/north half), c/d east."""
    west = i < 5
    south = j < 4
    return ("a" if south else "b") if west else ("c" if south else "d")


def block_origin(i: int, j: int) -> tuple[float, float]:
    """Case-local SW corner of block (i, j) (west road 6 m, 12 m at i = 5; south road 6 m)."""
    return 300.0 * i + (12.0 if i == 5 else 6.0), 250.0 * j + 6.0


def block_size(i: int, j: int) -> tuple[float, float]:
    x0, y0 = block_origin(i, j)
    return 300.0 * (i + 1) - x0, 250.0 * (j + 1) - y0


def _box(
    i: int, j: int, x0: float, y0: float, x1: float, y1: float
) -> tuple[float, float, float, float]:
    bx, by = block_origin(i, j)
    return (bx + x0, by + y0, bx + x1, by + y1)


# Fixed solar-greenhouse layout of park blocks: 80 m x 10 m houses, 15 m column gaps, 10 m row
# gaps, centred: 3 columns x 11 rows in a 294 m x 244 m block.
SOLAR_LEN, SOLAR_WID, SOLAR_GAP_X, SOLAR_GAP_Y = 80.0, 10.0, 15.0, 10.0


def solar_slot(i: int, j: int, col: int, row: int) -> tuple[float, float, float, float]:
    """Case-local box of the solar greenhouse at (col, row) of park block (i, j)."""
    bw, bh = block_size(i, j)
    ncol = int((bw - 24 + SOLAR_GAP_X) // (SOLAR_LEN + SOLAR_GAP_X))
    nrow = int((bh - 24 + SOLAR_GAP_Y) // (SOLAR_WID + SOLAR_GAP_Y))
    offx = (bw - (ncol * SOLAR_LEN + (ncol - 1) * SOLAR_GAP_X)) / 2
    offy = (bh - (nrow * SOLAR_WID + (nrow - 1) * SOLAR_GAP_Y)) / 2
    x0 = offx + col * (SOLAR_LEN + SOLAR_GAP_X)
    y0 = offy + row * (SOLAR_WID + SOLAR_GAP_Y)
    return _box(i, j, x0, y0, x0 + SOLAR_LEN, y0 + SOLAR_WID)


@dataclass
class CaseGreenhouse:
    box: tuple[float, float, float, float]
    kind: str  # 日光温室 / 塑料大棚 / 连栋温室
    park: str | None
    case: str | None = None  # case that uses it
    before: bool = True  # visible on before.tif


@dataclass
class CaseBuilding:
    key: str
    case: str
    box: tuple[float, float, float, float]
    use: str | None
    storeys: int | None
    height: float | None
    batch1: bool = True  # in 建筑物.shp
    batch2: bool = True  # in 建筑物_2026年第2批.shp
    before: bool = True  # visible on before.tif
    after: bool = True  # visible on after.tif


@dataclass
class CaseParcel:
    key: str
    batch: int
    ring: list[tuple[float, float]]  # case-local vertices (not closed)
    change_type: str  # 图斑类型
    cases: tuple[str, ...]
    same_as: str | None = None  # batch-1 parcel key
    recheck: str = "new"  # new / same / rebound
    remark: str = ""


@dataclass
class CaseApproval:
    doc: str
    kind: str
    project: str
    day: date
    use: str | None
    box: tuple[float, float, float, float]


@dataclass
class CaseFinding:
    """One expected row: a footprint (or none) in a parcel, with its expected class."""

    case: str
    parcel: str
    building: str | None
    expected: str  # I, II, III, conversion, none
    rule: str
    note: str
    suggested: str | None = None  # 合法 / 其他 when an approval covers the footprint
    approval: str | None = None
    unset_region_class: str | None = None  # class when the region is not configured


@dataclass
class CaseDesign:
    greenhouses: list[CaseGreenhouse] = field(default_factory=list)
    buildings: list[CaseBuilding] = field(default_factory=list)
    parcels: list[CaseParcel] = field(default_factory=list)
    approvals: list[CaseApproval] = field(default_factory=list)
    findings: list[CaseFinding] = field(default_factory=list)
    park_box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    block_patches: dict[tuple[int, int], list[tuple[float, float, float, float, str]]] = field(
        default_factory=dict
    )
    imagery: list[dict[str, str]] = field(default_factory=list)
    bare_after: list[tuple[float, float, float, float]] = field(default_factory=list)
    bare_before: list[tuple[float, float, float, float]] = field(default_factory=list)
    titles: dict[str, str] = field(default_factory=dict)


def _outline(
    box: tuple[float, float, float, float], rng: np.random.Generator, jitter: float = 3.0
) -> list[tuple[float, float]]:
    """16 vertices around ``box``: corners and 3 points per side, pushed outwards by 0..jitter m."""
    x0, y0, x1, y1 = box
    f = np.array([0.25, 0.5, 0.75]) + rng.uniform(-0.08, 0.08, 3)
    d = rng.uniform(0.0, jitter, 16)
    pts: list[tuple[float, float]] = [(x0 - d[0], y0 - d[1])]
    pts += [(x0 + (x1 - x0) * t, y0 - d[2 + k]) for k, t in enumerate(f)]
    pts += [(x1 + d[5], y0 - d[6])]
    pts += [(x1 + d[7 + k % 2], y0 + (y1 - y0) * t) for k, t in enumerate(f)]
    pts += [(x1 + d[9], y1 + d[10])]
    pts += [(x1 - (x1 - x0) * t, y1 + d[11 + k]) for k, t in enumerate(f)]
    pts += [(x0 - d[14], y1 + d[15])]
    pts += [(x0 - d[(k + 3) % 16], y1 - (y1 - y0) * t) for k, t in enumerate(f)]
    return [(round(x, 2), round(y, 2)) for x, y in pts]


def _shifted(
    box: tuple[float, float, float, float], dx: float, dy: float, sx: float, sy: float
) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2 + dx, (y0 + y1) / 2 + dy
    hw, hh = (x1 - x0) / 2 * sx, (y1 - y0) / 2 * sy
    return (cx - hw, cy - hh, cx + hw, cy + hh)


def design_cases() -> CaseDesign:
    """All planted cases, in case-local metres. Deterministic (independent of the seed)."""
    rng = np.random.default_rng(370790)
    d = CaseDesign()
    d.park_box = (306.0, 1006.0, 1200.0, 2000.0)

    # --- land use of the special blocks (block-local rectangles + DLBM) ---------------------
    for i, j in PARK_BLOCKS:
        bw, bh = block_size(i, j)
        d.block_patches[(i, j)] = [(0.0, 0.0, bw, bh, "1202" if (i, j) == (3, 7) else "0102")]
    bw, bh = block_size(4, 6)
    d.block_patches[(4, 6)] = [(0.0, 0.0, 194.0, bh, "1202"), (194.0, 0.0, bw, bh, "0102")]

    # --- greenhouses ------------------------------------------------------------------------
    for i, j in PARK_BLOCKS:
        if (i, j) == (3, 7):
            continue
        rows = range(5) if (i, j) == (2, 7) else range(11)
        for row in rows:
            for col in range(3):
                d.greenhouses.append(
                    CaseGreenhouse(solar_slot(i, j, col, row), "日光温室", "YQ001")
                )
    for row in range(4):  # a few greenhouses beside village b, outside the park
        for col in range(2):
            d.greenhouses.append(CaseGreenhouse(solar_slot(0, 5, col, row), "日光温室", None))
    for x0 in (24.0, 134.0):  # two new multi-span houses on filed facility land (C09)
        d.greenhouses.append(
            CaseGreenhouse(
                _box(3, 7, x0, 34.0, x0 + 80.0, 84.0), "连栋温室", "YQ001", "C09", before=False
            )
        )
    for x0 in (14.0, 26.0, 38.0):  # plastic tunnels on the filed land of C10
        d.greenhouses.append(
            CaseGreenhouse(_box(4, 6, x0, 120.0, x0 + 8.0, 180.0), "塑料大棚", None, "C10")
        )

    B = CaseBuilding
    gh = solar_slot
    # --- buildings (key, case, box, YT, CS, GD) --------------------------------------------
    c02 = gh(1, 5, 1, 5)
    c03 = gh(2, 5, 2, 3)
    c04 = gh(3, 5, 1, 7)
    c05 = gh(1, 6, 2, 2)
    c06 = gh(2, 6, 1, 8)
    c07 = gh(3, 6, 2, 4)
    d.buildings += [
        B(
            "C01-villa",
            "C01",
            _box(2, 7, 30, 170, 44, 183),
            "别墅",
            2,
            7.2,
            batch2=False,
            after=False,
        ),
        B(
            "C01-food",
            "C01",
            _box(2, 7, 90, 160, 114, 172),
            "餐饮",
            1,
            4.5,
            batch2=False,
            after=False,
        ),
        B(
            "C02-food",
            "C02",
            (c02[0] + 23, c02[1] + 1, c02[0] + 31, c02[1] + 9),
            "餐饮",
            1,
            3.2,
            batch2=False,
            before=False,
            after=False,
        ),
        B(
            "C03-unknown",
            "C03",
            (c03[0] + 38, c03[1] + 1, c03[0] + 47, c03[1] + 7),
            None,
            1,
            None,
            before=False,
        ),
        B(
            "C04-care2",
            "C04",
            (c04[0] - 7, c04[1] + 3, c04[0] - 3, c04[1] + 7),
            "看护房",
            2,
            6.2,
            before=False,
        ),
        B(
            "C05-care28",
            "C05",
            (c05[0] - 7, c05[1] + 1.5, c05[0] - 3, c05[1] + 8.5),
            "看护房",
            1,
            3.0,
            before=False,
        ),
        B(
            "C06-care12",
            "C06",
            (c06[0] - 5, c06[1] + 3, c06[0] - 2, c06[1] + 7),
            "看护房",
            1,
            2.8,
            before=False,
        ),
        B(
            "C07-care20",
            "C07",
            (c07[0] - 7, c07[1] + 2.5, c07[0] - 3, c07[1] + 7.5),
            "管护房",
            1,
            2.9,
            before=False,
        ),
        B(
            "C08-unknown",
            "C08",
            _box(0, 5, 40, 111, 48, 117),
            None,
            1,
            None,
            batch2=False,
            after=False,
        ),
        B("C09-care", "C09", _box(3, 7, 107, 40, 111, 43.5), "管理房", 1, 2.9, before=False),
        B("C10-steel", "C10", _box(4, 6, 94, 54, 134, 79), "厂房", 1, 9.0, before=False),
        B("C11-factory", "C11", _box(8, 2, 124, 94, 154, 114), "厂房", 1, 7.5),
        B("C12-house", "C12", _box(6, 3, 94, 94, 106, 104), "住宅", 2, 6.4, before=False),
        B("C13-a", "C13", _box(8, 5, 64, 60, 114, 100), "厂房", 1, 8.5),
        B("C13-b", "C13", _box(8, 5, 129, 60, 179, 100), "厂房", 1, 8.5),
        B("C13-c", "C13", _box(8, 5, 64, 115, 114, 155), "厂房", 1, 8.5),
        B("C13-d", "C13", _box(8, 5, 129, 115, 179, 155), "仓储", 1, 8.5),
        B("C14-factory", "C14", _box(7, 1, 94, 84, 129, 104), "厂房", 1, 8.0),
        B("C15-store", "C15", _box(9, 1, 94, 124, 114, 139), "仓储", 1, 4.0),
        B("C17-factory", "C17", _box(7, 6, 114, 94, 144, 110), "厂房", 1, 7.0),
        B("C18-house", "C18", (1455.0, 355.0, 1470.0, 365.0), "住宅", 1, 3.6),
        B(
            "R02-food",
            "C02",
            (c02[0] + 19, c02[1] + 1, c02[0] + 35, c02[1] + 9),
            "餐饮",
            1,
            3.4,
            batch1=False,
            before=False,
        ),
        B(
            "N1-factory",
            "N1",
            _box(9, 6, 54, 54, 79, 72),
            "厂房",
            1,
            7.0,
            batch1=False,
            before=False,
        ),
    ]

    # --- approvals --------------------------------------------------------------------------
    d.approvals += [
        CaseApproval(
            "鲁政土字〔2025〕123号",
            "建设用地",
            "禾丰县东河乡农产品加工项目",
            date(2025, 6, 18),
            None,
            _box(7, 1, 64, 54, 184, 144),
        ),
        CaseApproval(
            "禾临用〔2026〕3号",
            "临时用地",
            "禾丰至东河公路改建工程施工临时用地（材料堆场）",
            date(2026, 1, 12),
            None,
            _box(9, 1, 54, 94, 194, 184),
        ),
        CaseApproval(
            "禾自然资设备〔2025〕7号",
            "设施农用地备案",
            "禾丰县绿源蔬菜种植专业合作社设施农业项目",
            date(2025, 3, 2),
            "蔬菜种植",
            _box(4, 6, 0, 0, 194, 244),
        ),
        CaseApproval(
            "禾自然资设备〔2025〕12号",
            "设施农用地备案",
            "禾丰县菌香食用菌生产基地",
            date(2025, 5, 20),
            "食用菌生产",
            _box(3, 7, 0, 0, 294, 244),
        ),
    ]

    # --- parcels ----------------------------------------------------------------------------
    P = CaseParcel
    boxes = {
        "C01": _box(2, 7, 15, 145, 129, 198),
        "C02": (c02[0] + 5, c02[1] - 14, c02[0] + 49, c02[1] + 24),
        "C03": (c03[0] + 23, c03[1] - 14, c03[0] + 62, c03[1] + 22),
        "C04": (c04[0] - 21, c04[1] - 11, c04[0] + 11, c04[1] + 21),
        "C05": (c05[0] - 21, c05[1] - 12, c05[0] + 11, c05[1] + 22),
        "C06": (c06[0] - 17, c06[1] - 11, c06[0] + 10, c06[1] + 21),
        "C07": (c07[0] - 20, c07[1] - 12, c07[0] + 10, c07[1] + 22),
        "C08": _box(0, 5, 26, 98, 62, 130),
        "C09": _box(3, 7, 12, 22, 226, 96),
        "C10": _box(4, 6, 79, 40, 149, 94),
        "C11": _box(8, 2, 104, 76, 174, 132),
        "C12": _box(6, 3, 80, 80, 120, 118),
        "C13": _box(8, 5, 46, 42, 197, 173),
        "C14": _box(7, 1, 78, 68, 146, 120),
        "C15": _box(9, 1, 80, 110, 128, 153),
        "C16": _box(5, 4, 88, 74, 168, 134),
        "C18": (1440.0, 330.0, 1580.0, 400.0),
        "N1": _box(9, 6, 40, 40, 94, 86),
        "N2": _box(6, 7, 100, 60, 170, 120),
    }
    types = {
        "C01": "大棚房", "C02": "大棚房", "C03": "大棚房", "C04": "大棚房", "C05": "大棚房",
        "C06": "大棚房", "C07": "大棚房", "C08": "新增建设用地", "C09": "其他", "C10": "新增建设用地",
        "C11": "新增建设用地", "C12": "新增建设用地", "C13": "新增建设用地", "C14": "新增建设用地",
        "C15": "新增建设用地", "C16": "推填土", "C17": "新增建设用地", "C18": "新增建设用地",
        "N1": "新增建设用地", "N2": "推填土",
    }  # fmt: skip
    outlines = {k: _outline(b, rng) for k, b in boxes.items()}
    # C11: a digitising error -- the east end is a bowtie (two edges cross at x = 204 m).
    bx, by = block_origin(8, 2)
    xa, xb, ya, yb = bx + 104, bx + 174, by + 76, by + 132
    outlines["C11"] = [
        (xa, ya), (bx + 130, by + 74), (bx + 150, by + 77), (xb, ya), (xb + 30, yb), (xb + 30, ya),
        (xb, yb), (bx + 150, by + 134), (bx + 128, by + 131), (xa, yb), (xa - 2, by + 104),
    ]  # fmt: skip
    # C17: two parcels sharing the edge x = 132 m; the factory straddles it (18 m west, 12 m east).
    bx, by = block_origin(7, 6)
    xm = bx + 132
    outlines["C17a"] = [
        (bx + 74, by + 79),
        (bx + 100, by + 76),
        (xm, by + 78),
        (xm, by + 128),
        (bx + 101, by + 131),
        (bx + 73, by + 126),
        (bx + 71, by + 101),
    ]
    outlines["C17b"] = [
        (xm, by + 78),
        (bx + 160, by + 75),
        (bx + 184, by + 79),
        (bx + 186, by + 104),
        (bx + 183, by + 129),
        (bx + 158, by + 130),
        (xm, by + 128),
    ]
    for key in (
        "C01",
        "C02",
        "C03",
        "C04",
        "C05",
        "C06",
        "C07",
        "C08",
        "C09",
        "C10",
        "C11",
        "C12",
        "C13",
        "C14",
        "C15",
        "C16",
    ):
        d.parcels.append(P(key, 1, outlines[key], types[key], (key,)))
    d.parcels.append(P("C17a", 1, outlines["C17a"], "新增建设用地", ("C17",)))
    d.parcels.append(P("C17b", 1, outlines["C17b"], "新增建设用地", ("C17",)))
    d.parcels.append(
        P("C18", 1, outlines["C18"], "新增建设用地", ("C18",), remark="跨乡镇（禾丰镇/东河乡）")
    )
    # batch 2: redrawn (shift and scale of the box, new outline), one identical, two new sites
    redraw = {
        "C02": (5.0, -4.0, 1.12, 0.92),
        "C10": (-4.0, 3.0, 1.0, 1.08),
        "C11": (6.0, 0.0, 1.1, 1.0),
        "C13": (8.0, 6.0, 0.92, 1.06),
    }
    for key, (dx, dy, sx, sy) in redraw.items():
        d.parcels.append(
            P("R02" if key == "C02" else "S" + key[1:], 2, _outline(_shifted(boxes[key], dx, dy, sx, sy), rng),
              types[key], (key,), same_as=key, recheck="rebound" if key == "C02" else "same")
        )  # fmt: skip
    d.parcels.append(
        P("S12", 2, outlines["C12"], types["C12"], ("C12",), same_as="C12", recheck="same")
    )
    d.parcels.append(P("N1", 2, outlines["N1"], types["N1"], ("N1",)))
    d.parcels.append(P("N2", 2, outlines["N2"], types["N2"], ("N2",)))
    d.parcels.sort(key=lambda p: (p.batch, _ORDER.index(p.key)))

    # --- imagery: what the before/after images show at each site ----------------------------
    d.bare_after.append(_box(2, 7, 22, 152, 122, 191))  # C01 demolished, left bare
    d.bare_before.append(_box(3, 7, 10, 20, 230, 100))  # C09 site being prepared
    d.imagery = [
        {
            "case": "C01",
            "scenario": "整改存疑",
            "before": "别墅和餐饮房屋屋顶",
            "after": "裸土（已拆除但未复耕）",
            "hint": "整改存疑",
        },
        {
            "case": "C02",
            "scenario": "疑似反弹",
            "before": "大棚薄膜（餐饮房已拆除，第1批销号时状态）",
            "after": "大棚内新建房屋屋顶（R02-food）",
            "hint": "疑似反弹",
        },
        {
            "case": "C08",
            "scenario": "复耕属实",
            "before": "房屋屋顶",
            "after": "作物",
            "hint": "整改属实",
        },
        {
            "case": "C16",
            "scenario": "伪变化",
            "before": "作物",
            "after": "作物（无变化）",
            "hint": "疑似伪变化",
        },
        {
            "case": "C03",
            "scenario": "新增建设",
            "before": "大棚薄膜",
            "after": "大棚内房屋屋顶",
            "hint": "新增建设",
        },
        {
            "case": "C04",
            "scenario": "新增建设",
            "before": "作物",
            "after": "看护房屋顶",
            "hint": "新增建设",
        },
        {
            "case": "C05",
            "scenario": "新增建设",
            "before": "作物",
            "after": "看护房屋顶",
            "hint": "新增建设",
        },
        {
            "case": "C06",
            "scenario": "新增建设",
            "before": "作物",
            "after": "看护房屋顶",
            "hint": "新增建设",
        },
        {
            "case": "C07",
            "scenario": "新增建设",
            "before": "作物",
            "after": "管护房屋顶",
            "hint": "新增建设",
        },
        {
            "case": "C09",
            "scenario": "新建大棚",
            "before": "裸土（平整场地）",
            "after": "连栋温室薄膜和管理房",
            "hint": "新建大棚",
        },
        {
            "case": "C10",
            "scenario": "新增建设",
            "before": "设施农用地地面（裸土）",
            "after": "钢结构厂房屋顶",
            "hint": "新增建设",
        },
        {
            "case": "C12",
            "scenario": "新增建设",
            "before": "作物",
            "after": "住宅屋顶",
            "hint": "新增建设",
        },
    ]
    d.titles = dict(_TITLES)
    d.findings = _findings()
    return d


_ORDER = ["C01", "C02", "C03", "C04", "C05", "C06", "C07", "C08", "C09", "C10", "C11", "C12", "C13",
          "C14", "C15", "C16", "C17a", "C17b", "C18", "R02", "S10", "S11", "S12", "S13", "N1", "N2"]  # fmt: skip

_TITLES = {
    "C01": "Class I: villa and restaurant in the park, outside greenhouses",
    "C02": "Class II: restaurant inside a greenhouse on 水浇地 (rebound in batch 2)",
    "C03": "Class II: unknown-use building inside a greenhouse",
    "C04": "Class III: two-storey 看护房 beside a greenhouse",
    "C05": "Class III: single-storey 看护房 of 28 m² (> 22.5 m²)",
    "C06": "caretaker room of 12 m², single storey (within limits)",
    "C07": "管护房 of 20 m², single storey (within north 22.5, over the strictest 15)",
    "C08": "Class I: unknown-use building of 48 m² 24 m from greenhouses, on 水浇地",
    "C09": "new multi-span greenhouses with a proper 管理房 on filed facility land",
    "C10": "Class I: steel-frame factory on filed facility land (1202)",
    "C11": "farmland conversion: factory on 水浇地 far from greenhouses (bowtie parcel)",
    "C12": "farmland conversion on 永久基本农田 (priority high)",
    "C13": "criminal-threshold alert: 8000 m² factory complex on 水浇地 (not 永农)",
    "C14": "approved construction land (建设用地) covers the factory",
    "C15": "temporary land use (临时用地) covers the store",
    "C16": "parcel without buildings: no visible change (pseudo-change)",
    "C17": "one factory crossing two parcels",
    "C18": "parcel crossing the 禾丰镇/东河乡 boundary",
    "N1": "batch 2 new site: factory on 水浇地 far from greenhouses",
    "N2": "batch 2 new site: earth works, no buildings",
}


def _findings() -> list[CaseFinding]:
    F = CaseFinding
    return [
        F(
            "C01",
            "C01",
            "C01-villa",
            "I",
            "class1.non_agri_use_in_park",
            "别墅 on 水浇地 inside park YQ001, outside greenhouses",
        ),
        F(
            "C01",
            "C01",
            "C01-food",
            "I",
            "class1.non_agri_use_in_park",
            "餐饮 on 水浇地 inside park YQ001, outside greenhouses",
        ),
        F(
            "C02",
            "C02",
            "C02-food",
            "II",
            "class2.building_in_greenhouse",
            "餐饮 entirely inside a 日光温室 on 水浇地",
        ),
        F(
            "C03",
            "C03",
            "C03-unknown",
            "II",
            "class2.building_in_greenhouse",
            "use unknown (YT empty), entirely inside a 日光温室 on 水浇地",
        ),
        F(
            "C04",
            "C04",
            "C04-care2",
            "III",
            "class3.caretaker_storeys",
            "看护房 with 2 storeys, 3 m from a greenhouse",
        ),
        F(
            "C05",
            "C05",
            "C05-care28",
            "III",
            "class3.caretaker_oversize",
            "single-storey 看护房 of 28 m² > 22.5 m² (north), 3 m from a greenhouse",
        ),
        F(
            "C06",
            "C06",
            "C06-care12",
            "none",
            "class3.caretaker_within_limit",
            "12 m² single storey: within every regional limit",
        ),
        F(
            "C07",
            "C07",
            "C07-care20",
            "none",
            "class3.caretaker_within_limit",
            "20 m² single storey: within the north limit 22.5 m²; **III when the region is unset** (strictest 15 m²)",
            unset_region_class="III",
        ),
        F(
            "C08",
            "C08",
            "C08-unknown",
            "I",
            "class1.unknown_use_near_greenhouse",
            "use unknown, 48 m² ≥ 30 m², 24 m from the nearest greenhouse (< 50 m), outside parks and filings",
        ),
        F(
            "C09",
            "C09",
            "C09-care",
            "none",
            "facility.caretaker_on_filing",
            "管理房 14 m², single storey, 3 m from a 连栋温室, on 设施农用地 (1202) filed as 禾自然资设备〔2025〕12号 (食用菌生产); not on 耕地",
        ),
        F(
            "C10",
            "C10",
            "C10-steel",
            "I",
            "class1.non_agri_use_on_filing",
            "厂房 on 设施农用地 (1202) filed as 禾自然资设备〔2025〕7号 (蔬菜种植): a filing is not a permit for a factory; not on 耕地",
        ),
        F(
            "C11",
            "C11",
            "C11-factory",
            "conversion",
            "conversion.farmland_outside_context",
            "厂房 on 水浇地, > 200 m from greenhouses, parks and filings; the parcel ring is a bowtie",
        ),
        F(
            "C12",
            "C12",
            "C12-house",
            "conversion",
            "conversion.farmland_outside_context",
            "住宅 on 水浇地 that is 永久基本农田 → priority high",
        ),
        F(
            "C13",
            "C13",
            "C13-a",
            "conversion",
            "conversion.farmland_outside_context",
            "厂房 50 m x 40 m on 水浇地 (not 永农)",
        ),
        F(
            "C13",
            "C13",
            "C13-b",
            "conversion",
            "conversion.farmland_outside_context",
            "厂房 50 m x 40 m on 水浇地 (not 永农)",
        ),
        F(
            "C13",
            "C13",
            "C13-c",
            "conversion",
            "conversion.farmland_outside_context",
            "厂房 50 m x 40 m on 水浇地 (not 永农)",
        ),
        F(
            "C13",
            "C13",
            "C13-d",
            "conversion",
            "conversion.farmland_outside_context",
            "仓储 50 m x 40 m on 水浇地 (not 永农)",
        ),
        F(
            "C14",
            "C14",
            "C14-factory",
            "none",
            "approval.construction",
            "on 水浇地 but 100 % inside approved construction land",
            "合法",
            "鲁政土字〔2025〕123号",
        ),
        F(
            "C15",
            "C15",
            "C15-store",
            "none",
            "approval.temporary",
            "on 水浇地 but 100 % inside approved temporary land",
            "其他",
            "禾临用〔2026〕3号",
        ),
        F(
            "C16",
            "C16",
            None,
            "none",
            "parcel.no_buildings",
            "no footprint in the parcel; imagery unchanged → 疑似伪变化",
        ),
        F(
            "C17",
            "C17a",
            "C17-factory",
            "conversion",
            "conversion.farmland_outside_context",
            "厂房 on 水浇地; 60 % of it (18 m of 30 m) lies in this parcel",
        ),
        F(
            "C17",
            "C17b",
            "C17-factory",
            "conversion",
            "conversion.farmland_outside_context",
            "the same 厂房; 40 % (12 m of 30 m) lies in this parcel",
        ),
        F(
            "C18",
            "C18",
            "C18-house",
            "conversion",
            "conversion.farmland_outside_context",
            "住宅 on 水浇地 in 禾丰镇; the parcel crosses into 东河乡",
        ),
        F(
            "C02",
            "R02",
            "R02-food",
            "II",
            "class2.building_in_greenhouse",
            "new 餐饮 (16 m x 8 m) inside the same greenhouse after C02 was demolished → 反弹 once C02 is closed",
        ),
        F(
            "C10",
            "S10",
            "C10-steel",
            "I",
            "class1.non_agri_use_on_filing",
            "same factory as batch 1",
        ),
        F(
            "C11",
            "S11",
            "C11-factory",
            "conversion",
            "conversion.farmland_outside_context",
            "same factory as batch 1",
        ),
        F(
            "C12",
            "S12",
            "C12-house",
            "conversion",
            "conversion.farmland_outside_context",
            "same house; identical geometry to the batch-1 parcel",
        ),
        F(
            "C13",
            "S13",
            "C13-a",
            "conversion",
            "conversion.farmland_outside_context",
            "same complex as batch 1",
        ),
        F(
            "C13",
            "S13",
            "C13-b",
            "conversion",
            "conversion.farmland_outside_context",
            "same complex as batch 1",
        ),
        F(
            "C13",
            "S13",
            "C13-c",
            "conversion",
            "conversion.farmland_outside_context",
            "same complex as batch 1",
        ),
        F(
            "C13",
            "S13",
            "C13-d",
            "conversion",
            "conversion.farmland_outside_context",
            "same complex as batch 1",
        ),
        F(
            "N1",
            "N1",
            "N1-factory",
            "conversion",
            "conversion.farmland_outside_context",
            "new 厂房 on 水浇地, > 200 m from greenhouses, parks and filings",
        ),
        F("N2", "N2", None, "none", "parcel.no_buildings", "earth works only"),
    ]
