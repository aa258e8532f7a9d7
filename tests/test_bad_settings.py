"""Settings of the wrong type or range, as a JSON body or a study file may carry them, are refused
with an InputError naming the setting, before any work, by every analysis and by the service."""

import pytest

from stadstwin.analyses.registry import ANALYSES
from stadstwin.errors import InputError
from stadstwin.rules import load_rules
from twins import small_twin

RULES = load_rules()

BAD = [
    ("clashes", {"parallel_below_deg": "steep"}, "parallel_below_deg"),
    ("clashes", {"building_tolerance_m": None}, "building_tolerance_m"),
    ("clashes", {"parallel_below_deg": float("nan")}, "parallel_below_deg"),
    ("thermal", {"hours": [24]}, "hours"),
    ("thermal", {"cutoff": "far"}, "cutoff"),
    ("thermal", {"resistivity": 0.0}, "resistivity"),
    ("thermal", {"top_sources": 0}, "top_sources"),
    ("heat", {"step_minutes": "ten"}, "step_minutes"),
    ("heat", {"hours": 15}, "hours"),
    ("heat", {"date": "9999-12-31"}, "date"),
    ("heat", {"weather": "/etc/passwd"}, "weather"),
    ("heat", {"colour": "red"}, "colour"),
]


@pytest.mark.parametrize(("analysis", "settings", "named"), BAD)
def test_bad_setting_is_named(analysis, settings, named):
    with pytest.raises(InputError) as caught:
        ANALYSES[analysis](small_twin(), RULES, settings)
    assert named in str(caught.value)
    assert isinstance(caught.value, ValueError)  # callers catching ValueError keep working
