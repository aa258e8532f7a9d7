"""One study task: apply a variant to the base twin and run the study's analyses on it.

Runs on a Dask worker; everything it needs travels as arguments and it returns one flat row.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Mapping
from typing import Any

from stadstwin.analyses.result import Analysis
from stadstwin.model.twin import Twin
from stadstwin.model.variant import Variant
from stadstwin.rules import Rules
from stadstwin.scenario.apply import apply_variant


def run_task(
    task_id: str,
    base: Twin,
    variant: Variant,
    rules: Rules,
    analyses: Mapping[str, Analysis],
    settings: Mapping[str, dict[str, Any]],
) -> dict[str, Any]:
    """The metrics of every analysis on the variant as ``<analysis>.<metric>`` columns.

    The row also holds ``task``, ``variant``, ``name``, ``status`` (``ok``/``error``), ``error``
    (the message) and ``seconds`` (wall clock of the task). A failure is returned as a row, never
    raised, so one bad variant does not stop a study.
    """
    start = time.perf_counter()
    row: dict[str, Any] = {"task": task_id, "variant": variant.id, "name": variant.name}
    try:
        twin = apply_variant(base, variant, rules) if variant.edits else base
        for name, analysis in analyses.items():
            result = analysis(twin, rules, dict(settings.get(name, {})))
            row.update({f"{name}.{key}": float(value) for key, value in result.metrics.items()})
        row.update(status="ok", error="")
    except Exception as exc:  # noqa: BLE001 - a study records every failure and goes on
        row.update(status="error", error=f"{type(exc).__name__}: {exc}",
                   traceback=traceback.format_exc(limit=5))
    row["seconds"] = time.perf_counter() - start
    return row
