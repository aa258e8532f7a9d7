"""Undisturbed ground temperature over the year by Kusuda–Achenbach (1965).

A sinusoidal surface temperature of period τ diffuses into a half-space of diffusivity α:

    T(z, t) = Tm − As·exp(−z/d)·cos(2π/τ·(t − t0) − z/d),   d = √(τα/π) (damping depth),

Tm the annual mean at the surface (plus an urban offset), As the surface amplitude, t0 the time
of the coldest surface temperature. Amplitude falls as exp(−z/d), the phase lags by z/d radians
(z/d·τ/(2π) in time). It solves ∂T/∂t = α·∂²T/∂z² exactly.
"""

from __future__ import annotations

import math

import numpy as np

from stadstwin.errors import InputError

YEAR_SECONDS = 365.0 * 86400.0
"""Period τ of the annual cycle [s]."""


def damping_depth(diffusivity, period=YEAR_SECONDS):
    """Depth d = √(τα/π) [m] over which the surface amplitude falls by 1/e."""
    return np.sqrt(np.asarray(period, dtype=float) * np.asarray(diffusivity, dtype=float) / math.pi)


def undisturbed_ground_temperature(
    depth, time, mean_temperature, surface_amplitude, coldest_time, diffusivity,
    urban_offset=0.0, period=YEAR_SECONDS,
):
    """Ground temperature [°C or K, as given] at depth [m below surface] and time [s].

    time and coldest_time in seconds from the same origin (e.g. 1 January 00:00 UTC);
    mean_temperature, surface_amplitude, urban_offset in °C / K; diffusivity [m²/s]. Broadcasts.
    Dutch orientation values (site inputs, not a norm): Tm ≈ 10–11 °C (De Bilt air mean 10.1 °C),
    As ≈ 7 K, coldest surface around early February, α ≈ 0.5e-6 m²/s; urban soil up to ~7 K warmer
    (Agudelo-Vera et al. 2017) through ``urban_offset``.
    """
    depth = np.asarray(depth, dtype=float)
    if np.any(depth < 0):
        raise InputError("depth must be ≥ 0 m below the ground surface", feature="depth")
    if np.any(np.asarray(diffusivity) <= 0) or np.any(np.asarray(period) <= 0):
        raise InputError("diffusivity and period must be > 0", feature="diffusivity")
    ratio = depth / damping_depth(diffusivity, period)
    phase = 2.0 * math.pi / np.asarray(period, dtype=float) * (np.asarray(time, dtype=float) - coldest_time)
    return (
        np.asarray(mean_temperature, dtype=float) + urban_offset
        - np.asarray(surface_amplitude, dtype=float) * np.exp(-ratio) * np.cos(phase - ratio)
    )
