"""The comparison report: one self-contained HTML file (images inlined) and JSON of the same content.

Sections: the verdict table of each variant against the reference, the ranking (with more than two
variants), difference maps of every result raster both variants have, 3D snapshots, the findings of
each variant and, when the scene has a plan register, the programme: the kansenkaart with a time
filter (one map per year window), the programming table and the koppelkansen and graafrust conflicts.
"""

from __future__ import annotations

import base64
import html
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from stadstwin.model.raster import Raster
from stadstwin.render.maps import map_png
from stadstwin.scenario.assessment import Verdict
from stadstwin.scenario.compare import Comparison, VariantRun

_EFFECT_COLOUR = {"better": "#1a9850", "worse": "#d73027", "same": "#777777", "n/a": "#aaaaaa"}
#: Colour maps per result raster name; differences always use a diverging map.
_DIFF_CMAP = {"sun_hours": "PuOr", "shade": "PuOr_r", "visible": "RdYlGn"}  # visible: a lost view red
_MAX_FINDINGS_SHOWN = 200
#: Differences at most this large (in the raster's unit) count as no change: no map is drawn.
_NO_CHANGE = 1e-6


def difference_maps(comparison: Comparison) -> dict[str, bytes]:
    """PNG maps of ``variant − reference`` for every raster both have on the same grid and that changed."""
    reference = comparison.reference
    maps = {}
    for run in comparison.runs[1:]:
        for analysis, result in run.results.items():
            base = reference.results.get(analysis)
            if base is None:
                continue
            for name, raster in result.rasters.items():
                other = base.rasters.get(name)
                if other is None or other.shape != raster.shape:
                    continue
                diff = Raster(raster.values() - other.values(), raster.transform, raster.crs)
                if not np.any(np.abs(diff.array) > _NO_CHANGE):  # all NaN or unchanged: nothing to show
                    continue
                title = f"{name}: {run.variant.id} − {reference.variant.id}"
                cmap = next((c for key, c in _DIFF_CMAP.items() if key in name), "RdBu_r")
                maps[f"{run.variant.id}/{analysis}.{name}"] = map_png(
                    diff, title=title, label=f"Δ {name}", cmap=cmap, diverging=True,
                    outlines=list(run.twin.buildings.footprint),
                )
    return maps


def report_data(comparison: Comparison) -> dict[str, Any]:
    """The report's content as JSON-ready data (the service serves this)."""
    def number(x: float) -> float | None:
        return None if x is None or not math.isfinite(x) else round(float(x), 6)

    def verdict_row(v: Verdict) -> dict[str, Any]:
        return {"metric": v.criterion.metric, "label": v.criterion.label, "better": v.criterion.better,
                "limit": v.criterion.limit, "weight": v.criterion.weight, "reference": number(v.base),
                "variant": number(v.variant), "change": number(v.change), "effect": v.effect,
                "passes": v.passes}

    return {
        "scene": comparison.scene,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "reference": comparison.reference.variant.id,
        "variants": [_variant_data(run) for run in comparison.runs],
        "verdicts": {vid: [verdict_row(v) for v in rows] for vid, rows in comparison.verdicts.items()},
        "ranking": [{"variant": vid, "score": round(score, 4)} for vid, score in comparison.ranking],
        "finding_changes": {vid: {a: {"new": len(c["new"]), "resolved": len(c["resolved"])} for a, c in per.items()}
                            for vid, per in comparison.changes.items()},
        "runs": {"computed": comparison.computed, "reused": comparison.reused},
    }


def _variant_data(run: VariantRun) -> dict[str, Any]:
    v = run.variant
    return {
        "id": v.id, "name": v.name, "phase": v.phase.value, "theme": v.theme, "parties": v.parties,
        "edits": len(v.edits),
        "metrics": {f"{a}.{k}": value for a, r in run.results.items() for k, value in r.metrics.items()},
        "findings": {a: r.findings for a, r in run.results.items() if r.findings},
        "settings": {a: r.settings for a, r in run.results.items()},
    }


@dataclass(frozen=True)
class Programme:
    """The plan register's views for the report: kansenkaart PNGs per time window label ("all years"
    first), the programming table PNG, and the koppelkansen and graafrust conflicts (GeoJSON features)."""

    maps: dict[str, bytes]
    table: bytes
    koppelkansen: list[dict[str, Any]]
    graafrust: list[dict[str, Any]]


def write_report(comparison: Comparison, folder: Path, *, snapshots: dict[str, bytes] | None = None,
                 programme: Programme | None = None) -> tuple[Path, Path]:
    """Write ``report.html`` (self-contained) and ``report.json`` into ``folder``; returns both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    data = report_data(comparison)
    maps = difference_maps(comparison)
    json_path = folder / "report.json"
    extra = {} if programme is None else {"programme": {
        "kansenkaart": list(programme.maps), "koppelkansen": programme.koppelkansen, "graafrust": programme.graafrust}}
    json_path.write_text(json.dumps({**data, "difference_maps": sorted(maps),
                                     "snapshots": sorted(snapshots or {}), **extra}, indent=2, default=str))
    html_path = folder / "report.html"
    html_path.write_text(_html(comparison, data, maps, snapshots or {}, programme), encoding="utf-8")
    return html_path, json_path


def _programme_html(programme: Programme) -> list[str]:
    """The programme section: kansenkaart with a time filter, programming table, chances and conflicts."""
    e = html.escape
    parts = ['<section id="programme"><h2>Programme: kansenkaart and programming table</h2>',
             ('<p><label>Works in <select id="kansenkaart-years" onchange="for (const f of document.querySelectorAll('
              "'figure.kansenkaart')) f.hidden = f.dataset.years !== this.value\">")]
    parts += [f'<option value="{e(label)}">{e(label)}</option>' for label in programme.maps]
    parts.append("</select></label></p>")
    for k, (label, png) in enumerate(programme.maps.items()):
        hidden = " hidden" if k else ""
        parts.append(f'<figure class="kansenkaart" data-years="{e(label)}"{hidden} style="width:98%">'
                     f"{_img(png, f'kansenkaart {label}')}<figcaption>kansenkaart, works in {e(label)}</figcaption></figure>")
    parts.append(f'<figure id="programming-table" style="width:98%">{_img(programme.table, "programming table")}'
                 "<figcaption>programming table: phases per plan over the years</figcaption></figure>")
    parts.append(f"<h3>Koppelkansen ({len(programme.koppelkansen)})</h3><table><tr><th>plans</th><th>parties</th>"
                 "<th>gap [years]</th><th>shared [m]</th><th>saving</th><th>joined route check</th></tr>")
    for f in programme.koppelkansen:
        q = f["properties"]
        joined = q.get("joined")
        check = (f"{joined['verdict']} ({joined['certain']} certain, {joined['possible']} possible)"
                 if joined else "no new cable or pipe route")
        parts.append(f"<tr><td>{e(' + '.join(q['plans']))}</td><td>{e(', '.join(q['parties']))}</td>"
                     f"<td>{q['gap_years']:.2f}</td><td>{q['shared_length_m']:.0f}</td><td>{e(q['saving'])}</td>"
                     f"<td>{e(check)}</td></tr>")
    parts.append(f"</table><h3>Graafrust conflicts ({len(programme.graafrust)})</h3><ul>")
    parts += [f"<li>{e(f['properties']['message'])}</li>" for f in programme.graafrust]
    parts.append("</ul></section>")
    return parts


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _fmt(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "–"
    return f"{x:,.2f}" if abs(x) < 1e5 else f"{x:,.0f}"


def _html(comparison: Comparison, data: dict[str, Any], maps: dict[str, bytes], snapshots: dict[str, bytes],
          programme: Programme | None = None) -> str:
    e = html.escape
    ref = comparison.reference.variant
    parts = [f"<h1>{e(comparison.scene)}: what do the plans do here?</h1>",
             f"<p>Reference: <b>{e(ref.name)}</b> ({e(ref.id)}). Created {e(data['created'])}; "
             f"{comparison.computed} analysis runs computed, {comparison.reused} reused from the cache.</p>"]
    parts.append('<section id="verdicts"><h2>Verdict</h2>')
    for run in comparison.runs[1:]:
        v = run.variant
        parts.append(f"<h3>{e(v.name)} ({e(v.id)}, phase {e(v.phase.value)}) against {e(ref.id)}</h3>")
        parts.append("<table><tr><th>criterion</th><th>reference</th><th>variant</th><th>change</th>"
                     "<th>effect</th><th>limit</th><th>weight</th></tr>")
        for row in comparison.verdicts[v.id]:
            limit = "–" if row.passes is None else ("passes" if row.passes else "<b>fails</b>")
            if row.criterion.limit is not None:
                limit += f" ({'≤' if row.criterion.better == 'lower' else '≥'} {row.criterion.limit:g})"
            parts.append(
                f"<tr><td>{e(row.criterion.label)}</td><td>{_fmt(row.base)}</td><td>{_fmt(row.variant)}</td>"
                f"<td>{_fmt(row.change)}</td><td style=\"color:{_EFFECT_COLOUR[row.effect]}\"><b>{row.effect}</b></td>"
                f"<td>{limit}</td><td>{row.criterion.weight:g}</td></tr>")
        parts.append("</table>")
    parts.append("</section>")
    parts.append('<section id="ranking"><h2>Ranking</h2><table><tr><th>#</th><th>variant</th><th>score</th></tr>')
    names = {run.variant.id: run.variant.name for run in comparison.runs}
    for i, (vid, score) in enumerate(comparison.ranking, 1):
        parts.append(f"<tr><td>{i}</td><td>{e(names[vid])} ({e(vid)})</td><td>{score:.3f}</td></tr>")
    parts.append("</table><p>Per criterion the best variant scores 1 and the worst 0; a failed limit scores 0; "
                 "the weighted mean orders the variants.</p></section>")
    parts.append('<section id="metrics"><h2>All effects</h2><table><tr><th>metric</th>'
                 + "".join(f"<th>{e(run.variant.id)}</th>" for run in comparison.runs) + "</tr>")
    names = sorted({m for v in data["variants"] for m in v["metrics"]})
    for name in names:
        cells = "".join(f"<td>{_fmt(v['metrics'].get(name))}</td>" for v in data["variants"])
        parts.append(f"<tr><td>{e(name)}</td>{cells}</tr>")
    parts.append("</table><p>Per surface type: suffixes _carriageway, _pavement, _verge; _plan_area is the "
                 "union of the compared variants' plan areas.</p></section>")
    parts.append('<section id="maps"><h2>Difference maps</h2>')
    parts += [f"<figure>{_img(png, name)}<figcaption>{e(name)}</figcaption></figure>" for name, png in maps.items()]
    if not maps:
        parts.append("<p>No result rasters to compare.</p>")
    parts.append("</section>")
    parts.append('<section id="snapshots"><h2>3D</h2>')
    parts += [f"<figure>{_img(png, name)}<figcaption>{e(name)}</figcaption></figure>" for name, png in snapshots.items()]
    if not snapshots:
        parts.append("<p>No 3D snapshots.</p>")
    parts.append("</section>")
    if programme is not None:
        parts += _programme_html(programme)
    parts.append('<section id="changes"><h2>New and resolved findings</h2>')
    for vid, per in comparison.changes.items():
        for analysis, change in per.items():
            if not (change["new"] or change["resolved"]):
                continue
            parts.append(f"<h3>{e(vid)}: {e(analysis)} — {len(change['new'])} new, "
                         f"{len(change['resolved'])} resolved</h3><table><tr><th></th><th>check</th><th>assets</th>"
                         "<th>severity</th></tr>")
            for label, rows in (("new", change["new"]), ("resolved", change["resolved"])):
                for feature in rows[:_MAX_FINDINGS_SHOWN]:
                    props = feature.get("properties", {})
                    assets = ", ".join(str(v) for k, v in props.items() if k.startswith("feature") and v)
                    parts.append(f"<tr><td>{label}</td><td>{e(str(props.get('check', '')))}</td><td>{e(assets)}</td>"
                                 f"<td>{e(str(props.get('severity', '')))}</td></tr>")
            parts.append("</table>")
    if not any(c["new"] or c["resolved"] for per in comparison.changes.values() for c in per.values()):
        parts.append("<p>The variants change no findings.</p>")
    parts.append("</section>")
    parts.append('<section id="findings"><h2>Findings</h2>')
    for run in comparison.runs:
        for analysis, result in run.results.items():
            if not result.findings:
                continue
            parts.append(f"<h3>{e(run.variant.id)}: {e(analysis)} ({len(result.findings)})</h3>")
            keys = [k for k in result.findings[0].get("properties", {}) if k != "geometry"][:8]
            parts.append("<table><tr>" + "".join(f"<th>{e(k)}</th>" for k in keys) + "</tr>")
            for feature in result.findings[:_MAX_FINDINGS_SHOWN]:
                props = feature.get("properties", {})
                parts.append("<tr>" + "".join(f"<td>{e(str(props.get(k, '')))}</td>" for k in keys) + "</tr>")
            parts.append("</table>")
            if len(result.findings) > _MAX_FINDINGS_SHOWN:
                parts.append(f"<p>… and {len(result.findings) - _MAX_FINDINGS_SHOWN} more in report.json.</p>")
    parts.append("</section>")
    style = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;"
             "margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}"
             "td:first-child,th:first-child{text-align:left}img{max-width:100%}figure{display:inline-block;"
             "width:48%;margin:.5%}")
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{e(comparison.scene)} — "
            f"stadstwin comparison</title><style>{style}</style></head><body>{''.join(parts)}</body></html>")
