"""Canonical columns of each layer role, and the field aliases real deliveries use.

Every layer parcelwatch reads is renamed to canonical English column names (``parcel_id``,
``dlbm``, ``use`` ...). The alias table below is the documented default; users extend it in the
rules file under ``[fields.<role>]`` (for example ``parcel_id = ["XSBH"]``), and their aliases are
tried first. Matching ignores case, surrounding blanks, full-width brackets and unit suffixes such
as ``(亩)``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = [
    "Field",
    "Role",
    "ROLES",
    "normalise_name",
    "match_fields",
    "detect_role",
    "DLMC_TO_DLBM",
    "ERDIAO_TO_SANDIAO",
    "FARMLAND_CODES",
]


@dataclass(frozen=True)
class Field:
    """A canonical column: its name, the aliases tried in order, and whether it is required."""

    name: str
    aliases: tuple[str, ...]
    required: bool = False
    kind: str = "str"  # str | float | int | date
    doc: str = ""
    label_zh: str = ""


@dataclass(frozen=True)
class Role:
    """A kind of layer (卫片图斑, 地类图斑 ...) with its columns and how to recognise it."""

    name: str
    label_zh: str
    fields: tuple[Field, ...]
    geometry: str = "polygon"  # the only kind used so far
    name_patterns: tuple[str, ...] = ()  # regexes on the file/layer name
    id_field: str | None = None  # canonical id column (unique); generated when optional & absent
    id_required: bool = False
    id_prefix: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


def _f(
    name: str,
    aliases: str,
    *,
    required: bool = False,
    kind: str = "str",
    doc: str = "",
    zh: str = "",
) -> Field:
    return Field(
        name, tuple(a.strip() for a in aliases.split(",") if a.strip()), required, kind, doc, zh
    )


ROLES: dict[str, Role] = {
    "parcels": Role(
        "parcels",
        "卫片图斑",
        (
            _f(
                "parcel_id",
                "JCBH,TBBH,监测编号,图斑编号,线索编号,TBYBH,图斑预编号,XSBH,BH,编号",
                required=True,
                doc="monitoring parcel id (监测编号)",
                zh="监测编号",
            ),
            _f(
                "township_code",
                "XZQDM,XZQHDM,行政区代码,行政区划代码,XZDM,乡镇代码,XZQ",
                doc="township or county code",
                zh="行政区代码",
            ),
            _f(
                "township_name",
                "XZQMC,XZQHMC,行政区名称,行政区划名称,乡镇名称,乡镇,乡镇(街道)",
                doc="township name",
                zh="行政区名称",
            ),
            _f(
                "reported_area",
                "JCMJ,监测面积,TBMJ,图斑面积",
                kind="float",
                doc="area as delivered; unit (m² or 亩) is sniffed against the geometry",
                zh="监测面积",
            ),
            _f(
                "before_date",
                "QSX,前时相,QSXSJ,前时相时间",
                kind="date",
                doc="date of the earlier image",
                zh="前时相",
            ),
            _f(
                "after_date",
                "HSX,后时相,HSXSJ,后时相时间",
                kind="date",
                doc="date of the later image",
                zh="后时相",
            ),
            _f("batch", "PC,批次,监测批次,JCPC,PCH", doc="issue batch (批次)", zh="批次"),
            _f(
                "change_type",
                "TBLX,图斑类型,变化类型,BHLX,JCLX",
                doc="change type as delivered",
                zh="图斑类型",
            ),
        ),
        name_patterns=(r"JCTB", r"WPTB", r"卫片", r"监测图斑", r"变化图斑", r"WPZF", r"线索"),
        id_field="parcel_id",
        id_required=True,
    ),
    "farmland": Role(
        "farmland",
        "地类图斑(三调)",
        (
            _f(
                "dlbm",
                "DLBM,地类编码,DLDM,地类代码",
                doc="land-use code (三调 4 digits; 二调 3-digit codes are mapped)",
                zh="地类编码",
            ),
            _f("dlmc", "DLMC,地类名称", doc="land-use class name", zh="地类名称"),
            _f("tbmj", "TBMJ,图斑面积", kind="float", doc="patch area, m²", zh="图斑面积"),
            _f(
                "kcxs",
                "KCXS,扣除系数,TKXS,田坎系数",
                kind="float",
                doc="田坎 deduction coefficient",
                zh="扣除地类系数",
            ),
            _f(
                "kcmj",
                "KCMJ,扣除面积,扣除地类面积,TKMJ,田坎面积",
                kind="float",
                doc="deducted (田坎) area, m²",
                zh="扣除地类面积",
            ),
            _f(
                "tbdlmj",
                "TBDLMJ,图斑地类面积",
                kind="float",
                doc="patch area less deductions, m²",
                zh="图斑地类面积",
            ),
            _f(
                "zldwdm",
                "ZLDWDM,坐落单位代码,QSDWDM",
                doc="village (坐落单位) code, 12 or 19 digits",
                zh="坐落单位代码",
            ),
            _f("zldwmc", "ZLDWMC,坐落单位名称", doc="village name", zh="坐落单位名称"),
            _f("patch_id", "BSM,标识码,TBBH,图斑编号,OBJECTID", doc="patch id", zh="标识码"),
        ),
        name_patterns=(r"DLTB", r"地类图斑", r"三调", r"土地利用", r"landuse", r"地类"),
        id_field="patch_id",
        id_prefix="T",
    ),
    "pbf": Role(
        "pbf",
        "永久基本农田",
        (
            _f(
                "pbf_id",
                "YJJBNTTBBH,JBNTTBBH,BSM,标识码,TBBH,图斑编号,OBJECTID",
                doc="permanent basic farmland patch id",
                zh="永久基本农田图斑编号",
            ),
            _f("dlbm", "DLBM,地类编码", doc="land-use code", zh="地类编码"),
            _f(
                "tbmj",
                "TBMJ,图斑面积,YJJBNTMJ,JBNTMJ",
                kind="float",
                doc="patch area, m²",
                zh="图斑面积",
            ),
            _f("zldwdm", "ZLDWDM,坐落单位代码", doc="village code", zh="坐落单位代码"),
        ),
        name_patterns=(r"YJJBNT", r"JBNT", r"永久基本农田", r"基本农田", r"永农"),
        id_field="pbf_id",
        id_prefix="P",
    ),
    "greenhouses": Role(
        "greenhouses",
        "大棚",
        (
            _f(
                "greenhouse_id",
                "DPBH,大棚编号,WSBH,温室编号,BH,编号,BSM,ID,OBJECTID",
                doc="greenhouse id",
                zh="大棚编号",
            ),
            _f(
                "greenhouse_type",
                "DPLX,类型,大棚类型,LX,TYPE",
                doc="塑料大棚 / 日光温室 / 连栋温室",
                zh="大棚类型",
            ),
            _f("park_id", "YQBH,园区编号", doc="agricultural park id", zh="园区编号"),
        ),
        name_patterns=(
            r"大棚",
            r"温室",
            r"DAPENG",
            r"GREENHOUSE",
            r"(^|_)DP(_|$)",
            r"(^|_)WS(_|$)",
        ),
        id_field="greenhouse_id",
        id_prefix="G",
    ),
    "buildings": Role(
        "buildings",
        "建筑物",
        (
            _f(
                "building_id",
                "JZBH,建筑编号,FWBH,房屋编号,JZWBH,BH,编号,BSM,ID,OBJECTID",
                doc="building id",
                zh="建筑编号",
            ),
            _f(
                "use",
                "YT,用途,JZYT,建筑用途,FWYT,房屋用途,SJYT,实际用途",
                doc="recorded use (用途); empty = unknown",
                zh="用途",
            ),
            _f(
                "storeys",
                "CS,层数,JZCS,FWCS,ZCS,总层数,Floor,FLOORS",
                kind="int",
                doc="number of storeys",
                zh="层数",
            ),
            _f("height", "GD,高度,JZGD,height,HEIGHT", kind="float", doc="height, m", zh="高度"),
        ),
        name_patterns=(r"建筑", r"房屋", r"(^|_)JZW", r"(^|_)FW(_|$)", r"BUILDING"),
        id_field="building_id",
        id_prefix="B",
    ),
    "approvals": Role(
        "approvals",
        "审批/备案",
        (
            _f(
                "approval_id",
                "PZWH,批准文号,BABH,备案编号,WH,文号,PFWH,批复文号,XMBH",
                required=True,
                doc="document number (批准文号 / 备案编号)",
                zh="批准文号",
            ),
            _f(
                "approval_type",
                "PZLX,批准类型,类型,LX,审批类型,YDLX,用地类型",
                required=True,
                doc="建设用地 / 农转用 / 设施农用地备案 / 临时用地",
                zh="批准类型",
            ),
            _f("project_name", "XMMC,项目名称", doc="project name", zh="项目名称"),
            _f(
                "approval_date",
                "PZRQ,批准日期,BARQ,备案日期,PFRQ",
                kind="date",
                doc="approval or filing date",
                zh="批准日期",
            ),
            _f(
                "filed_use",
                "BAYT,备案用途,PZYT,批准用途,YT,用途",
                doc="use stated in the filing/approval",
                zh="备案用途",
            ),
        ),
        name_patterns=(
            r"PZYD",
            r"审批",
            r"批准",
            r"备案",
            r"报批",
            r"approval",
            r"临时用地",
            r"设施农用地",
        ),
        id_field="approval_id",
    ),
    "parks": Role(
        "parks",
        "农业园区",
        (
            _f("park_id", "YQBH,园区编号,BH,编号,ID", doc="park id", zh="园区编号"),
            _f("park_name", "YQMC,园区名称,MC,名称", doc="park name", zh="园区名称"),
        ),
        name_patterns=(r"园区", r"(^|_)YQ(_|$)", r"(^|_)PARKS?(_|$)"),
        id_field="park_id",
        id_prefix="K",
    ),
    "townships": Role(
        "townships",
        "乡镇界线",
        (
            _f(
                "township_code",
                "XZQDM,行政区代码,XZDM,乡镇代码,ADCODE,GB,CODE,行政区划代码",
                required=True,
                doc="9-digit township code",
                zh="行政区代码",
            ),
            _f(
                "township_name",
                "XZQMC,行政区名称,XZMC,乡镇名称,NAME,名称",
                doc="township name",
                zh="行政区名称",
            ),
        ),
        name_patterns=(r"^XZQ$", r"XZQ", r"乡镇", r"行政区"),
        id_field="township_code",
    ),
    "villages": Role(
        "villages",
        "村级调查区",
        (
            _f(
                "village_code",
                "ZLDWDM,CJDM,村代码,村级代码,XZQDM",
                required=True,
                doc="12-digit village code (19-digit ZLDWDM is cut to 12)",
                zh="村级代码",
            ),
            _f(
                "village_name", "ZLDWMC,CJMC,村名称,村级名称,XZQMC", doc="village name", zh="村名称"
            ),
        ),
        name_patterns=(r"CJDCQ", r"村级", r"村界"),
        id_field="village_code",
    ),
}

# The county's exported Excel table of 卫片 clues (明细表): not a layer, joined by parcel id.
CLUE_FIELDS: tuple[Field, ...] = (
    _f("parcel_id", "线索编号,监测编号,图斑编号,JCBH,TBBH", required=True, zh="线索编号"),
    _f("batch", "监测批次,批次", zh="监测批次"),
    _f("county", "县(市、区),县(市区),县区,县", zh="县(市、区)"),
    _f("township_name", "乡镇(街道),乡镇,乡镇街道", zh="乡镇(街道)"),
    _f("reported_area_mu", "监测面积(亩),监测面积", kind="float", zh="监测面积(亩)"),
    _f("farmland_area_mu", "耕地面积(亩),耕地面积", kind="float", zh="耕地面积(亩)"),
    _f("verification_result", "核查结果,核查情况,判定结果", zh="核查结果"),
    _f("rectification_status", "整改状态,整改情况", zh="整改状态"),
    _f(
        "remaining_area_mu",
        "剩余未整改面积(亩),剩余未整改面积",
        kind="float",
        zh="剩余未整改面积(亩)",
    ),
    _f("remark", "备注", zh="备注"),
)

# 三调 codes that count as 耕地 (DOMAIN.md §0).
FARMLAND_CODES = frozenset({"0101", "0102", "0103"})

# 三调 class names -> codes, plus the 二调 names older data carry (approximate where 三调 split or
# renamed a class; the approximation is noted). Used when DLBM is missing but DLMC exists.
DLMC_TO_DLBM: dict[str, str] = {
    "水田": "0101",
    "水浇地": "0102",
    "旱地": "0103",
    "果园": "0201",
    "茶园": "0202",
    "橡胶园": "0203",
    "其他园地": "0204",
    "乔木林地": "0301",
    "竹林地": "0302",
    "红树林地": "0303",
    "森林沼泽": "0304",
    "灌木林地": "0305",
    "灌丛沼泽": "0306",
    "其他林地": "0307",
    "天然牧草地": "0401",
    "沼泽草地": "0402",
    "人工牧草地": "0403",
    "其他草地": "0404",
    "商业服务业设施用地": "05H1",
    "物流仓储用地": "0508",
    "工业用地": "0601",
    "采矿用地": "0602",
    "城镇住宅用地": "0701",
    "农村宅基地": "0702",
    "机关团体新闻出版用地": "08H1",
    "科教文卫用地": "08H2",
    "公用设施用地": "0809",
    "公园与绿地": "0810",
    "特殊用地": "09",
    "铁路用地": "1001",
    "轨道交通用地": "1002",
    "公路用地": "1003",
    "城镇村道路用地": "1004",
    "交通服务场站用地": "1005",
    "农村道路": "1006",
    "机场用地": "1007",
    "港口码头用地": "1008",
    "管道运输用地": "1009",
    "河流水面": "1101",
    "湖泊水面": "1102",
    "水库水面": "1103",
    "坑塘水面": "1104",
    "沿海滩涂": "1105",
    "内陆滩涂": "1106",
    "沟渠": "1107",
    "沼泽地": "1108",
    "水工建筑用地": "1109",
    "冰川及永久积雪": "1110",
    "空闲地": "1201",
    "设施农用地": "1202",
    "田坎": "1203",
    "盐碱地": "1204",
    "沙地": "1205",
    "裸土地": "1206",
    "裸岩石砾地": "1207",
    # 二调 names without a 三调 twin (approximations)
    "有林地": "0301",
    "村庄": "0702",
    "建制镇": "0701",
    "城市": "0701",
    "裸地": "1206",
    "风景名胜及特殊用地": "09",
    "水工建筑": "1109",
}
# 二调 names that map only approximately (inspect reports them).
APPROXIMATE_DLMC = frozenset({"有林地", "村庄", "建制镇", "城市", "裸地", "风景名胜及特殊用地"})

# 二调 three-digit codes -> 三调 four-digit codes (farmland and facility land exactly; others approx).
ERDIAO_TO_SANDIAO: dict[str, str] = {
    "011": "0101",
    "012": "0102",
    "013": "0103",
    "021": "0201",
    "022": "0202",
    "023": "0204",
    "031": "0301",
    "032": "0305",
    "033": "0307",
    "041": "0401",
    "042": "0403",
    "043": "0404",
    "101": "1001",
    "102": "1003",
    "104": "1006",
    "105": "1007",
    "106": "1008",
    "107": "1009",
    "111": "1101",
    "112": "1102",
    "113": "1103",
    "114": "1104",
    "115": "1105",
    "116": "1106",
    "117": "1107",
    "118": "1109",
    "119": "1110",
    "122": "1202",
    "123": "1203",
    "124": "1204",
    "125": "1108",
    "126": "1205",
    "127": "1206",
    "201": "0701",
    "202": "0701",
    "203": "0702",
    "204": "0602",
    "205": "09",
}

_BRACKETS = str.maketrans({"（": "(", "）": ")", "【": "(", "】": ")", "　": " "})


def normalise_name(name: str) -> str:
    """Fold a field name for alias matching: NFKC, case, blanks and full-width brackets.

    >>> normalise_name(" 监测面积（亩） "), normalise_name("jcbh")
    ('监测面积(亩)', 'JCBH')
    """
    s = unicodedata.normalize("NFKC", str(name)).translate(_BRACKETS)
    return re.sub(r"\s+", "", s).upper()


def _strip_unit(name: str) -> str:
    return re.sub(r"\((亩|M2|㎡|平方米|公顷|HA|万元)\)$", "", name)


def match_fields(
    columns: Sequence[str],
    fields: Sequence[Field],
    extra_aliases: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, str]:
    """Map canonical names to source columns: ``{"parcel_id": "监测编号", ...}``.

    User aliases (``extra_aliases``) are tried before the defaults; each source column is used
    once; an exact (folded) match wins over a match without a unit suffix.
    """
    extra_aliases = extra_aliases or {}
    folded = {normalise_name(c): c for c in columns}
    unit_free: dict[str, str] = {}
    for c in columns:
        unit_free.setdefault(_strip_unit(normalise_name(c)), c)
    used: set[str] = set()
    mapping: dict[str, str] = {}
    for f in fields:
        candidates = [*extra_aliases.get(f.name, ()), *f.aliases, f.name]
        hit = None
        for alias in candidates:
            key = normalise_name(alias)
            col = folded.get(key)
            if col is None:
                col = unit_free.get(_strip_unit(key))
            if col is not None and col not in used:
                hit = col
                break
        if hit is not None:
            mapping[f.name] = hit
            used.add(hit)
    return mapping


def detect_role(name: str, columns: Sequence[str]) -> str | None:
    """Guess a layer's role from its file/layer name, then from its fields.

    >>> detect_role("DLTB", ["BSM", "DLBM", "TBMJ"]), detect_role("x", ["监测编号", "后时相"])
    ('farmland', 'parcels')
    """
    stem = normalise_name(name)
    for role in ROLES.values():
        for pat in role.name_patterns:
            if re.search(pat.upper() if pat.isascii() else pat, stem):
                return role.name
    # By fields: the role whose distinctive fields match best.
    distinctive = {
        "parcels": ("parcel_id", "after_date", "before_date", "batch"),
        "farmland": ("dlbm", "dlmc", "tbdlmj", "kcxs"),
        "buildings": ("use", "storeys"),
        "approvals": ("approval_id", "approval_type"),
        "greenhouses": ("greenhouse_type",),
    }
    best, best_score = None, 0
    for role_name, names in distinctive.items():
        role = ROLES[role_name]
        m = match_fields(columns, [role.field(n) for n in names])
        score = len(m) + (1 if role_name == "farmland" and m else 0)  # DLBM/DLMC alone suffice
        if score > best_score:
            best, best_score = role_name, score
    return best if best_score >= 2 or (best_score == 1 and best == "greenhouses") else None
