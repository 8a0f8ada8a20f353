"""Townships (乡镇) and villages (村) of the fictional county 禾丰县 (370790).

Divisions are built from lattice cells (field blocks and road strips): every cell goes to the
nearest township seed, then to the nearest village seed of its township. Village boundaries
therefore follow roads and ditches, as they often do on the North China plain, and the union of
villages is an exact coverage of the county. Codes follow GB/T 2260 extended to village level:
6-digit county + 3-digit township (100, 101, ...) + 3-digit village (201, 202, ...).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "COUNTY_CODE",
    "COUNTY_NAME",
    "TOWNSHIP_NAMES",
    "township_names",
    "village_names",
    "nearest_seed",
]

COUNTY_CODE = "370790"
COUNTY_NAME = "禾丰县"

TOWNSHIP_NAMES: tuple[str, ...] = (
    "禾丰镇", "东河乡", "柳湾镇", "石桥镇", "新店镇", "双庙乡", "杨庄镇", "高台镇", "龙泉镇",
    "清河镇", "马店镇", "北辛乡", "南坡镇", "太平镇", "王村镇", "李营镇", "大屯镇", "小河乡",
    "梨园镇", "桃花乡", "青石镇", "白沙镇", "黄埠镇", "郭集镇", "孙庄乡", "三官庙镇", "丰乐镇",
    "永安镇", "文昌镇", "河西乡", "古城镇", "金山乡", "安乐镇", "平原镇", "长兴镇", "福田乡",
)  # fmt: skip

_SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁"
    "魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹"
    "黎易常武乔贺赖龚文庞樊兰殷施陶洪翟安颜倪严牛温芦季俞章鲁葛伍韦申尤毕聂焦向柳邢路岳齐梅莫"
)
_PATTERNS = ("家庄", "家村", "庄", "官庄", "家洼", "家疃", "家屯", "家店", "家集", "家营", "家楼", "家岭", "家河", "家寨", "家坊")  # fmt: skip
_PREFIXES = ("", "东", "西", "南", "北", "前", "后", "大", "小")


def township_names(n: int) -> list[str]:
    """The first ``n`` township names (numbered beyond the built-in list)."""
    names = list(TOWNSHIP_NAMES[:n])
    names += [f"第{k + 1}镇" for k in range(len(names), n)]
    return names


def village_names(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` distinct village names such as 王家庄村, 后李家洼村 (deterministic for ``rng``)."""
    total = len(_PREFIXES) * len(_SURNAMES) * len(_PATTERNS)
    if n > total:
        raise ValueError(f"Cannot make {n} distinct village names (at most {total}).")
    # Prefer names without a prefix: draw from the plain block first, then the rest.
    plain = len(_SURNAMES) * len(_PATTERNS)
    order = np.r_[rng.permutation(plain), plain + rng.permutation(total - plain)][:n]
    p, rest = np.divmod(order, plain)
    s, q = np.divmod(rest, len(_PATTERNS))
    return [
        f"{_PREFIXES[a]}{_SURNAMES[b]}{_PATTERNS[c]}村" for a, b, c in zip(p, s, q, strict=True)
    ]


def nearest_seed(points: np.ndarray, seeds: np.ndarray, *, chunk: int = 20000) -> np.ndarray:
    """Index of the nearest seed for every point (ties go to the lower seed index)."""
    out = np.empty(len(points), dtype=np.int64)
    for s in range(0, len(points), chunk):
        p = points[s : s + chunk]
        d2 = ((p[:, None, :] - seeds[None, :, :]) ** 2).sum(axis=2)
        out[s : s + chunk] = np.argmin(d2, axis=1)
    return out
