"""Hyetographs from CSV: rain depth per equal time step, as the stress test's own storms are given.

Columns ``minutes`` (end of the step, minutes from the start of the storm) and ``mm`` (rain in
that step); ``;`` or ``,`` separated, one header row. Steps must be equal and the rows in order.
"""

from __future__ import annotations

import csv
from pathlib import Path

from stadstwin.errors import InputError


def read_hyetograph(path: Path) -> tuple[list[float], float]:
    """(rain [mm] per step, step [min]) of a hyetograph CSV (module doc); ``InputError`` naming file and line."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the hyetograph: {exc}", path=path) from None
    rows = list(csv.reader(text.splitlines(), delimiter=";" if ";" in text.splitlines()[0] else ","))
    header = [h.strip().lower() for h in rows[0]] if rows else []
    if "minutes" not in header or "mm" not in header:
        raise InputError("a hyetograph needs the columns 'minutes' and 'mm'", path=path, feature="header",
                         hint="e.g. minutes,mm then 5,2.1 / 10,4.0 …")
    t, r = header.index("minutes"), header.index("mm")
    ends, rain = [], []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            ends.append(float(row[t]))
            rain.append(float(row[r]))
        except (ValueError, IndexError):
            raise InputError(f"line {line} is not two numbers: {row}", path=path, feature=f"line {line}") from None
        if rain[-1] < 0 or rain[-1] != rain[-1]:
            raise InputError(f"line {line}: rain {rain[-1]} mm is not ≥ 0", path=path, feature=f"line {line}")
    if not rain:
        raise InputError("the hyetograph holds no rows", path=path)
    steps = [b - a for a, b in zip([0.0, *ends[:-1]], ends)]
    if min(steps) <= 0 or max(steps) - min(steps) > 1e-6 * max(steps):
        raise InputError(f"time steps must be equal and increasing, got {sorted(set(steps))} min", path=path,
                         feature="minutes")
    return rain, steps[0]
