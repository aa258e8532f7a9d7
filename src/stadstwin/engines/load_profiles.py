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
    """Default load shape of a voltage level: daily shape (24 values, max 1), seasonal drop, peak day."""

    daily: tuple[float, ...]
    seasonal_drop: float
    peak_day: float
    note: str

    def __post_init__(self) -> None:
        if len(self.daily) != 24 or min(self.daily) < 0 or not math.isclose(max(self.daily), 1.0):
            raise ValueError("daily must hold 24 non-negative values with maximum 1")
        if not 0.0 <= self.seasonal_drop <= 1.0:
            raise ValueError("seasonal_drop must lie in [0, 1]")


DEFAULT_CABLE_PROFILES = {
    "laagspanning": CableProfile(
        daily=(0.45, 0.40, 0.38, 0.37, 0.38, 0.42, 0.55, 0.70, 0.72, 0.68, 0.66, 0.66,
               0.66, 0.64, 0.63, 0.66, 0.76, 0.92, 1.00, 0.98, 0.90, 0.80, 0.66, 0.52),
        seasonal_drop=0.30, peak_day=15.0,
        note="practice value: residential LV, evening peak, winter maximum (no public norm)",
    ),
    "middenspanning": CableProfile(
        daily=(0.55, 0.52, 0.50, 0.50, 0.52, 0.58, 0.70, 0.84, 0.92, 0.95, 0.96, 0.96,
               0.95, 0.94, 0.93, 0.94, 0.97, 1.00, 0.99, 0.95, 0.88, 0.78, 0.68, 0.60),
        seasonal_drop=0.25, peak_day=15.0,
        note="practice value: mixed MV feeder, day plateau with evening peak (no public norm)",
    ),
    "hoogspanning": CableProfile(
        daily=(0.70, 0.68, 0.66, 0.66, 0.68, 0.72, 0.80, 0.88, 0.93, 0.96, 0.97, 0.98,
               0.98, 0.97, 0.96, 0.96, 0.98, 1.00, 1.00, 0.97, 0.92, 0.86, 0.80, 0.74),
        seasonal_drop=0.20, peak_day=15.0,
        note="practice value: HV transport, flatter daily shape (no public norm)",
    ),
}
"""Default shapes per IMKL thema; editable, practice values rather than norms."""


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
