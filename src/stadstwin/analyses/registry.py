"""The analyses stadstwin can run, by name. Each entry is a function ``(twin, rules, settings) -> AnalysisResult``."""

from __future__ import annotations

from stadstwin.analyses.result import Analysis

ANALYSES: dict[str, Analysis] = {}
