"""Rule tables: shipped defaults load, every value has a source, overrides apply, bad values are named."""

import numpy as np
import pytest

from stadstwin.errors import RuleError
from stadstwin.model.enums import Surface
from stadstwin.model.utilities import Utility
from stadstwin.rules import load_rules
from stadstwin.rules.tables import RULES_DIR, TABLES, Sourced


def sourced_entries(model):
    """Every sourced entry anywhere in a rules model."""
    if isinstance(model, Sourced):
        yield model
    if isinstance(model, dict):
        for value in model.values():
            yield from sourced_entries(value)
    elif hasattr(model, "__pydantic_fields__"):
        for name in type(model).model_fields:
            yield from sourced_entries(getattr(model, name))


def test_every_table_is_shipped_and_every_value_has_a_source():
    rules = load_rules()
    assert sorted(p.stem for p in RULES_DIR.glob("*.toml")) == sorted(TABLES)
    entries = list(sourced_entries(rules))
    assert len(entries) > 40
    assert all(e.source.strip() for e in entries)
    # NEN 7171-1 is not public: every clearance and cover value is flagged as practice
    assert all(p.practice for p in rules.clearances.pairs.values())
    assert all(c.practice for c in rules.cover.values())
    assert rules.drinking_water.limit.value == 25.0 and not rules.drinking_water.limit.practice


def test_reference_practice_values():
    rules = load_rules()
    parallel, crossing = rules.clearance_matrices()
    assert parallel[Utility.ELECTRICITY_LV, Utility.TELECOM] == 0.25
    assert parallel[Utility.ELECTRICITY_LV, Utility.GAS_LP] == 0.50
    assert parallel[Utility.WATER, Utility.ELECTRICITY_MV] == 0.50
    assert parallel[Utility.GAS_HP, Utility.WATER] == 2.0
    assert parallel[Utility.DISTRICT_HEATING, Utility.WATER] == 0.5
    np.testing.assert_array_equal(parallel, parallel.T)
    np.testing.assert_array_equal(crossing, crossing.T)
    cover = rules.cover_matrix()
    assert cover[Utility.ELECTRICITY_LV, Surface.PAVEMENT] == 0.60
    assert cover[Utility.ELECTRICITY_MV, Surface.CARRIAGEWAY] == 1.00
    assert cover[Utility.ELECTRICITY_MV, Surface.VERGE] == 0.70
    assert cover[Utility.ELECTRICITY_MV, Surface.UNKNOWN] == 1.00
    assert np.isnan(cover[Utility.WATER, Surface.WATER])
    assert rules.trees.trunk_clearance.value == 2.0
    assert rules.clearances.min_crossing_angle.value == 45.0
    assert rules.soil_properties("nen1010").resistivity == 2.5


def test_override_changes_value_and_records_its_origin():
    rules = load_rules({"cover": {"water": {"pavement": 1.2}}}, origin="scenes/x/scene.toml")
    assert rules.cover["water"].pavement == 1.2
    assert rules.cover["water"].carriageway == 1.0  # untouched keys stay
    assert rules.cover["water"].source == "override in scenes/x/scene.toml"
    assert rules.cover["water"].practice
    assert load_rules().cover["water"].pavement == 0.8  # the shipped table is not changed


def test_override_with_own_source_keeps_it():
    rules = load_rules({"trees": {"trunk_clearance": {"value": 2.5, "source": "gemeente X", "practice": False}}})
    assert rules.trees.trunk_clearance.source == "gemeente X"
    assert not rules.trees.trunk_clearance.practice


def test_new_pair_and_soil_can_be_added():
    rules = load_rules({
        "clearances": {"pairs": {"water-water": {"parallel": 0.4, "crossing": 0.15}}},
        "soil": {"default": "peat", "soils": {"peat": {"resistivity": 2.0, "diffusivity": 1.5e-7}}},
    })
    assert rules.pair_clearance(Utility.WATER, Utility.WATER).parallel == 0.4
    assert rules.soil_properties().resistivity == 2.0


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"nope": {}}, "unknown rule table"),
        ({"cover": {"water": {"depth": 1.0}}}, r"rules\.cover\.water\.depth: unknown key"),
        ({"cover": {"watr": {"pavement": 1.0}}}, r"unknown utility kind.*watr"),
        ({"cover": {"water": {"pavement": -0.5}}}, r"rules\.cover\.water\.pavement: .*greater than or equal to 0"),
        ({"utilities": {"gas_lp": {"outer_diameter": 0}}}, r"rules\.utilities\.gas_lp\.outer_diameter"),
        ({"utilities": {"gas_lp": {"colour": "yellow"}}}, r"rules\.utilities\.gas_lp\.colour"),
        ({"utilities": {"gas_lp": {"clearance_class": "gas"}}}, r"clearance_class"),
        ({"clearances": {"pairs": {"cable-pipes": {"parallel": 1, "crossing": 1}}}}, "unknown pair 'cable-pipes'"),
        ({"clearances": {"min_crossing_angle": {"value": 120}}}, r"min_crossing_angle: must be an angle"),
        ({"soil": {"default": "loess"}}, "default soil 'loess'"),
        ({"soil": {"soils": {"iec_1_0": {"resistivity": 0}}}}, r"soils\.iec_1_0\.resistivity"),
        ({"climate": {"hot_day": {"relative_humidity": 130}}}, r"hot_day\.relative_humidity"),
        ({"climate": {"hot_day": {"air_temperature_min": 35}}}, "air_temperature_min is above"),
        ({"drinking_water": {"warning": {"value": 30}}}, "warning <= limit"),
        ({"drinking_water": {"limit": {"value": "warm"}}}, r"drinking_water\.limit\.value"),
        ({"trees": 3}, r"rules\.trees: must be a table"),
    ],
)
def test_bad_override_is_named(override, message):
    with pytest.raises(RuleError, match=message) as info:
        load_rules(override, origin="scene.toml")
    assert str(info.value).startswith("scene.toml")


def test_unknown_soil_name_is_refused():
    with pytest.raises(RuleError, match="unknown soil 'veen'"):
        load_rules().soil_properties("veen")


# --- surfaces and heat_sources tables ---------------------------------------------------------

LV_CABLE = {"cores": 3, "current": 100.0, "resistance": 0.3e-3, "profile": "laagspanning"}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"surfaces": {"carriageway": {"albedoo": 0.1}}}, r"rules\.surfaces\.carriageway\.albedoo: unknown key"),
        ({"surfaces": {"asphalt": {"albedo": 0.1}}}, r"rules\.surfaces\.asphalt: unknown key"),
        ({"surfaces": {"verge": {"albedo": 1.5}}}, r"rules\.surfaces\.verge\.albedo"),
        ({"heat_sources": {"cables": {"electricity_lv": {"amps": 120}}}},
         r"rules\.heat_sources\.cables\.electricity_lv\.amps: unknown key"),
        ({"heat_sources": {"pipes": {"district_heating": {"supply": 80}}}},
         r"rules\.heat_sources\.pipes\.district_heating\.supply: unknown key"),
        ({"heat_sources": {"pipe_series": {"spacing": 1.0}}}, r"rules\.heat_sources\.pipe_series\.spacing: unknown key"),
        ({"heat_sources": {"pipe_conductivity": {"foam": 0.03}}},
         r"rules\.heat_sources\.pipe_conductivity\.foam: unknown key"),
        ({"heat_sources": {"load_profiles": {"laagspanning": {"shape": [1.0]}}}},
         r"rules\.heat_sources\.load_profiles\.laagspanning\.shape: unknown key"),
        ({"heat_sources": {"kabels": {}}}, r"rules\.heat_sources\.kabels: unknown key"),
        ({"heat_sources": {"cables": {"fibre": LV_CABLE}}}, r"unknown utility kind\(s\) \['fibre'\]"),
        ({"heat_sources": {"cables": {"electricity_lv": {"profile": "flat"}}}},
         r"cables\.electricity_lv: unknown load profile 'flat'"),
        ({"heat_sources": {"cables": {"district_heating": LV_CABLE}}}, r"\['district_heating'\] are both in cables"),
        ({"heat_sources": {"load_profiles": {"laagspanning": {"daily": [0.5] * 24}}}}, "maximum 1"),
        ({"heat_sources": {"pipes": {"district_heating": {"return_winter": 95.0}}}}, "supply must be warmer"),
        ({"heat_sources": {"pipe_series": {"sizes": [[0.2, 0.01, 0.15, 0.003]]}}}, "not a pipe inside a casing"),
    ],
)
def test_bad_override_of_the_new_tables_is_named(override, message):
    with pytest.raises(RuleError, match=message) as info:
        load_rules(override, origin="scene.toml")
    assert str(info.value).startswith("scene.toml")


def test_new_tables_hold_the_published_values():
    rules = load_rules()
    asphalt = rules.surfaces.of(Surface.CARRIAGEWAY)
    assert (asphalt.albedo, asphalt.emissivity, asphalt.tg_k, asphalt.t_start) == (0.18, 0.95, 0.58, -9.78)
    assert (rules.surfaces.wall.albedo, rules.surfaces.wall.emissivity) == (0.20, 0.90)
    assert set(rules.surface_radiation()) == set(Surface)
    lv = rules.heat_sources.cables["electricity_lv"]
    assert lv.peak_watts_per_m == pytest.approx(3 * 120.0**2 * 0.253e-3, rel=1e-15)
    # every heat-source kind of the shipped tables has a default load
    modelled = {*rules.heat_sources.cables, *rules.heat_sources.pipes}
    assert {u.key for u in Utility if rules.utility(u).heat_source} == modelled
    np.testing.assert_array_equal(np.flatnonzero(rules.utility_flags("drinking_water")), [Utility.WATER])


def test_override_of_a_new_table_records_its_origin():
    rules = load_rules({"heat_sources": {"cables": {"electricity_lv": {"current": 240.0}}}}, origin="x/scene.toml")
    lv = rules.heat_sources.cables["electricity_lv"]
    assert lv.current == 240.0 and lv.resistance == 0.253e-3 and lv.source == "override in x/scene.toml"
    assert load_rules().heat_sources.cables["electricity_lv"].current == 120.0


def test_shade_default_trunk_is_the_rules_trunk_fraction():
    from stadstwin.rules import shipped_rules
    from stadstwin.shade import shadow_mask

    dsm = np.zeros((40, 40))
    canopy = np.zeros((40, 40))
    canopy[18:22, 18:22] = 8.0
    fraction = shipped_rules().climate.vegetation.trunk_fraction
    np.testing.assert_array_equal(
        shadow_mask(dsm, 1.0, 135.0, 20.0, canopy=canopy),
        shadow_mask(dsm, 1.0, 135.0, 20.0, canopy=canopy, trunk=canopy * fraction),
    )
    assert not np.array_equal(
        shadow_mask(dsm, 1.0, 135.0, 20.0, canopy=canopy),
        shadow_mask(dsm, 1.0, 135.0, 20.0, canopy=canopy, trunk=np.zeros_like(canopy)),
    )
