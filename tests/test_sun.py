"""Solar position against the SPA paper's worked example and against pvlib."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pvlib import solarposition

from stadstwin.sun import solar_position


def test_spa_paper_example():
    # Reda & Andreas (2004), table A5.1: Golden, Colorado, 17 Oct 2003 12:30:30 MST
    times = pd.DatetimeIndex(["2003-10-17 12:30:30"], tz="Etc/GMT+7")
    zenith, azimuth = solar_position(times, 39.742476, -105.1786, 1830.14, 82000.0, 11.0)
    assert zenith[0] == pytest.approx(50.11162, abs=1e-3)
    assert azimuth[0] == pytest.approx(194.34024, abs=1e-3)


def test_against_pvlib_over_a_year_in_amsterdam():
    times = pd.date_range("2026-01-01", "2026-12-31 23:00", freq="97min", tz="Europe/Amsterdam")
    zenith, azimuth = solar_position(times, 52.37, 4.90, elevation=2.0)
    ref = solarposition.get_solarposition(
        times, 52.37, 4.90, altitude=2.0, method="nrel_numpy", pressure=101325.0, temperature=12.0
    )
    np.testing.assert_allclose(zenith, ref["apparent_zenith"], atol=1e-3)
    up = ref["apparent_zenith"].to_numpy() < 90.0
    np.testing.assert_allclose(azimuth[up], ref["azimuth"].to_numpy()[up], atol=1e-3)


@settings(max_examples=30, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(1950, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    st.floats(-89.0, 89.0),
    st.floats(-180.0, 180.0),
)
def test_ranges(when, lat, lon):
    zenith, azimuth = solar_position([when], lat, lon)
    assert 0.0 <= zenith[0] <= 180.0
    assert 0.0 <= azimuth[0] < 360.0


def test_timezone_does_not_change_the_instant():
    utc = solar_position(datetime(2026, 6, 21, 12, tzinfo=UTC), 52.0, 5.0)
    local = solar_position(pd.Timestamp("2026-06-21 14:00", tz="Europe/Amsterdam"), 52.0, 5.0)
    np.testing.assert_allclose(utc, local, atol=1e-9)


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        solar_position(pd.DatetimeIndex(["2026-06-21 12:00"]), 52.0, 5.0)


def test_erbs_split_takes_the_true_zenith_as_pvlib_defines_it():
    """At a low sun refraction lifts the apparent sun by ~0.5°; Erbs is defined on the true zenith."""
    from pvlib import irradiance

    from stadstwin.analyses.heat_stress import direct_and_diffuse

    lat, lon = 52.0116, 4.3571  # Delft
    times = pd.date_range("2026-06-21 04:00", periods=4, freq="15min", tz="UTC")  # 06:00–06:45 local
    state = pd.DataFrame({"ghi": [40.0, 60.0, 85.0, 110.0]}, index=times)
    spa = solarposition.spa_python(times, lat, lon)
    expected = irradiance.erbs(state["ghi"].to_numpy(), spa["zenith"].to_numpy(), times.day_of_year.to_numpy())
    dni, dhi = direct_and_diffuse(state, False, times, lat, lon)
    np.testing.assert_allclose(dni, expected["dni"], rtol=1e-12)
    np.testing.assert_allclose(dhi, expected["dhi"], rtol=1e-12)
    apparent = irradiance.erbs(state["ghi"].to_numpy(), spa["apparent_zenith"].to_numpy(), times.day_of_year.to_numpy())
    assert np.abs(dni - apparent["dni"]).max() > 1.0  # W/m²: the two zeniths differ here
    measured = pd.DataFrame({"ghi": state["ghi"], "dni": 1.0, "dhi": 2.0}, index=times)
    assert [v.tolist() for v in direct_and_diffuse(measured, True, times, lat, lon)] == [[1.0] * 4, [2.0] * 4]
