"""The study report: ranking on the assessment frame, failed tasks, the results table and each
effect against each parameter as plots — one self-contained HTML file (PNG inlined), plus the
table as ``results.csv``."""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from stadstwin.batch.study import Study
from stadstwin.model.assessment import Criterion
from stadstwin.scenario.assessment import rank
from stadstwin.scenario.variants import BASE

_STYLE = ("body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;"
          "font-size:.9em}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:right}"
          "td:nth-child(-n+3),th{text-align:left}.fail{color:#b00}figure{display:inline-block;margin:.5em}"
          "figcaption{font-size:.85em;text-align:center}")


def metric_columns(results: pd.DataFrame) -> list[str]:
    """Columns holding analysis metrics (``<analysis>.<metric>``)."""
    return [c for c in results.columns if "." in c and not c.startswith("param.")]


def parameter_columns(results: pd.DataFrame) -> list[str]:
    """Columns holding the parameters of generated variants (``param.<name>``)."""
    return [c for c in results.columns if c.startswith("param.")]


def finished(results: pd.DataFrame) -> pd.DataFrame:
    """The rows of tasks that completed."""
    return results[results["status"] == "ok"] if "status" in results else results


def ranking(results: pd.DataFrame, frame: list[Criterion]) -> list[tuple[str, float]]:
    """Variants of the finished tasks, best first, with their score in [0, 1] on the frame."""
    ok = finished(results)
    columns = metric_columns(ok)
    values = {row["variant"]: {c: float(row[c]) for c in columns if pd.notna(row[c])} for _, row in ok.iterrows()}
    return rank(frame, values) if values else []


def effect_plots(results: pd.DataFrame) -> dict[str, bytes]:
    """One PNG per (metric, parameter): the metric of every finished variant against the parameter.

    A dashed line marks the base (unchanged scene) where the study ran it. Text parameters (e.g. a
    species) are plotted per category.
    """
    ok = finished(results)
    base = ok[ok["variant"] == BASE] if "variant" in ok else ok.iloc[:0]
    plots = {}
    for parameter in parameter_columns(ok):
        raw = ok[parameter]
        x = pd.to_numeric(raw, errors="coerce")
        categories: list[str] = []
        if x.notna().sum() < raw.notna().sum():  # text values: one position per category
            categories = sorted({str(v) for v in raw.dropna()})
            position = {name: float(i) for i, name in enumerate(categories)}
            x = raw.map(lambda v, at=position: at.get(str(v), math.nan)).astype(float)
        label = parameter.removeprefix("param.")
        for metric in metric_columns(ok):
            y = pd.to_numeric(ok[metric], errors="coerce")
            keep = x.notna() & y.notna()
            if keep.sum() < 2:
                continue
            fig, ax = plt.subplots(figsize=(4.8, 3.4), dpi=100)
            ax.scatter(x[keep], y[keep], s=18, zorder=3)
            if len(base) and pd.notna(base[metric].iloc[0]):
                ax.axhline(float(base[metric].iloc[0]), color="0.4", ls="--", lw=1, label="base")
                ax.legend(loc="best", fontsize=8)
            if categories:
                ax.set_xticks(range(len(categories)), categories, rotation=20, fontsize=8)
            ax.set_xlabel(label)
            ax.set_ylabel(metric)
            ax.grid(alpha=0.3)
            fig.tight_layout()
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png")
            plt.close(fig)
            plots[f"{metric} vs {label}"] = buffer.getvalue()
    return plots


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4g}"
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _ranking_section(results: pd.DataFrame, frame: list[Criterion]) -> str:
    e = html.escape
    order = ranking(results, frame)
    present = [c for c in frame if c.metric in results.columns]
    if not order or not present:
        return ('<section id="ranking"><h2>Ranking on the assessment frame</h2><p>No metric of the assessment '
                "frame among the finished tasks.</p></section>")
    rows = results.drop_duplicates("variant").set_index("variant")
    head = "".join(f"<th>{e(c.label)}<br><small>{e(c.metric)} ({c.better} better, weight {c.weight:g}"
                   f"{'' if c.limit is None else f', limit {c.limit:g}'})</small></th>" for c in present)
    parts = ['<section id="ranking"><h2>Ranking on the assessment frame</h2><table>',
             f"<tr><th>#</th><th>variant</th><th>name</th><th>score</th>{head}</tr>"]
    for i, (variant, score) in enumerate(order, 1):
        cells = []
        for c in present:
            value = float(rows.loc[variant, c.metric])
            style = ' class="fail"' if c.passes(value) is False else ""
            cells.append(f"<td{style}>{_cell(value)}</td>")
        parts.append(f"<tr><td>{i}</td><td>{e(variant)}</td><td>{e(_cell(rows.loc[variant, 'name']))}</td>"
                     f"<td>{score:.3f}</td>{''.join(cells)}</tr>")
    parts.append('</table><p>Score: per criterion the best variant 1, the worst 0, a failed limit 0 (red); '
                 "weighted mean.</p></section>")
    return "".join(parts)


def _failures_section(results: pd.DataFrame) -> str:
    if "status" not in results or not (results["status"] == "error").any():
        return ""
    e = html.escape
    failed = results[results["status"] == "error"]
    items = "".join(f"<li><b>{e(str(row['variant']))}</b>: {e(str(row['error']))}</li>" for _, row in failed.iterrows())
    return f'<section id="failed"><h2>Failed tasks</h2><ul>{items}</ul></section>'


def _results_section(results: pd.DataFrame) -> str:
    e = html.escape
    columns = ["variant", "name", *parameter_columns(results), *metric_columns(results), "status", "seconds"]
    columns = [c for c in columns if c in results.columns]
    parts = ['<section id="results"><h2>Results</h2><table><tr>',
             "".join(f"<th>{e(c.removeprefix('param.'))}</th>" for c in columns), "</tr>"]
    for _, row in results.iterrows():
        parts.append("<tr>" + "".join(f"<td>{e(_cell(row[c]))}</td>" for c in columns) + "</tr>")
    parts.append("</table></section>")
    return "".join(parts)


def write_study_report(study: Study, results: pd.DataFrame, frame: list[Criterion]) -> Path:
    """Write ``report.html`` and ``results.csv`` into the study's output folder; returns the HTML path."""
    folder = study.output_folder
    folder.mkdir(parents=True, exist_ok=True)
    results.to_csv(folder / "results.csv", index=False)
    e = html.escape
    failed = int((results["status"] == "error").sum()) if "status" in results else 0
    figures = "".join(f'<figure><img alt="{e(title)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'
                      f"<figcaption>{e(title)}</figcaption></figure>" for title, png in effect_plots(results).items())
    body = (f"<h1>Study {e(study.name)}</h1><p>{e(study.description)}</p>"
            f"<p>Scene <code>{e(str(study.scene_path))}</code>; analyses {e(', '.join(study.analyses))}; "
            f"{len(results)} tasks, {failed} failed.</p>"
            f"{_ranking_section(results, frame)}{_failures_section(results)}{_results_section(results)}"
            f'<section id="plots"><h2>Effects against parameters</h2>{figures or "<p>No generated parameters.</p>"}'
            "</section>")
    path = folder / "report.html"
    path.write_text(f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{e(study.name)}</title>'
                    f"<style>{_STYLE}</style></head><body>{body}</body></html>", encoding="utf-8")
    return path
