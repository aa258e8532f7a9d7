"""Heat-stress kernels against independent references.

UTCI and PET against pythermalcomfort (``utci`` and ``pet_steady``), Tmrt against longwave and
shortwave balances worked out by hand here, and against the solweig package on a flat open
raster when it is installed.
"""

from __future__ import annotations

import math
import warnings
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pythermalcomfort.models import pet_steady
from pythermalcomfort.models import utci as ptc_utci
from pythermalcomfort.psychrometrics import p_sat

from stadstwin.errors import InputError
from stadstwin.heat import (
    mean_radiant_temperature,
    pet,
    split_global_radiation,
    surface_heating,
    utci,
)
from stadstwin.model.enums import Surface
from stadstwin.rules import shipped_rules

SIGMA = 5.67e-8


def _peer_utci(ta, tmrt, va, rh):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ptc_utci(ta, tmrt, va, rh, round_output=False).utci


# --- UTCI -------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    ta=st.floats(-50.0, 50.0),
    delta=st.floats(-30.0, 70.0),
    va=st.floats(0.5, 17.0),
    rh=st.floats(0.0, 100.0),
)
def test_utci_matches_pythermalcomfort_over_valid_range(ta, delta, va, rh):
    ours = utci(ta, ta + delta, va, rh)
    peer = float(_peer_utci(ta, ta + delta, va, rh))
    if math.isnan(peer):  # vapour pressure above 5 kPa: both refuse
        assert math.isnan(ours)
    else:
        assert ours == pytest.approx(peer, abs=0.05)


def test_utci_raster_keeps_shape_and_matches_every_coefficient():
    # 2000 points over the whole valid range; agreement to 1e-8 K leaves no coefficient wrong
    rng = np.random.default_rng(7)
    ta = rng.uniform(-50, 50, (40, 50))
    tmrt = ta + rng.uniform(-30, 70, (40, 50))
    va = rng.uniform(0.5, 17, (40, 50))
    rh = rng.uniform(0, 100, (40, 50))
    out = utci(ta, tmrt, va, rh)
    assert out.shape == (40, 50)
    np.testing.assert_allclose(out, _peer_utci(ta, tmrt, va, rh), atol=1e-8)


@pytest.mark.parametrize(
    ("ta", "tmrt", "va", "rh"),
    [
        (51.0, 51.0, 1.0, 10.0),
        (20.0, -11.0, 1.0, 50.0),
        (20.0, 91.0, 1.0, 50.0),
        (20.0, 20.0, 0.4, 50.0),
        (20.0, 20.0, 17.5, 50.0),
        (20.0, 20.0, 1.0, 101.0),
        (45.0, 45.0, 1.0, 100.0),
    ],
)
def test_utci_is_nan_outside_applicability_limits(ta, tmrt, va, rh):
    assert math.isnan(utci(ta, tmrt, va, rh))
    assert math.isnan(float(_peer_utci(ta, tmrt, va, rh)))


def test_utci_published_example():
    # pythermalcomfort's documented example, rounded to 0.1 as there
    assert round(utci(25.0, 25.0, 1.0, 50.0), 1) == 24.6


# --- PET --------------------------------------------------------------------------------------


def _pet_sample(n, seed):
    """Conditions where MEMI's balance has a root: air vapour pressure below 50 hPa."""
    rng = np.random.default_rng(seed)
    ta = rng.uniform(-10.0, 42.0, 4 * n)
    rh = rng.uniform(5.0, 95.0, 4 * n)
    keep = np.flatnonzero(p_sat(ta) / 100.0 * rh / 100.0 < 50.0)[:n]
    tmrt = ta + rng.uniform(-10.0, 45.0, 4 * n)
    return ta[keep], tmrt[keep], rng.uniform(0.1, 8.0, 4 * n)[keep], rh[keep]


@pytest.mark.parametrize("posture", ["sitting", "standing"])
def test_pet_matches_pet_steady_defaults(posture):
    ta, tmrt, va, rh = _pet_sample(20, seed=3 if posture == "sitting" else 4)
    ours = pet(ta, tmrt, va, rh, posture=posture)
    peer = pet_steady(ta, tmrt, va, rh, met=80.0 / 58.2, clo=0.9, position=posture).pet
    np.testing.assert_allclose(ours, peer, atol=0.02)  # pet_steady rounds to 0.01


def test_pet_matches_pet_steady_other_person():
    ta, tmrt, va, rh = _pet_sample(12, seed=5)
    kwargs = {"age": 60.0, "weight": 62.0, "height": 1.65}
    ours = pet(
        ta,
        tmrt,
        va,
        rh,
        activity=100.0,
        clo=0.5,
        sex="female",
        posture="standing",
        pressure=100000.0,
        **kwargs,
    )
    peer = pet_steady(
        ta,
        tmrt,
        va,
        rh,
        met=100.0 / 58.2,
        clo=0.5,
        sex="female",
        position="standing",
        p_atm=1000.0,
        **kwargs,
    ).pet
    np.testing.assert_allclose(ours, peer, atol=0.02)  # pet_steady rounds to 0.01


def test_pet_raster_shape_and_bad_person():
    out = pet(np.full((3, 4), 25.0), 40.0, 1.0, 50.0)
    assert out.shape == (3, 4) and np.all(np.isfinite(out))
    assert math.isnan(pet(25.0, 40.0, 1.0, 120.0))
    with pytest.raises(ValueError, match="posture"):
        pet(25.0, 25.0, 1.0, 50.0, posture="lying")
    with pytest.raises(ValueError, match="clo"):
        pet(25.0, 25.0, 1.0, 50.0, clo=0.0)


# --- Mean radiant temperature ----------------------------------------------------------------


def _prata_sky_emissivity(ta, rh):
    vapour = 6.107 * 10 ** (7.5 * ta / (237.3 + ta)) * rh / 100.0
    w = 46.5 * vapour / (ta + 273.15)
    return 1.0 - (1.0 + w) * math.exp(-math.sqrt(1.2 + 3.0 * w))


def _flat(value, shape=(3, 4)):
    return np.full(shape, value, dtype=np.float64)


@pytest.mark.parametrize(
    ("ta", "rh", "diffuse", "albedo", "eps_g"),
    [(25.0, 50.0, 0.0, 0.2, 0.95), (31.0, 35.0, 180.0, 0.15, 0.94), (5.0, 85.0, 60.0, 0.3, 0.98)],
)
def test_tmrt_shaded_open_ground_at_air_temperature_matches_hand_balance(
    ta, rh, diffuse, albedo, eps_g
):
    tk = ta + 273.15
    l_down = _prata_sky_emissivity(ta, rh) * SIGMA * tk**4
    l_up = eps_g * SIGMA * tk**4
    # f_up·2 + f_side·4·½ = ½ of every up/down flux pair reaches the body (standing)
    absorbed = 0.5 * 0.70 * (1 + albedo) * diffuse + 0.5 * 0.97 * (l_down + l_up)
    expected = (absorbed / (0.97 * SIGMA)) ** 0.25 - 273.15
    got = mean_radiant_temperature(
        _flat(0.0),
        _flat(1.0),
        ta,
        rh,
        800.0,
        diffuse,
        50.0,
        albedo=albedo,
        emissivity=eps_g,
        ground_excess=15.0,
    )
    np.testing.assert_allclose(got, expected, atol=1e-9)


def test_tmrt_black_enclosure_at_air_temperature_is_air_temperature():
    got = mean_radiant_temperature(
        _flat(0.0),
        _flat(0.0),
        22.0,
        60.0,
        0.0,
        0.0,
        30.0,
        albedo=0.2,
        emissivity=1.0,
        wall_emissivity=1.0,
    )
    np.testing.assert_allclose(got, 22.0, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    direct=st.floats(0.0, 900.0),
    extra=st.floats(1.0, 300.0),
    svf=st.floats(0.0, 1.0),
    altitude=st.floats(1.0, 89.0),
    shadow=st.floats(0.05, 1.0),
)
def test_tmrt_rises_with_direct_sun_and_falls_with_shade(direct, extra, svf, altitude, shadow):
    def tmrt(i, s):
        return mean_radiant_temperature(
            _flat(s, (1, 1)),
            _flat(svf, (1, 1)),
            28.0,
            50.0,
            i,
            100.0,
            altitude,
            surface=np.full((1, 1), 2),
            ground_excess=12.0,
            wall_excess=6.0,
        )[0, 0]

    assert tmrt(direct + extra, shadow) > tmrt(direct, shadow)
    assert tmrt(direct + extra, 0.0) < tmrt(direct + extra, shadow)


def test_tmrt_surface_table_and_input_errors():
    surface = np.array([[int(Surface.CARRIAGEWAY), int(Surface.VERGE)]])
    by_table = mean_radiant_temperature(
        np.ones((1, 2)), np.ones((1, 2)), 30.0, 40.0, 700.0, 120.0, 55.0, surface=surface
    )
    radiation = shipped_rules().surface_radiation()
    props = [radiation[Surface.CARRIAGEWAY], radiation[Surface.VERGE]]
    by_hand = mean_radiant_temperature(
        np.ones((1, 2)),
        np.ones((1, 2)),
        30.0,
        40.0,
        700.0,
        120.0,
        55.0,
        albedo=np.array([[p.albedo for p in props]]),
        emissivity=np.array([[p.emissivity for p in props]]),
    )
    np.testing.assert_array_equal(by_table, by_hand)
    with pytest.raises(InputError, match="shadow"):
        mean_radiant_temperature(_flat(1.5), _flat(1.0), 30, 40, 700, 120, 55, surface=_flat(2))
    with pytest.raises(InputError, match="surface"):
        mean_radiant_temperature(_flat(1.0), _flat(1.0), 30, 40, 700, 120, 55, surface=_flat(9))
    with pytest.raises(ValueError, match="svf"):
        mean_radiant_temperature(
            _flat(1.0), np.ones((2, 2)), 30, 40, 700, 120, 55, albedo=0.2, emissivity=0.95
        )


def test_surface_heating_follows_solweig_wave():
    asphalt = shipped_rules().surface_radiation()[Surface.CARRIAGEWAY]
    amplitude = asphalt.tg_k * 60.0 + asphalt.t_start
    assert surface_heating(asphalt, 60.0, 15.0, 5.0) == pytest.approx(amplitude)
    assert surface_heating(asphalt, 60.0, 10.0, 5.0) == pytest.approx(
        amplitude * math.sin(0.5 * math.pi / 2)
    )
    assert surface_heating(asphalt, 60.0, 4.0, 5.0) == 0.0
    assert surface_heating(shipped_rules().surface_radiation()[Surface.WATER], 60.0, 13.0, 5.0) == 0.0


def test_split_global_radiation_closes_on_global():
    times = pd.date_range("2019-07-25 09:00", periods=4, freq="2h", tz="UTC")
    ghi = np.array([550.0, 820.0, 760.0, 300.0])
    zenith = np.array([45.0, 33.0, 38.0, 60.0])
    dni, dhi = split_global_radiation(ghi, zenith, times)
    np.testing.assert_allclose(dni * np.cos(np.radians(zenith)) + dhi, ghi, rtol=1e-9)
    assert np.all(dhi > 0) and np.all(dni > 0)


# --- Tmrt against solweig (Rust SOLWEIG by the UMEP developers) on a flat open raster ----------


def _solweig_rasters(tmp_path, name, dsm, weather_kwargs, outputs=("tmrt", "ldown", "lup")):
    """solweig's output rasters for one moment on ``dsm`` (1 m cells, Delft, isotropic sky)."""
    solweig = pytest.importorskip("solweig")
    rasterio = pytest.importorskip("rasterio")
    surface = solweig.SurfaceData(dsm=dsm.astype(np.float32), pixel_size=1.0)
    surface.compute_svf()
    out = tmp_path / name
    solweig.calculate(
        surface=surface,
        weather=[solweig.Weather(**weather_kwargs)],
        location=solweig.Location(latitude=52.1, longitude=5.1, utc_offset=2),
        output_dir=str(out),
        use_anisotropic_sky=False,
        outputs=list(outputs),
    )
    rasters = {}
    for kind in outputs:
        (path,) = (out / kind).glob("*.tif")
        with rasterio.open(path) as src:
            rasters[kind] = src.read(1).astype(np.float64)
    return rasters


def _solweig_centre(tmp_path, name, weather_kwargs):
    solweig = pytest.importorskip("solweig")
    r = _solweig_rasters(tmp_path, name, np.zeros((24, 24)), weather_kwargs)
    return solweig.Weather(**weather_kwargs), r["tmrt"][12, 12], r["ldown"][12, 12], r["lup"][12, 12]


def _sunny_moment(hour):
    """Sun position in Delft on 15 July at ``hour``:30 and solweig weather with a given split."""
    from zoneinfo import ZoneInfo

    from stadstwin.sun import solar_position

    when = datetime(2025, 7, 15, hour, 30)
    zenith, azimuth = solar_position(when.replace(tzinfo=ZoneInfo("Europe/Amsterdam")), 52.0116, 4.3571)
    altitude, direct, diffuse, ta, rh = 90.0 - float(zenith[0]), 700.0, 120.0, 28.0, 45.0
    beam_on_ground = direct * math.sin(math.radians(altitude))
    kwargs = {"datetime": when, "ta": ta, "rh": rh, "global_rad": beam_on_ground + diffuse,
              "measured_direct_rad": direct, "measured_diffuse_rad": diffuse,
              "precomputed_sun_altitude": altitude, "precomputed_sun_azimuth": float(azimuth[0])}
    return kwargs, float(azimuth[0]), altitude


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        (
            "night",
            {"datetime": datetime(2025, 7, 15, 1, 0), "ta": 18.0, "rh": 70.0, "global_rad": 0.0},
        ),
        (
            "overcast",
            {
                "datetime": datetime(2025, 7, 15, 13, 0),
                "ta": 25.0,
                "rh": 50.0,
                "global_rad": 200.0,
                "measured_direct_rad": 0.0,
                "measured_diffuse_rad": 200.0,
            },
        ),
    ],
)
def test_tmrt_agrees_with_solweig_on_flat_open_ground(tmp_path, name, kwargs):
    weather, peer_tmrt, peer_ldown, peer_lup = _solweig_centre(tmp_path, name, kwargs)
    ta, rh = kwargs["ta"], kwargs["rh"]
    tk = ta + 273.15
    # solweig's own cloud correction and ground heating, read back from its L↓ and L↑ (ε_g 0.95)
    clear = _prata_sky_emissivity(ta, rh) * SIGMA * tk**4
    cloud = (peer_ldown - clear) / (SIGMA * tk**4 - clear)
    excess = (peer_lup / (0.95 * SIGMA)) ** 0.25 - tk
    ours = mean_radiant_temperature(
        _flat(1.0, (1, 1)),
        _flat(1.0, (1, 1)),
        ta,
        rh,
        0.0,
        kwargs.get("measured_diffuse_rad", 0.0),
        max(weather.sun_altitude, -90.0),
        albedo=0.15,
        emissivity=0.95,
        ground_excess=excess,
        cloud_fraction=min(max(cloud, 0.0), 1.0),
    )[0, 0]
    # the side fluxes differ slightly (no wall/ground view-factor weighting here)
    assert ours == pytest.approx(peer_tmrt, abs=1.5)


def test_tmrt_takes_surface_parameters_from_a_rule_override():
    # the shaded-ground hand balance above, with the albedo and emissivity of an overridden rule
    from stadstwin.rules import load_rules

    rules = load_rules({"surfaces": {"verge": {"albedo": 0.35, "emissivity": 0.91}}})
    ta, rh, diffuse = 27.0, 45.0, 150.0
    tk = ta + 273.15
    absorbed = 0.5 * 0.70 * (1 + 0.35) * diffuse + 0.5 * 0.97 * (
        _prata_sky_emissivity(ta, rh) * SIGMA * tk**4 + 0.91 * SIGMA * tk**4)
    expected = (absorbed / (0.97 * SIGMA)) ** 0.25 - 273.15
    got = mean_radiant_temperature(_flat(0.0), _flat(1.0), ta, rh, 800.0, diffuse, 50.0,
                                   surface=_flat(int(Surface.VERGE)).astype(int),
                                   surface_radiation=rules.surface_radiation())
    np.testing.assert_allclose(got, expected, atol=1e-9)
    shipped = mean_radiant_temperature(_flat(0.0), _flat(1.0), ta, rh, 800.0, diffuse, 50.0,
                                       surface=_flat(int(Surface.VERGE)).astype(int))
    assert np.all(got > shipped)  # brighter ground reflects more diffuse light onto the person


@pytest.mark.parametrize("hour", [12, 13, 14, 15])
def test_sunlit_tmrt_exceeds_solweig_by_the_ground_reflection_of_the_direct_beam(tmp_path, hour):
    """In full sun on open ground in Delft this model is ~4 K warmer than solweig: its K↑ holds α_g (I sin η + D),
    solweig's only α_g D. Adding that one term to solweig's absorbed flux gives this model's Tmrt."""
    kwargs, _, altitude = _sunny_moment(hour)
    direct, diffuse, ta, rh = kwargs["measured_direct_rad"], kwargs["measured_diffuse_rad"], kwargs["ta"], kwargs["rh"]
    beam_on_ground = direct * math.sin(math.radians(altitude))
    _, peer_tmrt, peer_ldown, peer_lup = _solweig_centre(tmp_path, f"sun-{hour}", kwargs)
    tk = ta + 273.15
    clear = _prata_sky_emissivity(ta, rh) * SIGMA * tk**4
    cloud = (peer_ldown - clear) / (SIGMA * tk**4 - clear)
    excess = (peer_lup / (0.95 * SIGMA)) ** 0.25 - tk
    ours = mean_radiant_temperature(_flat(1.0, (1, 1)), _flat(1.0, (1, 1)), ta, rh, direct, diffuse, altitude,
                                    albedo=0.15, emissivity=0.95, ground_excess=excess,
                                    cloud_fraction=min(max(cloud, 0.0), 1.0))[0, 0]
    # a_k (f_up + 2 f_side) α_g I sin η: K↑ enters from below (f_up) and as half of each side flux (4 · ½ f_side)
    extra = 0.70 * (0.06 + 2 * 0.22) * 0.15 * beam_on_ground
    explained = ((0.97 * SIGMA * (peer_tmrt + 273.15) ** 4 + extra) / (0.97 * SIGMA)) ** 0.25 - 273.15
    assert 3.0 < ours - peer_tmrt < 5.0
    assert ours == pytest.approx(explained, abs=0.5)


# a street canyon 12 m wide between 12 m high blocks, north-south (H/W = 1), 1 m cells
CANYON = np.zeros((60, 64))
CANYON[:, :26] = 12.0
CANYON[:, 38:] = 12.0
STREET = (slice(10, 50), slice(26, 38))  # away from the raster's north and south edges


@pytest.mark.parametrize("hour", [12, 13, 14, 15])
def test_canyon_tmrt_against_solweig_point_by_point(tmp_path, hour):
    """Same shadows as solweig in a Delft canyon; shaded cells within 2 K; sunlit cells 2–4.5 K warmer, within
    1 K of the open-ground gap at the same hour: the same ground-reflected direct beam, little else."""
    from stadstwin.analyses.heat_stress import SolarDay
    from stadstwin.shade import shadow_mask, sky_view_factor

    kwargs, azimuth, altitude = _sunny_moment(hour)
    ta, rh = kwargs["ta"], kwargs["rh"]
    peer = _solweig_rasters(tmp_path, f"canyon-{hour}", CANYON, kwargs, ("tmrt", "shadow", "lup", "ldown"))
    shadow = shadow_mask(CANYON, 1.0, azimuth, altitude)
    np.testing.assert_array_equal(shadow[STREET], peer["shadow"][STREET])
    lit = shadow[STREET] == 1.0
    assert lit.any() and (~lit).any()
    # solweig's ground heating read back from its L↑; the walls' from this model's wave, as the analysis does
    day = SolarDay.of(kwargs["datetime"].date(), 52.0116, 4.3571)
    when = pd.Timestamp(kwargs["datetime"], tz="Europe/Amsterdam")
    wall = surface_heating(shipped_rules().surfaces.wall, day.altitude_max, day.solar_hour(when),
                           day.solar_hour(day.sunrise))
    excess = (peer["lup"] / (0.95 * SIGMA)) ** 0.25 - (ta + 273.15)
    tk = ta + 273.15
    clear = _prata_sky_emissivity(ta, rh) * SIGMA * tk**4
    ours = mean_radiant_temperature(shadow, sky_view_factor(CANYON, 1.0), ta, rh, kwargs["measured_direct_rad"],
                                    kwargs["measured_diffuse_rad"], altitude, albedo=0.15, emissivity=0.95,
                                    ground_excess=excess, wall_excess=wall, cloud_fraction=0.0)[STREET]
    assert peer["ldown"][12, 12] >= clear - 1.0  # a clear sky in solweig too
    delta = ours - peer["tmrt"][STREET]
    assert np.abs(delta[~lit]).max() < 2.0
    open_gap = (mean_radiant_temperature(np.ones((1, 1)), np.ones((1, 1)), ta, rh, kwargs["measured_direct_rad"],
                                         kwargs["measured_diffuse_rad"], altitude, albedo=0.15, emissivity=0.95,
                                         ground_excess=float(np.median(excess[STREET][lit])))[0, 0]
                - _solweig_rasters(tmp_path, f"open-{hour}", np.zeros((24, 24)), kwargs)["tmrt"][12, 12])
    assert 2.0 < delta[lit].min() and delta[lit].max() < 4.5
    assert abs(delta[lit].mean() - open_gap) < 1.0  # the same ground-reflected beam as on open ground
