"""Weather readers (EPW, KNMI hourly) on small hand-written files, and the shipped hot day."""

from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from stadstwin.errors import InputError
from stadstwin.io.weather import (
    diurnal_temperature,
    hot_day,
    read_epw,
    read_knmi_hourly,
    read_weather,
)
from stadstwin.rules import load_rules
from stadstwin.sun import solar_position

EPW_HEADER = """LOCATION,De Bilt,UT,NLD,IWEC Data,062600,52.10,5.18,1.0,2.0
DESIGN CONDITIONS,0
TYPICAL/EXTREME PERIODS,0
GROUND TEMPERATURES,0
HOLIDAYS/DAYLIGHT SAVINGS,No,0,0,0
COMMENTS 1,hand-written test file
COMMENTS 2,
DATA PERIODS,1,1,Data,Thursday, 7/25, 7/25
"""


def epw_row(hour, ta, rh, ghi, dni, dhi, wind, sky):
    fields = [2019, 7, 25, hour, 60, "?9?9?9?9E0?9?9?9?9?9?9?9?9?9?9?9?9?9?9?9*9*9?9?9?9", ta, 15.0, rh, 101300,
              0, 0, 350, ghi, dni, dhi, 0, 0, 0, 0, 180, wind, sky, sky, 20.0, 77777, 9, 999999999, 20,
              0.1, 0, 88, 0.2, 0.0, 1.0]
    return ",".join(str(f) for f in fields)


@pytest.fixture
def epw(tmp_path):
    rows = []
    for hour in range(1, 25):
        ta = 99.9 if hour == 14 else 20.0 + 0.5 * hour  # hour 14: missing-value code
        ghi = max(0.0, 800.0 - 80.0 * abs(hour - 13))
        rows.append(epw_row(hour, ta, 60, ghi, 0.6 * ghi, 0.4 * ghi, 3.0, 5))
    path = tmp_path / "debilt.epw"
    path.write_text(EPW_HEADER + "\n".join(rows) + "\n")
    return path


def test_epw_units_and_time_stamps(epw):
    weather = read_epw(epw)
    assert weather.has_split
    # hour 13 of local standard time (UTC+1) ends at 12:00 UTC: its temperature 26.5 °C is stamped there
    at = weather.at(pd.DatetimeIndex(["2019-07-25 12:00", "2019-07-25 11:30"], tz="UTC"))
    assert at["ta"].iloc[0] == pytest.approx(26.5)
    # hour 13's radiation (800 W/m², the hour's mean) is stamped at the middle of 11:00–12:00 UTC
    assert at["ghi"].iloc[1] == pytest.approx(800.0)
    assert at["dni"].iloc[1] == pytest.approx(480.0)
    assert at["dhi"].iloc[1] == pytest.approx(320.0)
    assert at["wind_10m"].iloc[0] == pytest.approx(3.0)
    assert at["cloud_fraction"].iloc[0] == pytest.approx(0.5)  # 5 tenths
    assert at["rh"].iloc[0] == pytest.approx(60.0)


def test_epw_missing_code_is_a_gap_bridged_in_time(epw):
    weather = read_epw(epw)
    assert weather.air["ta"].isna().sum() == 1
    # hour 14 (ends 13:00 UTC) is missing: interpolated between 26.5 (12:00) and 27.5 (14:00)
    at = weather.at(pd.DatetimeIndex(["2019-07-25 13:00"], tz="UTC"))
    assert at["ta"].iloc[0] == pytest.approx(27.0)


def test_epw_year_restamps_a_typical_year(epw):
    weather = read_epw(epw, year=2026)
    assert weather.days()[0].year == 2026


def test_weather_outside_its_data_names_the_file(epw):
    weather = read_epw(epw)
    with pytest.raises(InputError, match="debilt.epw.*no ta data"):
        weather.at(pd.DatetimeIndex(["2019-08-01 12:00"], tz="UTC"))


KNMI_LEGEND = """# BRON: KONINKLIJK NEDERLANDS METEOROLOGISCH INSTITUUT (KNMI)
# Opmerking: door stationsverplaatsingen en veranderingen in waarneemmethodieken zijn deze tijdreeksen van uurwaarden mogelijk inhomogeen!
#
# STN      LON(east)   LAT(north)     ALT(m)  NAME
# 260:         5.180       52.100       1.90  De Bilt
#
# YYYYMMDD  = datum (YYYY=jaar,MM=maand,DD=dag) / date (YYYY=year,MM=month,DD=day)
# HH        = tijd (HH=uur, UT.12 UT=13 MET, 14 MEZT. Uurvak 05 loopt van 04.00 UT tot 5.00 UT
# FH        = Uurgemiddelde windsnelheid (in 0.1 m/s)
# T         = Temperatuur (in 0.1 graden Celsius) op 1.50 m hoogte tijdens de waarneming
# Q         = Globale straling (in J/cm2) per uurvak
# N         = Bewolking (bedekkingsgraad van de bovenlucht in achtsten), tijdens de waarneming (9=bovenlucht onzichtbaar)
# U         = Relatieve vochtigheid (in procenten) op 1.50 m hoogte tijdens de waarneming
#
"""
KNMI_COLUMNS = "STN,YYYYMMDD,   HH,   DD,   FH,   FF,   FX,    T, T10N,   TD,   SQ,    Q,   DR,   RH,    P,   VV,    N,    U,   WW,   IX,    M,    R,    S,    O,    Y"


def knmi_row(stn, day, hh, fh, t, q, n, u):
    values = [stn, day, hh, 110, fh, fh, 2 * fh, t, "", 150, 10, q, 0, 0, 10150, 75, n, u, "", 5, 0, 0, 0, 0, 0]
    return ",".join(f"{v:>5}" for v in values)


def knmi_rows(stn=260):
    rows = [knmi_row(stn, 20190725, hh, 20 + hh, 330 - 10 * abs(hh - 13), max(0, 300 - 25 * abs(hh - 12)), 1, 40) for hh in range(1, 24)]
    rows.append(knmi_row(stn, 20190725, 24, 20, 250, 0, 9, 80))
    return rows


def test_knmi_units_and_time_stamps(tmp_path):
    path = tmp_path / "uurgeg_260_2019.txt"
    path.write_text(KNMI_LEGEND + "# " + KNMI_COLUMNS + "\n#\n" + "\n".join(knmi_rows()) + "\n")
    weather = read_knmi_hourly(path)
    assert not weather.has_split
    at = weather.at(pd.DatetimeIndex(["2019-07-25 13:00", "2019-07-25 11:30"], tz="UTC"))
    # HH 13: T 330 (0.1 °C) → 33.0 °C observed at 13:00 UT; FH 33 (0.1 m/s) → 3.3 m/s; U 40 %; N 1 octa
    assert at["ta"].iloc[0] == pytest.approx(33.0)
    assert at["wind_10m"].iloc[0] == pytest.approx(3.3)
    assert at["rh"].iloc[0] == pytest.approx(40.0)
    assert at["cloud_fraction"].iloc[0] == pytest.approx(1 / 8)
    # HH 12 covers 11–12 UT: Q 300 J/cm² over the hour = 300e4 J/m² / 3600 s = 833.33 W/m²
    assert at["ghi"].iloc[1] == pytest.approx(3.0e6 / 3600.0)
    # HH 24 is 00:00 UT of the next day; N 9 (sky invisible) counts as overcast
    midnight = weather.air.loc[pd.Timestamp("2019-07-26 00:00", tz="UTC")]
    assert midnight["ta"] == pytest.approx(25.0)
    assert midnight["cloud_fraction"] == pytest.approx(1.0)
    assert weather.hottest_day() == date(2019, 7, 25)


def test_knmi_legend_without_hash_and_station_choice(tmp_path):
    path = tmp_path / "uurgeg.txt"
    legend = KNMI_LEGEND.replace("# ", "").replace("#", "")
    path.write_text(legend + KNMI_COLUMNS + "\n\n" + "\n".join(knmi_rows(260) + knmi_rows(240)) + "\n")
    with pytest.raises(InputError, match=r"several stations \[240, 260\]"):
        read_knmi_hourly(path)
    weather = read_knmi_hourly(path, station=240)
    assert len(weather.air) == 24
    with pytest.raises(InputError, match="station 999 is not in the file"):
        read_knmi_hourly(path, station=999)


def test_knmi_without_needed_columns_is_refused(tmp_path):
    path = tmp_path / "uurgeg.txt"
    path.write_text("# STN,YYYYMMDD,   HH,    T\n  260,20190725,    1,  200\n")
    with pytest.raises(InputError, match=r"lacks the columns \['FH', 'Q', 'U'\]"):
        read_knmi_hourly(path)
    path.write_text("just some text\n")
    with pytest.raises(InputError, match="no column line"):
        read_weather(path)
    with pytest.raises(InputError, match="not found"):
        read_weather(tmp_path / "absent.epw")


def test_diurnal_temperature_shape():
    t = diurnal_temperature(np.array([5.0, 15.0, 10.0, 20.0, 24.0, 0.0]), 18.0, 30.0)
    assert t[0] == pytest.approx(18.0) and t[1] == pytest.approx(30.0)
    assert t[2] == pytest.approx(24.0)  # half-way up
    assert t[3] == pytest.approx(18.0 + 12.0 * (1 + np.cos(np.pi * 5 / 14)) / 2)
    assert t[4] == pytest.approx(t[5])


@given(st.floats(0.0, 24.0), st.floats(-10.0, 25.0), st.floats(0.0, 15.0))
def test_diurnal_temperature_stays_within_its_bounds(hour, t_min, spread):
    value = float(diurnal_temperature(np.array([hour]), t_min, t_min + spread)[0])
    assert t_min - 1e-9 <= value <= t_min + spread + 1e-9


def test_hot_day_follows_the_rules_and_a_clear_sky():
    rules = load_rules()
    hot = rules.climate.hot_day
    lat, lon = 52.09, 5.12
    weather = hot_day(hot, date(2026, 7, 25), lat, lon)
    assert weather.has_split
    day = pd.date_range("2026-07-24 22:00", "2026-07-25 22:00", freq="10min", tz="UTC")
    state = weather.at(day)
    assert state["ta"].max() == pytest.approx(hot.air_temperature_max, abs=0.01)
    assert state["ta"].min() == pytest.approx(hot.air_temperature_min, abs=0.01)
    assert (state["rh"] == hot.relative_humidity).all() and (state["wind_10m"] == hot.wind_speed_10m).all()
    # warmest at 15 h local solar time = 15 − lon/15 h UTC
    warmest = state["ta"].idxmax()
    assert warmest.hour + warmest.minute / 60 == pytest.approx(15.0 - lon / 15.0, abs=1 / 6)
    zenith, _ = solar_position(day, lat, lon)
    up = zenith < 85.0
    closure = state["dni"] * np.cos(np.radians(zenith)) + state["dhi"]
    np.testing.assert_allclose(closure[up], state["ghi"][up], rtol=0.02)
    assert 750.0 < state["ghi"].max() < 950.0  # clear July noon in the Netherlands
    assert (state.loc[zenith > 95.0, "ghi"] == 0.0).all()
