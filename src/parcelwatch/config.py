"""Rules: every threshold and vocabulary parcelwatch uses, as an immutable value.

``load_rules(path)`` reads a TOML file and overrides only the keys it names; unknown keys are
rejected with a close-match suggestion and every error names the key path. ``defaults_toml()``
writes the commented default file (``parcelwatch rules defaults``). Each key carries its default,
a description and its source (the policy document, or 工程默认值) with a confidence tag: numbers
tagged L are engineering defaults, shown to the user as "默认值，可配置".
"""

from __future__ import annotations

import difflib
import hashlib
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from parcelwatch.errors import ConfigError
from parcelwatch.io.schema import ROLES

__all__ = ["Rules", "load_rules", "defaults_toml", "DEFAULT_RULES"]


def _key(
    default: Any,
    doc: str,
    source: str = "",
    *,
    choices: tuple[Any, ...] = (),
    minimum: float | None = None,
    maximum: float | None = None,
) -> Any:
    meta = {"doc": doc, "source": source, "choices": choices, "min": minimum, "max": maximum}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class CountySection:
    """The county the workspace belongs to."""

    code: str = _key("", "6-digit county code (行政区划代码), e.g. 370790")
    name: str = _key("", "county name shown on maps and forms")
    region: str = _key(
        "",
        "caretaker-room region: south (15 m²), north (22.5 m²), severe_cold (30 m²); "
        "empty = use the strictest limit and say so in every reason. A provincial decision.",
        '"大棚房"专项整治看护房标准 (M)；适用地区由省级确定 (H)',
        choices=("", "south", "north", "severe_cold"),
    )
    gk_zone: int = _key(
        0,
        "3-degree Gauss-Kruger zone for overlay; 0 = from the farmland layer's CRS or longitude",
        "2000国家大地坐标系(CGCS2000) 3度分带高斯-克吕格投影 (H)",
        minimum=0,
        maximum=45,
    )


@dataclass(frozen=True)
class GeometrySection:
    """Overlay tolerances."""

    min_overlap_m2: float = _key(
        1.0,
        "an overlap smaller than this (m²) is a sliver and ignored",
        "工程默认值 (L)：碎片重叠阈值",
        minimum=0,
    )
    min_overlap_share: float = _key(
        0.10,
        "share of a footprint that must be on 耕地/永农 for it to count as on farmland",
        "工程默认值 (L)",
        minimum=0,
        maximum=1,
    )
    reported_area_tolerance: float = _key(
        0.05,
        "relative tolerance when sniffing whether 监测面积 is in m² or 亩",
        "工程默认值 (L)",
        minimum=0,
        maximum=1,
    )


@dataclass(frozen=True)
class FarmlandSection:
    """Which land-use codes are farmland."""

    codes: tuple[str, ...] = _key(
        ("0101", "0102", "0103"),
        "DLBM codes that count as 耕地",
        "《第三次全国国土调查技术规程》(TD/T 1055-2019) 工作分类：0101水田、0102水浇地、0103旱地 (H)",
    )
    facility_codes: tuple[str, ...] = _key(
        ("1202",),
        "DLBM codes of 设施农用地",
        "《自然资源部 农业农村部关于设施农业用地管理有关问题的通知》(自然资规〔2019〕4号) (H)",
    )
    deduct_tiankan: bool = _key(
        True,
        "scale overlaps by TBDLMJ/TBMJ (田坎 deduction)",
        "《第三次全国国土调查技术规程》(TD/T 1055-2019)：图斑地类面积扣除田坎 (M)",
    )


@dataclass(frozen=True)
class GreenhouseSection:
    """Greenhouse-related thresholds (大棚房)."""

    inside_share: float = _key(
        0.50,
        "share of a footprint inside greenhouse polygons to count as inside a greenhouse",
        "工程默认值 (L)",
        minimum=0,
        maximum=1,
    )
    context_distance_m: float = _key(
        50.0,
        "a footprint within this distance of a greenhouse is in agricultural context",
        "工程默认值 (L)",
        minimum=0,
    )
    caretaker_distance_m: float = _key(
        10.0,
        "a caretaker room inside or within this distance of a greenhouse is checked against the limits",
        "工程默认值 (L)",
        minimum=0,
    )
    caretaker_max_storeys: int = _key(
        1,
        "caretaker rooms must be single storey; more storeys -> Class III",
        '"大棚房"专项整治看护房标准（单层）(M)',
        minimum=1,
    )
    caretaker_limit_south_m2: float = _key(
        15.0,
        "caretaker-room footprint limit, south",
        '"大棚房"专项整治看护房标准（南方 15 m²）(M)',
        minimum=0,
    )
    caretaker_limit_north_m2: float = _key(
        22.5,
        "caretaker-room footprint limit, north",
        '"大棚房"专项整治看护房标准（北方 22.5 m²）(M)',
        minimum=0,
    )
    caretaker_limit_severe_cold_m2: float = _key(
        30.0,
        "caretaker-room footprint limit, severe cold",
        '"大棚房"专项整治看护房标准（地方口径 30 m²）(L)',
        minimum=0,
    )
    park_inside_share: float = _key(
        0.50,
        "share of a footprint inside an agricultural park to count as inside it",
        "工程默认值 (L)",
        minimum=0,
        maximum=1,
    )
    class1_min_area_m2: float = _key(
        30.0,
        "unknown-use footprints outside greenhouses count for Class I from this size",
        "工程默认值 (L)",
        minimum=0,
    )


@dataclass(frozen=True)
class ApprovalSection:
    """How approvals and filings clear a footprint."""

    cover_share: float = _key(
        0.90,
        "a footprint covered at least this much by an approval is not a problem",
        "工程默认值 (L)",
        minimum=0,
        maximum=1,
    )
    legal_types: tuple[str, ...] = _key(
        ("建设用地", "农转用", "农用地转用", "批准用地", "征收", "供地"),
        "approval types that make construction legal -> suggested judgement 合法",
        "卫片执法图斑举证类型（批准用地、临时用地）；《自然资源部关于加强和改进卫片执法工作的通知》(自然资发〔2023〕258号) (M)",
    )
    temporary_types: tuple[str, ...] = _key(
        ("临时用地",),
        "approval types of temporary land -> suggested judgement 其他(临时用地)",
        "卫片执法图斑举证类型（批准用地、临时用地）；《自然资源部关于加强和改进卫片执法工作的通知》(自然资发〔2023〕258号) (M)",
    )
    filing_inside_share: float = _key(
        0.50,
        "share of a footprint inside a 设施农用地备案 polygon to count as on filed facility land",
        "工程默认值 (L)",
        minimum=0,
        maximum=1,
    )
    facility_types: tuple[str, ...] = _key(
        ("设施农用地备案", "设施农用地", "设施农业用地备案"),
        "filings of 设施农用地: a filing, not a permit for non-agricultural building",
        "自然资规〔2019〕4号：设施农业用地备案 (H)",
    )


@dataclass(frozen=True)
class AlertSection:
    """Alerts on a parcel (criminal-referral thresholds and large parcels)."""

    pbf_mu: float = _key(
        5.0,
        "illegal occupation of 永久基本农田 at or above this (亩) reaches the criminal threshold",
        "《最高人民法院关于审理破坏土地资源刑事案件具体应用法律若干问题的解释》(法释〔2000〕14号) (H)",
        minimum=0,
    )
    farmland_mu: float = _key(
        10.0,
        "illegal occupation of other 耕地 at or above this (亩) reaches the criminal threshold",
        "《最高人民法院关于审理破坏土地资源刑事案件具体应用法律若干问题的解释》(法释〔2000〕14号) (H)",
        minimum=0,
    )
    large_parcel_farmland_mu: float = _key(
        100.0,
        "a parcel holding at least this much 耕地 (亩) is flagged large",
        "工程默认值 (L)：部分地区调度口径（占用耕地≥100亩的大图斑）",
        minimum=0,
    )


@dataclass(frozen=True)
class VocabularySection:
    """Which recorded uses (用途) mean what. Matching is by substring of the recorded value."""

    caretaker: tuple[str, ...] = _key(
        ("看护房", "管护房", "管理房", "看护用房", "管理用房"),
        "caretaker rooms (看护房)",
        '"大棚房"问题专项清理整治行动问题分类；看护房标准 (H)',
    )
    residential: tuple[str, ...] = _key(
        ("住宅", "别墅", "住房", "民居", "宿舍", "庄园"),
        "residential",
        '"大棚房"问题专项清理整治行动问题分类（第一类、第二类、第三类）(H)',
    )
    catering: tuple[str, ...] = _key(
        ("餐饮", "餐馆", "饭店", "农家乐", "酒店"),
        "catering",
        '"大棚房"问题专项清理整治行动问题分类（第一类、第二类、第三类）(H)',
    )
    lodging: tuple[str, ...] = _key(
        ("住宿", "民宿", "宾馆", "度假"),
        "lodging",
        '"大棚房"问题专项清理整治行动问题分类（第一类、第二类、第三类）(H)',
    )
    leisure: tuple[str, ...] = _key(
        ("娱乐", "会所", "会议", "养老", "休闲", "展销"),
        "entertainment, clubs, conference, elderly care",
        '"大棚房"问题专项清理整治行动问题分类（第一类、第二类、第三类）(H)',
    )
    industrial: tuple[str, ...] = _key(
        ("厂房", "工厂", "加工", "仓储", "物流", "交易市场", "钢结构"),
        "industrial, warehousing, markets",
        '"大棚房"整改标准（坚决拆除类）；《自然资源部 农业农村部关于设施农业用地管理有关问题的通知》(自然资规〔2019〕4号) (M)',
    )
    agricultural: tuple[str, ...] = _key(
        (
            "农机库",
            "农资",
            "农具",
            "畜禽舍",
            "养殖",
            "育苗",
            "晾晒",
            "分拣",
            "保鲜",
            "蔬菜",
            "种植",
            "大棚",
            "温室",
            "灌溉",
            "泵房",
        ),
        "agricultural facility uses (not a non-agricultural use)",
        "《自然资源部 农业农村部关于设施农业用地管理有关问题的通知》(自然资规〔2019〕4号) (H)",
    )
    unknown: tuple[str, ...] = _key(
        ("", "未知", "不详", "其他", "无"), "values that mean the use is unknown", "工程默认值"
    )


@dataclass(frozen=True)
class LedgerSection:
    """The ledger (台账): verification deadlines, re-check matching and statistics."""

    verification_due_months: int = _key(
        1,
        "月清: a parcel must be verified by the end of the month this many months after its batch was issued (1 = end of the following month; 0 = end of the issue month)",
        '卫片执法"月清、季核、年度评估"工作要求 (M)；各地期限不一，按省市通知调整',
        minimum=0,
        maximum=12,
    )
    same_site_share: float = _key(
        0.5,
        "a new parcel is the same site as a ledger problem when their overlap covers at least this share of the smaller of the two polygons",
        "工程默认值 (L)",
        minimum=0,
        maximum=1,
    )
    same_site_iou: float = _key(
        0.3,
        "... or when their intersection over union reaches this (tolerates redrawn outlines)",
        "工程默认值 (L)",
        minimum=0,
        maximum=1,
    )
    rebound_building_share: float = _key(
        0.5,
        "a building of a new batch lying at least this share on a 已销号 problem reopens it as 反弹",
        "工程默认值 (L)",
        minimum=0,
        maximum=1,
    )
    legalised_building_iou: float = _key(
        0.5,
        "a building matching a recorded footprint of a problem closed by 补办手续/一事一议 at least this well (IoU) is the legalised building, not a rebound",
        "工程默认值 (L)",
        minimum=0,
        maximum=1,
    )
    new_construction_farmland_m2: float = _key(
        0.0,
        "the county's 耕地 occupied by new construction land this year (新增建设占用耕地, m²), the denominator of 违法占用耕地面积比例; 0 = unknown",
        "《违反土地管理规定行为处分办法》(监察部、人力资源社会保障部、国土资源部令第15号) 第三条 (H)",
        minimum=0,
    )
    ratio_alert: float = _key(
        0.15,
        "违法占用耕地面积比例 at or above this -> accountability (问责) level",
        "《违反土地管理规定行为处分办法》(监察部、人力资源社会保障部、国土资源部令第15号) 第三条 (H)",
        minimum=0,
        maximum=1,
    )
    ratio_warning: float = _key(
        0.10,
        "违法占用耕地面积比例 at or above this -> early warning (预警)",
        "工程默认值 (L)：预警线",
        minimum=0,
        maximum=1,
    )
    default_user: str = _key(
        "",
        "user name recorded on ledger changes when --user is not given; empty = the operating-system user name",
    )


@dataclass(frozen=True)
class ImagerySection:
    """Imagery evidence (影像佐证): per-pixel change tests and the thresholds of the hints."""

    ndvi_vegetated: float = _key(
        0.4,
        "a pixel with NDVI at or above this counts as vegetated (crops restored)",
        "工程默认值 (L)",
        minimum=-1,
        maximum=1,
    )
    ndvi_bare_max: float = _key(
        0.25,
        "a pixel with NDVI below this counts as bare soil, roof or film (not vegetated)",
        "工程默认值 (L)",
        minimum=-1,
        maximum=1,
    )
    brightness_built_min: float = _key(
        1500.0,
        "a pixel whose mean visible reflectance (blue, green, red; reflectance x 10000) reaches this counts as bright / built (roofs, film, concrete; crops about 500, bare soil about 1300, roofs 2000 and film 2300-3900 in the sample)",
        "工程默认值 (L)",
        minimum=0,
    )
    ndvi_change_min: float = _key(
        0.3,
        "a pixel whose NDVI rose or fell by at least this counts as changed",
        "工程默认值 (L)，依样例影像校核",
        minimum=0,
        maximum=2,
    )
    brightness_change_min: float = _key(
        0.25,
        "a pixel whose brightness changed by at least this share (0.25 = 25 %) counts as changed",
        "工程默认值 (L)，依样例影像校核",
        minimum=0,
    )
    change_share_min: float = _key(
        0.2,
        "a building footprint counts as changed when at least this share of its pixels changed",
        "工程默认值 (L)",
        minimum=0,
        maximum=1,
    )
    unrestored_share_min: float = _key(
        0.5,
        "整改存疑 when at least this share of the footprints (or of the parcel when it has none) is still bare, bright or built after rectification",
        "工程默认值 (L)",
        minimum=0,
        maximum=1,
    )
    construction_min_m2: float = _key(
        20.0,
        "疑似反弹 when changed pixels that look built after cover at least this area (m²) of a closed problem",
        "工程默认值 (L)",
        minimum=0,
    )
    no_change_share_max: float = _key(
        0.05,
        "疑似伪变化 when at most this share of the parcel's pixels changed (and no footprint changed)",
        "工程默认值 (L)",
        minimum=0,
        maximum=1,
    )
    no_change_max_m2: float = _key(
        10.0,
        "... and the changed pixels cover less than this area (m²): a small new caretaker room is a change",
        "工程默认值 (L)",
        minimum=0,
    )
    min_coverage: float = _key(
        0.5,
        "a parcel needs at least this share of its pixels covered by valid data in both images before any hint is given",
        "工程默认值 (L)",
        minimum=0,
        maximum=1,
    )


@dataclass(frozen=True)
class MapSection:
    """The battle map (挂图作战): online basemap keys."""

    tianditu_key: str = _key(
        "",
        "天地图 key (tk) for `parcelwatch map --basemap tianditu`; it is written into the HTML in clear, so anyone with the page can read it (and this rules file holds it in clear too). Prefer tianditu_key_at_view",
    )
    tianditu_key_at_view: bool = _key(
        False,
        "true: the 天地图 page asks for the key when it is opened and keeps it in that browser only (localStorage); the key is never written into the HTML file",
    )


SECTIONS: dict[str, type] = {
    "county": CountySection,
    "geometry": GeometrySection,
    "farmland": FarmlandSection,
    "greenhouse": GreenhouseSection,
    "approval": ApprovalSection,
    "alert": AlertSection,
    "vocabulary": VocabularySection,
    "ledger": LedgerSection,
    "imagery": ImagerySection,
    "map": MapSection,
}


@dataclass(frozen=True)
class Rules:
    """All configuration, immutable; pass it explicitly (``classify(..., rules=rules)``)."""

    county: CountySection = field(default_factory=CountySection)
    geometry: GeometrySection = field(default_factory=GeometrySection)
    farmland: FarmlandSection = field(default_factory=FarmlandSection)
    greenhouse: GreenhouseSection = field(default_factory=GreenhouseSection)
    approval: ApprovalSection = field(default_factory=ApprovalSection)
    alert: AlertSection = field(default_factory=AlertSection)
    vocabulary: VocabularySection = field(default_factory=VocabularySection)
    ledger: LedgerSection = field(default_factory=LedgerSection)
    imagery: ImagerySection = field(default_factory=ImagerySection)
    map: MapSection = field(default_factory=MapSection)
    # [fields.<role>] <canonical> = ["ALIAS", ...]: extra field aliases, tried before defaults.
    fields: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    source: str = "defaults"

    def aliases(self, role: str) -> Mapping[str, tuple[str, ...]]:
        return self.fields.get(role, {})

    def caretaker_limit_m2(self) -> tuple[float, str]:
        """The caretaker-room limit for the county's region and a note for the reason text."""
        g = self.greenhouse
        region = self.county.region
        if region == "south":
            return g.caretaker_limit_south_m2, "南方标准"
        if region == "north":
            return g.caretaker_limit_north_m2, "北方标准"
        if region == "severe_cold":
            return g.caretaker_limit_severe_cold_m2, "严寒地区标准"
        strictest = min(
            g.caretaker_limit_south_m2, g.caretaker_limit_north_m2, g.caretaker_limit_severe_cold_m2
        )
        return strictest, "最严标准（未设置县域所属地区）"

    def digest(self) -> str:
        """A short hash of the effective rules, recorded with every run."""
        plain = _as_plain(self)
        plain.pop("map")  # display settings (and a secret key) are not rules of the checks
        payload = json.dumps(plain, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:12]


def _as_plain(rules: Rules) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in SECTIONS:
        sec = getattr(rules, name)
        out[name] = {f.name: getattr(sec, f.name) for f in fields(sec)}
    out["fields"] = {r: dict(v) for r, v in rules.fields.items()}
    return out


def _suggest(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.5)
    return f" Did you mean {close[0]!r}?" if close else f" Known keys: {', '.join(options)}."


def _coerce(path: str, value: Any, default: Any, meta: Mapping[str, Any], where: str) -> Any:
    def fail(msg: str) -> ConfigError:
        return ConfigError(f"{where}: [{path}] {msg}")

    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise fail(f"must be true or false, got {value!r}.")
        return value
    if isinstance(default, (int, float)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise fail(f"must be a number, got {value!r}.")
        if (
            isinstance(default, int)
            and not isinstance(default, bool)
            and not float(value).is_integer()
        ):
            raise fail(f"must be a whole number, got {value!r}.")
        if meta.get("min") is not None and value < meta["min"]:
            raise fail(f"must be >= {meta['min']}, got {value!r}.")
        if meta.get("max") is not None and value > meta["max"]:
            raise fail(f"must be <= {meta['max']}, got {value!r}.")
        return type(default)(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise fail(f"must be text, got {value!r}.")
        if meta.get("choices") and value not in meta["choices"]:
            raise fail(
                f"must be one of {', '.join(repr(c) for c in meta['choices'])}, got {value!r}."
            )
        return value
    if isinstance(default, tuple):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise fail(f"must be a list of text values, got {value!r}.")
        return tuple(value)
    raise fail("has an unsupported type.")  # pragma: no cover


def rules_from_mapping(data: Mapping[str, Any], *, where: str = "rules") -> Rules:
    """Build :class:`Rules` from a parsed TOML mapping (only named keys override defaults)."""
    rules = Rules(source=where)
    top = [*SECTIONS, "fields"]
    for sec_name, sec_value in data.items():
        if sec_name == "store":  # where the ledger is: read by parcelwatch.ledger.workspace
            continue
        if sec_name not in top:
            raise ConfigError(f"{where}: unknown section [{sec_name}].{_suggest(sec_name, top)}")
        if not isinstance(sec_value, dict):
            raise ConfigError(f"{where}: [{sec_name}] must be a table of keys.")
        if sec_name == "fields":
            rules = replace(rules, fields=_parse_fields(sec_value, where))
            continue
        section = getattr(rules, sec_name)
        known = {f.name: f for f in fields(section)}
        updates = {}
        for key, value in sec_value.items():
            if key not in known:
                raise ConfigError(
                    f"{where}: unknown key [{sec_name}].{key}.{_suggest(key, list(known))}"
                )
            f = known[key]
            updates[key] = _coerce(
                f"{sec_name}.{key}", value, getattr(section, key), f.metadata, where
            )
        rules = replace(rules, **{sec_name: replace(section, **updates)})
    return rules


def _parse_fields(table: Mapping[str, Any], where: str) -> dict[str, dict[str, tuple[str, ...]]]:
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for role_name, mapping in table.items():
        if role_name not in ROLES:
            raise ConfigError(
                f"{where}: unknown layer role [fields.{role_name}].{_suggest(role_name, list(ROLES))}"
            )
        if not isinstance(mapping, dict):
            raise ConfigError(
                f'{where}: [fields.{role_name}] must be a table like parcel_id = ["XSBH"].'
            )
        canon = [f.name for f in ROLES[role_name].fields]
        role_out: dict[str, tuple[str, ...]] = {}
        for key, aliases in mapping.items():
            if key not in canon:
                raise ConfigError(
                    f"{where}: unknown field [fields.{role_name}].{key}.{_suggest(key, canon)}"
                )
            if isinstance(aliases, str):
                aliases = [aliases]
            if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
                raise ConfigError(
                    f"{where}: [fields.{role_name}].{key} must be a list of field names."
                )
            role_out[key] = tuple(aliases)
        out[role_name] = role_out
    return out


def load_rules(path: str | Path | None = None) -> Rules:
    """Read a rules file (TOML). ``None`` gives the defaults."""
    if path is None:
        return DEFAULT_RULES
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(
            f"Rules file {path} does not exist. Write one with `parcelwatch rules defaults > {path.name}`."
        ) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"Rules file {path} is not UTF-8 text. Save it as UTF-8.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"Rules file {path} is not valid TOML: {exc}. Fix the line it names."
        ) from exc
    return rules_from_mapping(data, where=str(path))


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, tuple):
        return "[" + ", ".join(json.dumps(x, ensure_ascii=False) for x in v) + "]"
    raise TypeError(v)  # pragma: no cover


def defaults_toml() -> str:
    """The default rules as a commented TOML file. Numbers tagged (L) are 默认值，可配置."""
    lines = [
        "# parcelwatch rules file. Every key is optional: a county file names only what it changes.",
        "# Numbers tagged (L) are engineering defaults (默认值，可配置); check them with your province.",
        "",
    ]
    for name, cls in SECTIONS.items():
        lines.append(f"[{name}]")
        doc = (cls.__doc__ or "").strip().splitlines()[0]
        lines.append(f"# {doc}")
        for f in fields(cls):
            lines.append(
                f"# {f.metadata['doc']}"
                + (f"  [source: {f.metadata['source']}]" if f.metadata.get("source") else "")
            )
            value = getattr(cls(), f.name)
            lines.append(f"{f.name} = {_toml_value(value)}")
        lines.append("")
    lines.append("# Extra field aliases per layer role, tried before the built-in ones, e.g.:")
    lines.append("# [fields.parcels]")
    lines.append('# parcel_id = ["XSBH"]')
    for role in ROLES.values():
        lines.append(
            f"# [fields.{role.name}]  ({role.label_zh}) canonical fields: {', '.join(f.name for f in role.fields)}"
        )
    return "\n".join(lines) + "\n"


DEFAULT_RULES = Rules()
