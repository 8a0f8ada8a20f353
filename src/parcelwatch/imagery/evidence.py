"""The printable evidence sheet (影像佐证单) of one problem: one A4 page of self-contained HTML.

What MapBiomas calls a *laudo* and what a county attaches to a case file: a location map (inline
SVG of the parcel, its footprints and neighbouring problems), the reasons, the areas, the status
history, the before/after chips (inline data URIs) and the imagery statistics with the hint.
:func:`evidence_html` is pure (values in, text out); the caller writes the file.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from parcelwatch.ledger.model import Event, ProblemRecord
from parcelwatch.units import m2_to_mu

__all__ = ["evidence_html", "location_svg"]

_CSS = """
@page { size: A4; margin: 12mm; }
* { box-sizing: border-box; }
body { font-family: "Microsoft YaHei", "SimSun", "Noto Sans CJK SC", sans-serif; font-size: 10.5pt; color: #111; margin: 0; }
h1 { font-size: 15pt; margin: 0 0 2mm; text-align: center; }
.sub { text-align: center; color: #444; font-size: 9pt; margin-bottom: 3mm; }
table { border-collapse: collapse; width: 100%; margin-bottom: 3mm; }
th, td { border: 1px solid #555; padding: 1mm 1.5mm; vertical-align: top; }
th { background: #eee; font-weight: normal; width: 22%; text-align: left; }
.row { display: flex; gap: 3mm; margin-bottom: 3mm; }
.row figure { margin: 0; flex: 1; text-align: center; }
.row img, .row svg { width: 100%; max-height: 62mm; object-fit: contain; border: 1px solid #555; image-rendering: pixelated; }
figcaption { font-size: 9pt; }
.hint { font-weight: bold; color: #b00; }
.small { font-size: 8.5pt; color: #444; }
section { page-break-inside: avoid; }
"""


def _e(x: Any) -> str:
    return html.escape("" if x is None else str(x))


def _mu(m2: float | None) -> str:
    if m2 is None or (isinstance(m2, float) and math.isnan(m2)):
        return "—"
    return f"{m2:,.1f} m²（{m2_to_mu(m2):.2f} 亩）"


def location_svg(
    geom: Any, *, neighbours: Sequence[Any] = (), footprints: Sequence[Any] = (), size: int = 240
) -> str:
    """An inline SVG of a geometry (planar coordinates), its footprints and neighbours, north up."""
    if geom is None or geom.is_empty:
        return ""
    x0, y0, x1, y1 = geom.bounds
    half = max(x1 - x0, y1 - y0) * 1.5 / 2 or 1.0
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    bx0, by1 = cx - half, cy + half
    k = size / (2 * half)

    def path(g: Any) -> str:
        polys = getattr(g, "geoms", [g])
        parts = []
        for p in polys:
            for ring in [p.exterior, *p.interiors]:
                pts = " L".join(f"{(x - bx0) * k:.1f},{(by1 - y) * k:.1f}" for x, y in ring.coords)
                parts.append(f"M{pts} Z")
        return " ".join(parts)

    items = [f'<rect width="{size}" height="{size}" fill="#f4f1e8"/>']
    items += [
        f'<path d="{path(n)}" fill="#cfd8dc" stroke="#607d8b" stroke-width="1"/>'
        for n in neighbours
        if n is not None and not n.is_empty
    ]
    items.append(
        f'<path d="{path(geom)}" fill="rgba(229,57,53,0.25)" stroke="#e53935" stroke-width="2"/>'
    )
    items += [
        f'<path d="{path(f)}" fill="#5d4037" stroke="none"/>'
        for f in footprints
        if f is not None and not f.is_empty
    ]
    bar = 10 ** math.floor(math.log10(max(half, 1e-9)))
    items.append(
        f'<line x1="8" y1="{size - 10}" x2="{8 + bar * k:.1f}" y2="{size - 10}" stroke="#000" stroke-width="2"/>'
    )
    items.append(f'<text x="8" y="{size - 14}" font-size="10">{bar:g} m</text>')
    items.append(f'<text x="{size - 14}" y="16" font-size="12" font-weight="bold">N</text>')
    return f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" role="img" aria-label="位置示意图">{"".join(items)}</svg>'


def _stats_rows(stats: Mapping[str, Any] | None) -> str:
    if not stats or not stats.get("coverage"):
        return "<tr><td colspan=4>无影像：图斑不在影像范围内或影像为无效值。</td></tr>"

    def f(k: str, fmt: str) -> str:
        v = stats.get(k)
        return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, fmt)

    return (
        f"<tr><th>NDVI 前/后</th><td>{f('ndvi_before', '.3f')} → {f('ndvi_after', '.3f')}</td>"
        f"<th>亮度 前/后</th><td>{f('brightness_before', '.0f')} → {f('brightness_after', '.0f')}</td></tr>"
        f"<tr><th>变化像元比例</th><td>{f('share_changed', '.1%')}（约 {f('changed_m2', '.0f')} m²）</td>"
        f"<th>影像覆盖</th><td>{f('coverage', '.0%')}</td></tr>"
    )


def evidence_html(
    record: ProblemRecord,
    events: Sequence[Event],
    *,
    stats: Mapping[str, Any] | None,
    hint: Mapping[str, Any] | None,
    chips: tuple[str, str] | None,
    location: str,
    county_name: str = "",
    image_dates: tuple[str, str] = ("", ""),
    generated_at: datetime,
) -> str:
    """The one-page evidence sheet of a problem as HTML text (self-contained, prints on A4)."""
    r = record
    before_label = "前时相" + (f"（{image_dates[0]}）" if image_dates[0] else "")
    after_label = "后时相" + (f"（{image_dates[1]}）" if image_dates[1] else "")
    chips_html = (
        f'<figure><img src="{chips[0]}" alt="前时相影像"><figcaption>{_e(before_label)}</figcaption></figure>'
        f'<figure><img src="{chips[1]}" alt="后时相影像"><figcaption>{_e(after_label)}</figcaption></figure>'
        if chips
        else "<figure><figcaption>无影像</figcaption></figure>"
    )
    hint_text = ""
    if hint and hint.get("hint"):
        hint_text = f'<span class="hint">{_e(hint["hint"])}</span>：{_e(hint.get("reason", ""))}'
    elif hint:
        hint_text = _e(hint.get("reason", "")) or "无提示"
    history = "".join(
        f"<tr><td>{_e(str(e.at)[:16].replace('T', ' '))}</td><td>{_e(e.user)}</td>"
        f"<td>{_e(e.from_status.value if e.from_status else '')}→{_e(e.to_status.value)}</td>"
        f"<td>{_e('；'.join(x for x in (e.measure, e.note, '' if e.batch in e.note else e.batch) if x))}</td></tr>"
        for e in events
    )
    place = "".join(x for x in (county_name or r.county_name, r.township_name, r.village_name) if x)
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>影像佐证单 {_e(r.problem_id)}</title><style>{_CSS}</style></head>
<body>
<h1>问题图斑影像佐证单</h1>
<div class="sub">问题编号 {_e(r.problem_id)} ｜ 监测编号 {_e("、".join(r.parcel_ids))} ｜ 生成时间 {_e(generated_at.isoformat(timespec="minutes"))}</div>
<section><table>
<tr><th>位置</th><td>{_e(place)}</td><th>批次</th><td>{_e("、".join(r.batches))}</td></tr>
<tr><th>状态</th><td>{_e(r.status.value)}</td><th>类别</th><td>{_e(r.display_class)}</td></tr>
<tr><th>整改措施</th><td>{_e(r.measure) or "—"}</td><th>整改期限</th><td>{_e(r.deadline) if r.deadline else "—"}</td></tr>
<tr><th>图斑面积</th><td>{_mu(r.parcel_area_m2)}</td><th>耕地面积</th><td>{_mu(r.farmland_m2)}</td></tr>
<tr><th>永久基本农田</th><td>{_mu(r.pbf_m2)}</td><th>违法占用耕地</th><td>{_mu(r.illegal_occupied_m2)}</td></tr>
<tr><th>疑似依据</th><td colspan=3>{_e(r.candidate_reasons) or "—"}</td></tr>
</table></section>
<section class="row"><figure>{location}<figcaption>位置示意图（红：本图斑；褐：建筑；灰：相邻问题图斑）</figcaption></figure>{chips_html}</section>
<section><table>{_stats_rows(stats)}
<tr><th>影像提示</th><td colspan=3>{hint_text or "—"}</td></tr></table></section>
<section><table><tr><th style="width:18%">时间</th><th style="width:12%">操作人</th><th style="width:22%">状态</th><th>措施/说明</th></tr>{history}</table></section>
<div class="small">影像提示由程序根据前后时相影像统计生成，仅供核查参考，须以实地核查为准。黄线为图斑边界。</div>
</body></html>
"""
