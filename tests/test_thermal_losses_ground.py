"""Kusuda–Achenbach ground temperature, cable and district-heating losses, load profiles."""

import math

import numpy as np
import pytest

from stadstwin.analyses.thermal_sources import cable_profiles
from stadstwin.engines.ground_temperature import YEAR_SECONDS
from stadstwin.rules import shipped_rules
from stadstwin.thermal import (
    cable_load_profile,
    cable_losses,
    conductor_resistance,
    pair_mutual_resistance,
    pipe_insulation_resistance,
    pipe_pair_heat_losses,
    pipe_soil_resistance,
    seasonal_temperature,
    single_pipe_heat_loss,
    temperature_rise,
    undisturbed_ground_temperature,
)

ALPHA = 0.5e-6
TAU = YEAR_SECONDS


@pytest.mark.parametrize("depth", [0.0, 0.6, 1.2, 2.5])
def test_kusuda_amplitude_damping_and_phase_lag(depth):
    coldest = 35 * 86400.0
    t = np.linspace(0.0, TAU, 365 * 24, endpoint=False)
    temps = undisturbed_ground_temperature(depth, t, 10.5, 7.0, coldest, ALPHA, urban_offset=1.5)
    d = math.sqrt(TAU * ALPHA / math.pi)
    assert (temps.max() - temps.min()) / 2 == pytest.approx(7.0 * math.exp(-depth / d), rel=1e-6)
    assert temps.mean() == pytest.approx(12.0, abs=1e-9)
    lag = (t[np.argmin(temps)] - coldest) % TAU
    assert lag == pytest.approx(depth / d * TAU / (2 * math.pi), abs=3600.0)


def test_kusuda_solves_the_heat_equation():
    z, t, dz, dt = 1.3, 120 * 86400.0, 1e-3, 600.0
    T = lambda z, t: undisturbed_ground_temperature(z, t, 10.0, 8.0, 30 * 86400.0, ALPHA)
    dT_dt = (T(z, t + dt) - T(z, t - dt)) / (2 * dt)
    d2T_dz2 = (T(z + dz, t) - 2 * T(z, t) + T(z - dz, t)) / dz**2
    assert dT_dt == pytest.approx(ALPHA * d2T_dz2, rel=1e-4)
    with pytest.raises(ValueError, match="depth"):
        undisturbed_ground_temperature(-1.0, 0.0, 10.0, 8.0, 0.0, ALPHA)


def test_cable_losses_at_temperature():
    # 630 mm² copper: R20 = 0.0283 Ω/km; at 90 °C with ys + yp = 0.1
    r_ac = conductor_resistance(0.0283e-3, 90.0, skin_proximity=0.1)
    assert r_ac == pytest.approx(0.0283e-3 * (1 + 3.93e-3 * 70) * 1.1, rel=1e-12)
    assert cable_losses(821.8, r_ac, conductors=1) == pytest.approx(821.8**2 * r_ac, rel=1e-12)
    assert cable_losses(np.array([100.0, 200.0]), 1e-4, conductors=3)[1] == pytest.approx(12.0)


# Series-1 pre-insulated steel pipes (Logstor/EN 253 dimensions): steel outer diameter, wall,
# casing outer diameter, casing wall [m]; steel λ 50, PUR λ 0.027, PE λ 0.43 W/(m·K).
SERIES_1 = [
    (0.0603, 0.0029, 0.125, 0.0030),
    (0.1143, 0.0036, 0.200, 0.0032),
    (0.1683, 0.0040, 0.250, 0.0039),
    (0.2191, 0.0045, 0.315, 0.0049),
]


@pytest.mark.parametrize("steel, wall, casing, casing_wall", SERIES_1)
def test_district_heating_pair_losses_match_formula(steel, wall, casing, casing_wall):
    depth, spacing, rho, t_g, t_s, t_r = 0.9, casing + 0.15, 1.0 / 1.5, 10.0, 80.0, 45.0
    layers = [steel - 2 * wall, steel, casing - 2 * casing_wall, casing]
    lam = [50.0, 0.027, 0.43]
    r_ins = sum(math.log(layers[i + 1] / layers[i]) / (2 * math.pi * lam[i]) for i in range(3))
    r_soil = math.log(4 * depth / casing) / (2 * math.pi * 1.5)
    r_m = math.log(1 + (2 * depth / spacing) ** 2) / (4 * math.pi * 1.5)
    r = r_ins + r_soil
    q_s = ((t_s - t_g) * r - (t_r - t_g) * r_m) / (r**2 - r_m**2)
    q_r = ((t_r - t_g) * r - (t_s - t_g) * r_m) / (r**2 - r_m**2)
    assert pipe_insulation_resistance(layers, lam) == pytest.approx(r_ins, rel=1e-12)
    assert pipe_soil_resistance(depth, casing, rho) == pytest.approx(r_soil, rel=1e-12)
    assert pair_mutual_resistance(depth, spacing, rho) == pytest.approx(r_m, rel=1e-12)
    got = pipe_pair_heat_losses(t_s, t_r, t_g, r_ins, r_soil, r_m)
    assert got[0] == pytest.approx(q_s, rel=1e-12) and got[1] == pytest.approx(q_r, rel=1e-12)
    assert single_pipe_heat_loss(t_s, t_g, r_ins, r_soil) == pytest.approx((t_s - t_g) / r, rel=1e-12)


def test_pair_losses_reproduce_fluid_temperature_through_line_sources():
    # Independent physics: put the pair's losses into long finite segments; the rise averaged
    # over the supply casing (mean value property: ln(4z/D) own, ½ln(1 + (2z/s)²) mutual) plus the
    # drop over the insulation must give back the supply temperature.
    depth, casing, spacing, rho, t_g, t_s, t_r = 0.9, 0.2, 0.35, 0.8, 10.0, 80.0, 45.0
    r_ins = pipe_insulation_resistance([0.107, 0.1143, 0.1936, 0.2], [50.0, 0.027, 0.43])
    q_s, q_r = pipe_pair_heat_losses(
        t_s, t_r, t_g, r_ins, pipe_soil_resistance(depth, casing, rho), pair_mutual_resistance(depth, spacing, rho)
    )
    half = 4000.0
    sources = np.array([[[-half, 0.0, -depth], [half, 0.0, -depth]], [[-half, spacing, -depth], [half, spacing, -depth]]])
    angles = np.linspace(0, 2 * math.pi, 256, endpoint=False)
    ring = np.c_[np.zeros(256), casing / 2 * np.cos(angles), -depth + casing / 2 * np.sin(angles)]
    surface = temperature_rise(sources, [q_s, q_r], ring, rho).mean()
    assert t_g + surface + q_s * r_ins == pytest.approx(t_s, abs=0.01)


def test_load_profiles():
    lv = cable_load_profile(cable_profiles(shipped_rules())["laagspanning"])
    assert lv.shape == (8760,) and lv.max() == pytest.approx(1.0, abs=1e-3) and lv.min() > 0
    summer_day = slice(24 * 197, 24 * 198)
    assert lv[summer_day].max() == pytest.approx(0.70, abs=0.01)
    supply = seasonal_temperature(75.0, 5.0, 15.0)
    assert supply[15 * 24] == pytest.approx(80.0) and supply.min() == pytest.approx(70.0, abs=1e-3)
    with pytest.raises(ValueError, match="mutual"):
        pipe_pair_heat_losses(80.0, 40.0, 10.0, 0.1, 0.1, 0.3)
