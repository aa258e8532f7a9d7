"""Hourly year profiles of cable load and heat-network fluid temperature, built from parameters.

A cable load is a fraction of its annual peak: a 24-hour daily shape (peak 1) times a seasonal
factor 1 − a·(1 − cos(2π(d − d_peak)/365))/2, which is 1 on the peak day and 1 − a half a year
later. Heat-network supply/return temperatures follow T̄ + A·cos(2π(d − d_peak)/365). Days d
count from the first hour's day 0 in fractional days; hours are 0..n−1 from 1 January 00:00.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

YEAR_HOURS = 8760


@dataclass(frozen=True)
class CableProfile:
    """Load shape of a cable: daily shape (24 values, max 1), seasonal drop, peak day.

    The defaults per voltage level are rule values (``rules.heat_sources.load_profiles``); the
    analysis layer builds these from them (``analyses.thermal_sources.cable_profiles``).
    """

    daily: tuple[float, ...]
    seasonal_drop: float
    peak_day: float
    note: str

    def __post_init__(self) -> None:
        if len(self.daily) != 24 or min(self.daily) < 0 or not math.isclose(max(self.daily), 1.0):
            raise ValueError("daily must hold 24 non-negative values with maximum 1")
        if not 0.0 <= self.seasonal_drop <= 1.0:
            raise ValueError("seasonal_drop must lie in [0, 1]")


def cable_load_profile(profile: CableProfile, n_hours: int = YEAR_HOURS) -> np.ndarray:
    """Load as a fraction of the annual peak for each hour (n_hours,) [-]."""
    if n_hours < 1:
        raise ValueError("n_hours must be ≥ 1")
    hours = np.arange(n_hours)
    daily = np.asarray(profile.daily)[hours % 24]
    days = hours / 24.0
    seasonal = 1.0 - profile.seasonal_drop * 0.5 * (1.0 - np.cos(2.0 * math.pi * (days - profile.peak_day) / 365.0))
    return daily * seasonal


def seasonal_temperature(mean, amplitude, peak_day, n_hours: int = YEAR_HOURS) -> np.ndarray:
    """Fluid temperature mean + amplitude·cos(2π(d − peak_day)/365) per hour (n_hours,) [°C]."""
    if n_hours < 1:
        raise ValueError("n_hours must be ≥ 1")
    days = np.arange(n_hours) / 24.0
    return mean + amplitude * np.cos(2.0 * math.pi * (days - peak_day) / 365.0)
