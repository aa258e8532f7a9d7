"""Heat released per metre by power cables and district-heating pipes [W/m].

Cables (IEC 60287-1-1): W = n·I²·R_ac with R_ac = R20·(1 + α20·(θ − 20))·(1 + ys + yp) at the
conductor temperature θ. District heating (EN 13941 practice, Wallentén/Böhm): a pipe in soil
loses q = (T_fluid − T_ground)/(R_ins + R_soil), R_ins = Σ ln(d_o/d_i)/(2πλ) over its layers,
R_soil = ρ·ln(4z/D)/(2π); a supply/return pair couples through R_m = ρ·ln(1 + (2z/s)²)/(4π):

    q_s = ((T_s − T_g)·R − (T_r − T_g)·R_m)/(R² − R_m²),  q_r likewise with s ↔ r,  R = R_ins + R_soil.

ρ is the soil thermal resistivity [K·m/W] (1/λ_soil), z the axis depth, D the casing diameter,
s the axis spacing [m]. All functions broadcast like numpy.
"""

from __future__ import annotations

import math

import numpy as np

from stadstwin.errors import InputError

COPPER_ALPHA20 = 3.93e-3
"""Temperature coefficient of copper at 20 °C [1/K] (IEC 60287-1-1 table 1)."""
ALUMINIUM_ALPHA20 = 4.03e-3
"""Temperature coefficient of aluminium at 20 °C [1/K] (IEC 60287-1-1 table 1)."""


def conductor_resistance(resistance_20, temperature, alpha20=COPPER_ALPHA20, skin_proximity=0.0):
    """AC resistance [Ω/m] at conductor temperature [°C] from the DC resistance at 20 °C [Ω/m].

    skin_proximity: ys + yp of IEC 60287-1-1 (0 for DC or small conductors).
    """
    r20 = np.asarray(resistance_20, dtype=float)
    if np.any(r20 < 0):
        raise InputError("resistance_20 must be ≥ 0 Ω/m", feature="resistance_20")
    return r20 * (1.0 + alpha20 * (np.asarray(temperature, dtype=float) - 20.0)) * (1.0 + np.asarray(skin_proximity))


def cable_losses(current, ac_resistance, conductors=1):
    """Joule losses n·I²·R_ac [W/m] of a cable with ``conductors`` loaded cores; current [A]."""
    resistance = np.asarray(ac_resistance, dtype=float)
    if np.any(resistance < 0) or np.any(np.asarray(conductors) < 0):
        raise InputError("ac_resistance and conductors must be ≥ 0", feature="ac_resistance")
    return np.asarray(conductors) * np.asarray(current, dtype=float) ** 2 * resistance


def pipe_insulation_resistance(diameters, conductivities):
    """Σ ln(d_{k+1}/d_k)/(2πλ_k) [K·m/W] over layers; diameters (..., K+1) inner to outer [m],
    conductivities (..., K) [W/(m·K)] (steel, PUR foam, PE casing...)."""
    d = np.asarray(diameters, dtype=float)
    lam = np.asarray(conductivities, dtype=float)
    if d.shape[-1] != lam.shape[-1] + 1:
        raise InputError("diameters must have one more entry than conductivities (layer boundaries)",
                         feature="diameters")
    if np.any(d <= 0) or np.any(np.diff(d, axis=-1) < 0) or np.any(lam <= 0):
        raise InputError("diameters must be > 0 and increasing outward, conductivities > 0",
                         feature="diameters")
    return np.sum(np.log(d[..., 1:] / d[..., :-1]) / (2.0 * math.pi * lam), axis=-1)


def pipe_soil_resistance(depth, outer_diameter, soil_resistivity):
    """ρ·ln(4z/D)/(2π) [K·m/W] of a buried pipe, axis depth z [m], casing diameter D [m]."""
    z, d, rho = (np.asarray(v, dtype=float) for v in (depth, outer_diameter, soil_resistivity))
    if np.any(d <= 0) or np.any(z < d / 2) or np.any(rho < 0):
        raise InputError("need outer_diameter > 0, depth ≥ outer_diameter/2 and soil_resistivity ≥ 0",
                         feature="pipe_soil_resistance")
    return rho * np.log(4.0 * z / d) / (2.0 * math.pi)


def pair_mutual_resistance(depth, spacing, soil_resistivity):
    """ρ·ln(1 + (2z/s)²)/(4π) [K·m/W] between two pipes at axis depth z and axis spacing s [m]."""
    z, s, rho = (np.asarray(v, dtype=float) for v in (depth, spacing, soil_resistivity))
    if np.any(s <= 0) or np.any(z <= 0) or np.any(rho < 0):
        raise InputError("need spacing > 0, depth > 0 and soil_resistivity ≥ 0", feature="pair_mutual_resistance")
    return rho * np.log1p((2.0 * z / s) ** 2) / (4.0 * math.pi)


def single_pipe_heat_loss(fluid_temperature, ground_temperature, insulation_resistance, soil_resistance):
    """(T_fluid − T_ground)/(R_ins + R_soil) [W/m] of a lone buried pipe."""
    return (np.asarray(fluid_temperature, dtype=float) - ground_temperature) / (
        np.asarray(insulation_resistance, dtype=float) + soil_resistance
    )


def pipe_pair_heat_losses(
    supply_temperature, return_temperature, ground_temperature,
    insulation_resistance, soil_resistance, mutual_resistance,
):
    """(q_supply, q_return) [W/m] of a supply/return pair with the mutual term (module doc)."""
    own = np.asarray(insulation_resistance, dtype=float) + soil_resistance
    mutual = np.asarray(mutual_resistance, dtype=float)
    if np.any(mutual >= own):
        raise InputError("mutual_resistance must be smaller than R_insulation + R_soil", feature="mutual_resistance")
    excess_s = np.asarray(supply_temperature, dtype=float) - ground_temperature
    excess_r = np.asarray(return_temperature, dtype=float) - ground_temperature
    det = own * own - mutual * mutual
    return (excess_s * own - excess_r * mutual) / det, (excess_r * own - excess_s * mutual) / det
