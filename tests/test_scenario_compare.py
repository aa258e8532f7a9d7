"""Comparing variants: verdicts against the reference, ranking, and result caching by content."""

import math

import numpy as np
import pytest
import shapely
from twins import X0, Y0, small_site, small_twin, square

from stadstwin.analyses.result import AnalysisResult
from stadstwin.errors import SceneError
from stadstwin.model.assessment import Criterion
from stadstwin.model.enums import Status
from stadstwin.model.variant import Variant
from stadstwin.scenario.assessment import rank, verdict
from stadstwin.scenario.compare import compare_variants
from stadstwin.scenario.variants import BASE, base_variant


class Counting:
    """Wrap an analysis and count how often it really runs."""

    def __init__(self, function):
        self.function = function
        self.calls = 0

    def __call__(self, twin, rules, settings):
        self.calls += 1
        return self.function(twin, rules, settings)


def built_volume(twin, rules, settings):
    """Built volume [m3] and roof area [m2]: footprint area times height, summed."""
    area = shapely.area(twin.buildings.footprint)
    return AnalysisResult("built", metrics={
        "volume_m3": float(np.sum(area * twin.buildings.height)),
        "roof_area_m2": float(np.sum(area)),
    })


def active_networks(twin, rules, settings):
    """Length of networks in use [m]."""
    active = twin.networks.status != Status.ABANDONED
    return AnalysisResult("networks", metrics={"active_length_m": float(twin.networks.length[active].sum())})


FRAME = [
    Criterion(metric="built.volume_m3", label="Built volume", better="lower", limit=1500.0, weight=2),
    Criterion(metric="networks.active_length_m", label="Network length", better="higher", weight=1),
]

TOWER = Variant(id="tower", name="Tower", edits=[{"type": "add_building", "id": "t", "footprint": square(X0 + 20, Y0 + 20, 5), "height": 30.0}])
DEMOLISH = Variant(id="demolish", name="Demolish", edits=[{"type": "remove_buildings", "id": "d", "buildings": ["NL.IMBAG.Pand.1"]},
                                                           {"type": "abandon_network", "id": "a", "features": ["nl.imkl-W1"]}])


def run(cache_folder, volume, networks, variants=(TOWER, DEMOLISH)):
    site = small_site({"built": volume, "networks": networks}, cache_folder)
    return compare_variants(site, [base_variant("t"), *variants], frame=FRAME)


def test_verdicts_against_reference_and_known_diffs():
    result = run(None, Counting(built_volume), Counting(active_networks))
    tower = {v.criterion.metric: v for v in result.verdicts["tower"]}
    assert tower["built.volume_m3"].base == pytest.approx(80 * 9.0)  # 10 x 8 m footprint, 9 m high
    assert tower["built.volume_m3"].change == pytest.approx(25 * 30.0)
    assert tower["built.volume_m3"].effect == "worse" and tower["built.volume_m3"].passes is True
    assert tower["networks.active_length_m"].effect == "same"
    demolish = {v.criterion.metric: v for v in result.verdicts["demolish"]}
    assert demolish["built.volume_m3"].variant == 0.0 and demolish["built.volume_m3"].effect == "better"
    assert demolish["networks.active_length_m"].variant == 0.0 and demolish["networks.active_length_m"].effect == "worse"
    # ranking: volume (weight 2) base 720 / tower 1470 / demolish 0; length (weight 1) 40 / 40 / 0
    scores = dict(result.ranking)
    assert scores[BASE] == pytest.approx((2 * (1470 - 720) / 1470 + 1) / 3)
    assert scores["tower"] == pytest.approx(1 / 3)
    assert scores["demolish"] == pytest.approx(2 / 3)
    assert [name for name, _ in result.ranking] == [BASE, "demolish", "tower"]


def test_unchanged_analyses_are_not_recomputed(tmp_path):
    cache = tmp_path
    volume, networks = Counting(built_volume), Counting(active_networks)
    first = run(cache, volume, networks)
    assert (volume.calls, networks.calls) == (3, 3) and first.computed == 6
    second = run(cache, volume, networks)
    assert (volume.calls, networks.calls) == (3, 3) and second.reused == 6
    taller = Variant(id="tower", name="Tower", edits=[{**TOWER.edits[0], "height": 40.0}])
    third = run(cache, volume, networks, variants=(taller, DEMOLISH))
    assert (volume.calls, networks.calls) == (4, 4)  # only the changed variant ran again
    assert third.computed == 2 and third.reused == 4
    assert dict((v.criterion.metric, v.variant) for v in third.verdicts["tower"])["built.volume_m3"] == pytest.approx(720 + 1000)


def test_limit_failure_scores_zero():
    frame = [Criterion(metric="a.x", label="x", better="lower", limit=5, weight=1)]
    assert rank(frame, {"p": {"a.x": 6.0}, "q": {"a.x": 10.0}}) == [("p", 0.0), ("q", 0.0)]
    assert rank(frame, {"p": {"a.x": 4.0}, "q": {"a.x": 5.0}}) == [("p", 1.0), ("q", 0.0)]


def test_missing_metric_is_not_applicable():
    row = verdict(FRAME[0], None, 3.0)
    assert row.effect == "n/a" and math.isnan(row.base)


def test_a_comparison_needs_two_variants():
    with pytest.raises(SceneError, match="at least two"):
        compare_variants(small_site({}), [base_variant("t")])


def test_new_and_resolved_findings_match_by_check_and_assets():
    from stadstwin.scenario.compare import VariantRun, finding_changes

    def finding(check, a, b, severity="certain"):
        return {"type": "Feature", "geometry": None,
                "properties": {"check": check, "feature_a": a, "feature_b": b, "severity": severity}}

    reference = VariantRun(base_variant("t"), small_twin(), "k", {"clashes": AnalysisResult("clashes", findings=[
        finding("clearance", "w1", "e1"), finding("cover", "g1", None)])})
    variant = VariantRun(TOWER, small_twin(), "k2", {"clashes": AnalysisResult("clashes", findings=[
        finding("clearance", "e1", "w1", severity="possible"), finding("hard_clash", "h1", "w1")])})
    change = finding_changes(reference, variant)["clashes"]
    assert [f["properties"]["check"] for f in change["new"]] == ["hard_clash"]
    assert [f["properties"]["check"] for f in change["resolved"]] == ["cover"]
