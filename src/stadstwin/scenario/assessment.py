"""The assessment frame (afwegingskader): criteria with thresholds and weights, verdicts and ranking.

Each criterion looks at one metric of one analysis. For two variants it says whether the change is
better, worse or the same, and whether the variant passes an absolute limit. With more variants it
ranks them: per criterion the best variant scores 1 and the worst 0 (linear in between), a failed
limit scores 0, and the weighted mean of those scores orders the variants.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import TypeAdapter

from stadstwin.model.assessment import Criterion

DEFAULT_FRAME = Path(__file__).with_name("assessment.toml")
#: Changes smaller than this (relative to the larger magnitude, or absolute below 1e-9) count as "same".
SAME_TOLERANCE = 1e-6


FRAME = TypeAdapter(list[Criterion])


def default_frame() -> list[Criterion]:
    """The shipped frame."""
    with DEFAULT_FRAME.open("rb") as f:
        return FRAME.validate_python(tomllib.load(f)["criterion"])


@dataclass(frozen=True)
class Verdict:
    """One row of the verdict table: a criterion for a base and a variant."""

    criterion: Criterion
    base: float
    variant: float
    change: float
    effect: Literal["better", "worse", "same", "n/a"]
    passes: bool | None


def verdict(criterion: Criterion, base: float | None, variant: float | None) -> Verdict:
    """Compare one metric between a base and a variant."""
    b = math.nan if base is None else float(base)
    v = math.nan if variant is None else float(variant)
    change = v - b
    if not (math.isfinite(b) and math.isfinite(v)):
        effect = "n/a"
    elif abs(change) <= max(1e-9, SAME_TOLERANCE * max(abs(b), abs(v))):
        effect = "same"
    elif (change < 0) == (criterion.better == "lower"):
        effect = "better"
    else:
        effect = "worse"
    return Verdict(criterion, b, v, change, effect, criterion.passes(v))


def rank(frame: list[Criterion], values: dict[str, dict[str, float]]) -> list[tuple[str, float]]:
    """Variants ordered best first with their score in [0, 1]; ``values[variant][metric]``."""
    variants = list(values)
    scores = {name: 0.0 for name in variants}
    total_weight = 0.0
    for criterion in frame:
        if criterion.weight == 0:
            continue
        column = {name: values[name].get(criterion.metric, math.nan) for name in variants}
        finite = [x for x in column.values() if math.isfinite(x)]
        if not finite:
            continue
        total_weight += criterion.weight
        lo, hi = min(finite), max(finite)
        for name, x in column.items():
            if not math.isfinite(x) or criterion.passes(x) is False:
                continue
            if hi == lo:
                score = 1.0
            else:
                score = (hi - x) / (hi - lo) if criterion.better == "lower" else (x - lo) / (hi - lo)
            scores[name] += criterion.weight * score
    if total_weight:
        scores = {name: s / total_weight for name, s in scores.items()}
    return sorted(scores.items(), key=lambda item: (-item[1], variants.index(item[0])))
