"""One study task: a variant through ``scenario.pipeline`` for each of the study's prepared analyses.

Runs on a Dask worker; everything it needs travels as arguments and it returns one flat row.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Sequence
from typing import Any

from stadstwin.model.variant import Variant
from stadstwin.scenario.pipeline import Prepared, Site, run_prepared


def run_task(task_id: str, site: Site, variant: Variant, prepared: Sequence[Prepared]) -> dict[str, Any]:
    """The metrics of every analysis on the variant as ``<analysis>.<metric>`` columns.

    The row also holds ``task``, ``variant``, ``name``, ``status`` (``ok``/``error``), ``error``
    (the message) and ``seconds`` (wall clock of the task). A failure is returned as a row, never
    raised, so one bad variant does not stop a study.
    """
    start = time.perf_counter()
    row: dict[str, Any] = {"task": task_id, "variant": variant.id, "name": variant.name}
    try:
        for analysis in prepared:
            result, _ = run_prepared(site, variant, analysis)
            row.update({f"{analysis.name}.{key}": float(value) for key, value in result.metrics.items()})
        row.update(status="ok", error="")
    except Exception as exc:  # noqa: BLE001 - a study records every failure and goes on
        row.update(status="error", error=f"{type(exc).__name__}: {exc}",
                   traceback=traceback.format_exc(limit=5))
    row["seconds"] = time.perf_counter() - start
    return row
