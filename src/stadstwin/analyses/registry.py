"""The analyses stadstwin can run, by name. Each entry is a function ``(twin, rules, settings) -> AnalysisResult``."""

from __future__ import annotations

from stadstwin.analyses.heat_stress import heat_stress
from stadstwin.analyses.programming import (
    graafrust_analysis,
    joined_analysis,
    koppelkansen_analysis,
)
from stadstwin.analyses.result import Analysis
from stadstwin.analyses.sight_lines import sight_lines
from stadstwin.analyses.underground import run_clash_check
from stadstwin.analyses.water_nuisance import water_nuisance
from stadstwin.analyses.water_warming import water_warming

ANALYSES: dict[str, Analysis] = {
    "heat": heat_stress,
    "clashes": run_clash_check,
    "thermal": water_warming,
    "water": water_nuisance,
    "sightlines": sight_lines,
}

#: Analyses of the scene's plan register (``analyses/programming.py``). They do not depend on a variant's
#: edits, so variant comparisons leave them out; the ``plans`` CLI, the service and batch studies run them.
PLANNING: dict[str, Analysis] = {
    "koppelkansen": koppelkansen_analysis,
    "graafrust": graafrust_analysis,
    "joined": joined_analysis,
}
