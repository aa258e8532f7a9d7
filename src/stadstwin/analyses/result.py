"""What every analysis returns: scalar metrics, findings as GeoJSON features, rasters and details.

The scenario layer diffs ``metrics`` between variants, the service serves ``findings`` and
``rasters``, ``render`` draws figures from a result on demand. Analyses return data only: they never
draw or read files. Everything here pickles, so results can be cached.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from stadstwin.errors import InputError
from stadstwin.model.raster import Raster
from stadstwin.model.twin import Twin
from stadstwin.rules import Rules


@dataclass(eq=False)
class AnalysisResult:
    """The outcome of one analysis on one twin.

    metrics   scalar effects, named with their unit (e.g. ``hours_above_limit_h``)
    findings  GeoJSON Feature dicts (EPSG:7415 coordinates) with a ``severity`` property
    rasters   named result rasters (e.g. ``sun_hours``, ``pet_mean``)
    details   analysis-specific data for tables and figures (e.g. the thermal per-segment series)
    settings  the settings it ran with, as the pipeline resolved them (JSON-like; files by digest)
    """

    analysis: str
    metrics: dict[str, float] = field(default_factory=dict)
    findings: list[dict[str, Any]] = field(default_factory=list)
    rasters: dict[str, Raster] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)


class Analysis(Protocol):
    """An analysis: a twin and its rules in, a result out. ``settings`` are JSON-like options."""

    def __call__(self, twin: Twin, rules: Rules, settings: dict[str, Any]) -> AnalysisResult: ...


def with_defaults(settings: dict[str, Any], defaults: dict[str, Any], analysis: str) -> dict[str, Any]:
    """``settings`` over ``defaults``; a key the analysis does not know raises ``InputError`` naming it."""
    unknown = sorted(set(settings) - set(defaults))
    if unknown:
        raise InputError(f"unknown {analysis} settings {unknown}", feature=analysis,
                         hint=f"settings are {', '.join(defaults)}")
    return {**defaults, **settings}
