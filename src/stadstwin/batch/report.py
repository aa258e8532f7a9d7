"""The study report: results table, ranking on the assessment frame, and each effect against each
parameter as plots — one self-contained HTML file, plus the table as CSV."""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from stadstwin.batch.study import Study  # noqa: E402
from stadstwin.model.assessment import Criterion  # noqa: E402
from stadstwin.scenario.assessment import rank  # noqa: E402


def metric_columns(results: pd.DataFrame) -> list[str]:
    """Columns holding analysis metrics (``<analysis>.<metric>``)."""
    return [c for c in results.columns if "." in c and not c.startswith("param.")]


def parameter_columns(results: pd.DataFrame) -> list[str]:
    return [c for c in results.columns if c.startswith("param.")]


def ranking(results: pd.DataFrame, frame: list[Criterion]) -> list[tuple[str, float]]:
    """Variants of the finished tasks ordered best first on the frame."""
    ok = results[results["status"] == "ok"] if len(results) else results
    values = {row["variant"]: {c: float(row[c]) for c in metric_columns(ok) if pd.notna(row[c])}
              for _, row in ok.iterrows()}
    return rank(frame, values) if values else []


def effect_plots(results: pd.DataFrame) -> dict[str, bytes]:
    """One PNG per (metric, parameter): the metric of every finished variant against the parameter."""
    ok = results[results["status"] == "ok"] if len(results) else results
    plots = {}
    for parameter in parameter_columns(ok):
        x = pd.to_numeric(ok[parameter], errors="coerce")
        if x.notna().sum() < 2:
            continue
        for metric in metric_columns(ok):
            y = pd.to_numeric(ok[metric], errors="coerce")
            keep = x.notna() & y.notna()
            if keep.sum() < 2:
                continue
            fig, ax = plt.subplots(figsize=(4.8, 3.4), dpi=100)
            ax.scatter(x[keep], y[keep], s=18)
            ax.set_xlabel(parameter.removeprefix("param."))
            ax.set_ylabel(metric)
            ax.grid(alpha=0.3)
            fig.tight_layout()
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png")
            plt.close(fig)
            plots[f"{metric} vs {parameter.removeprefix('param.')}"] = buffer.getvalue()
    return plots


def write_study_report(study: Study, results: pd.DataFrame, frame: list[Criterion]) -> Path:
    """Write ``report.html`` and ``results.csv`` into the study's output folder."""
    folder = study.output_folder
    folder.mkdir(parents=True, exist_ok=True)
    results.to_csv(folder / "results.csv", index=False)
    e = html.escape
    order = ranking(results, frame)
    names = dict(zip(results.get("variant", []), results.get("name", [])))
    parts = [f"<h1>Study {e(study.name)}</h1><p>{e(study.description)}</p>",
             f"<p>{len(results)} tasks, {int((results.get('status') == 'error').sum()) if len(results) else 0} failed.</p>",
             '<section id="ranking"><h2>Ranking</h2><table><tr><th>#</th><th>variant</th><th>score</th></tr>']
    parts += [f"<tr><td>{i}</td><td>{e(str(names.get(v, v)))} ({e(v)})</td><td>{s:.3f}</td></tr>"
              for i, (v, s) in enumerate(order, 1)]
    parts.append("</table></section><section id=\"results\"><h2>Results</h2><table><tr>")
    columns = ["variant", "name", *parameter_columns(results), *metric_columns(results), "status", "error"]
    columns = [c for c in columns if c in results.columns]
    parts.append("".join(f"<th>{e(c)}</th>" for c in columns) + "</tr>")
    for _, row in results.iterrows():
        cells = []
        for c in columns:
            value = row[c]
            text = f"{value:.3f}" if isinstance(value, float) and math.isfinite(value) else ("" if pd.isna(value) else str(value))
            cells.append(f"<td>{e(text)}</td>")
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</table></section><section id=\"plots\"><h2>Effects against parameters</h2>")
    for title, png in effect_plots(results).items():
        parts.append(f'<figure><img alt="{e(title)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'
                     f"<figcaption>{e(title)}</figcaption></figure>")
    parts.append("</section>")
    style = ("body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:.2em .5em}figure{display:inline-block;margin:.5em}")
    path = folder / "report.html"
    path.write_text(f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{e(study.name)}</title>"
                    f"<style>{style}</style></head><body>{''.join(parts)}</body></html>", encoding="utf-8")
    return path
