"""Buildings outside the extent cast shadow into it: the twin's context, within ``shadow_buffer``.

Reference: the same analysis on a scene whose extent is widened by the buffer (no context of its
own), cropped back to the small extent. Real buildings: the LoD 1 CityJSON of the Delft test area.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from twins import write_scene_toml

from stadstwin import build_twin
from stadstwin.analyses import heat_inputs as inputs
from stadstwin.analyses.heat_stress import heat_stress
from stadstwin.rules import load_rules

SMALL = (84860.0, 447500.0, 84920.0, 447560.0)  # m RD New, among the Delft test area's buildings
BUFFER = 40.0  # m
CELL = 2.0  # m
SETTINGS = {"hours": [12, 15], "step_minutes": 30}


def _scene(folder, cityjson, bounds, buffer):
    write_scene_toml(folder, bounds, f'[sources]\ncityjson = ["{cityjson}"]\n[terrain]\nconstant_nap = 0.0\n',
                     cell_size=CELL, shadow_buffer=buffer)
    return build_twin(folder, use_cache=False)


@pytest.fixture(scope="module")
def runs(shared_data, tmp_path_factory):
    cityjson = shared_data / "delft" / "testarea_lod1.city.json"
    root = tmp_path_factory.mktemp("buffer")
    wide = tuple(v + d for v, d in zip(SMALL, (-BUFFER, -BUFFER, BUFFER, BUFFER)))
    twins = {"buffered": _scene(root / "buffered", cityjson, SMALL, BUFFER),
             "cut": _scene(root / "cut", cityjson, SMALL, 0.0),
             "wide": _scene(root / "wide", cityjson, wide, 0.0)}
    rules = load_rules()
    return twins, {k: heat_stress(t, rules, SETTINGS) for k, t in twins.items()}


def test_context_holds_the_buildings_outside_the_extent_within_the_buffer(runs):
    twins, _ = runs
    small, context = shapely.box(*SMALL), twins["buffered"].context
    assert len(context) > 5 and not len(twins["cut"].context)
    assert not shapely.intersects(context.footprint, small).any()
    assert (shapely.distance(context.footprint, small) <= BUFFER * np.sqrt(2)).all()
    assert np.isfinite(context.roof_z).all()
    # every building of the wide scene is either in the small twin or in its context
    ids = {str(i) for i in (*twins["buffered"].buildings.source_id, *context.source_id)}
    assert {str(i) for i in twins["wide"].buildings.source_id} <= ids


def test_widened_casters_keep_the_twin_inside_and_burn_the_context_outside(runs):
    twins, _ = runs
    twin = twins["buffered"]
    terrain = inputs.ground(twin)
    dsm = inputs.building_dsm(twin, terrain)
    casters = inputs.surroundings(twin, terrain, dsm, np.zeros(dsm.shape))
    np.testing.assert_array_equal(casters.dsm[casters.core], dsm)
    rows, cols = casters.dsm.shape
    xs = casters.origin[0] + (np.arange(cols) + 0.5) * CELL
    ys = casters.origin[1] - (np.arange(rows) + 0.5) * CELL
    cx, cy = np.meshgrid(xs, ys)
    tallest = int(np.argmax(twin.context.roof_z))
    inside = shapely.contains_xy(twin.context.footprint[tallest], cx, cy)
    assert inside.any() and np.all(casters.dsm[inside] >= twin.context.roof_z[tallest])


@pytest.mark.parametrize("name", ["shade_12h", "shade_15h", "sun_hours"])
def test_buffered_extent_equals_the_wide_scene_cropped(runs, name):
    twins, results = runs
    wide = twins["wide"].dtm
    r0 = round((wide.bounds[3] - SMALL[3]) / CELL)
    c0 = round((SMALL[0] - wide.bounds[0]) / CELL)
    rows, cols = twins["buffered"].dtm.shape
    reference = results["wide"].rasters[name].array[r0:r0 + rows, c0:c0 + cols]
    buffered = results["buffered"].rasters[name].array
    cut = results["cut"].rasters[name].array
    both = np.isfinite(reference) & np.isfinite(buffered)
    # the sun is taken at each grid's centre (metres apart): a few cells on a shadow edge may flip
    close = np.isclose(buffered, reference, atol=0.02)[both].mean()
    assert close >= 0.999
    # without the buffer the neighbours' shadows are missing
    assert (~np.isclose(cut, reference, atol=0.02))[both].sum() >= 5


def test_context_closes_the_sky_at_the_edge(runs):
    """More obstacles, less sky: along the extent's edge the buffered SVF is lower on average (cell by
    cell the sweep's digital lines shift with the widened grid, so single cells may differ either way)."""
    _, results = runs
    buffered, cut = (results[k].rasters["svf"].array for k in ("buffered", "cut"))
    edge = np.ones(cut.shape, dtype=bool)
    edge[3:-3, 3:-3] = False
    assert (cut - buffered)[edge].mean() > 0.02
    assert abs((cut - buffered)[~edge].mean()) < (cut - buffered)[edge].mean()
