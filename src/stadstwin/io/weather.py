"""Weather for heat-stress runs: EPW files, KNMI hourly station data, or the shipped hot day.

A :class:`Weather` holds two UTC-indexed tables. ``air`` holds what a station observes at a moment
(air temperature ``ta`` [°C], relative humidity ``rh`` [%], wind speed at 10 m ``wind_10m`` [m/s],
``cloud_fraction`` [0–1]); ``sun`` holds the radiation averaged over an interval, stamped at the
interval's middle (global horizontal ``ghi`` [W/m²] and, where the source gives them, direct
normal ``dni`` and diffuse horizontal ``dhi`` [W/m²]). :meth:`Weather.at` interpolates both
linearly in time.

KNMI ``uurgegevens`` (hourly data of the automatic stations, as downloaded from
daggegevens.knmi.nl): comment lines start with ``#`` (older downloads leave the ``#`` off the
legend); the column line names ``STN,YYYYMMDD,HH,...``; values are integers in the units of the
legend: ``T`` 0.1 °C at the end of the hour, ``FH`` hourly mean wind 0.1 m/s (at 10 m), ``Q``
global radiation J/cm² summed over the hour, ``U`` % and ``N`` cloud cover in octas (9 = sky
invisible). Hour ``HH`` runs from HH−1 to HH UT; empty fields are missing values.

EPW (EnergyPlus weather, read with ``pvlib.iotools.read_epw``): hour ``h`` of local standard time
covers h−1 to h; temperatures are the values at the end of the hour, radiation the hour's sum
[Wh/m²] = mean [W/m²]; total sky cover in tenths. The EPW missing-value codes become gaps.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd
from pvlib import iotools
from pvlib.location import Location

from stadstwin.errors import InputError
from stadstwin.rules.tables import HotDay

LOCAL_TZ = "Europe/Amsterdam"
"""Clock time of Dutch reports (CET/CEST)."""

AIR_COLUMNS = ("ta", "rh", "wind_10m", "cloud_fraction")
SUN_COLUMNS = ("ghi", "dni", "dhi")

KNMI_REQUIRED = ("YYYYMMDD", "HH", "T", "FH", "Q", "U")
J_PER_CM2_PER_HOUR_TO_W_PER_M2 = 1.0e4 / 3600.0

# EPW missing-value codes (EnergyPlus Auxiliary Programs, weather data format)
_EPW_MISSING = {"temp_air": 99.9, "relative_humidity": 999.0, "ghi": 9999.0, "dni": 9999.0,
                "dhi": 9999.0, "wind_speed": 999.0, "total_sky_cover": 99.0}

HOT_DAY_STEP = timedelta(minutes=10)
TMIN_SOLAR_HOUR = 5.0
TMAX_SOLAR_HOUR = 15.0


@dataclass(frozen=True, eq=False)
class Weather:
    """Weather series of one site (see the module docstring for columns and units)."""

    air: pd.DataFrame
    sun: pd.DataFrame
    source: str

    def __post_init__(self) -> None:
        for name, table, columns in (("air", self.air, AIR_COLUMNS), ("sun", self.sun, SUN_COLUMNS[:1])):
            missing = [c for c in columns if c not in table.columns]
            if missing:
                raise ValueError(f"Weather.{name} lacks columns {missing}")
            if not isinstance(table.index, pd.DatetimeIndex) or str(table.index.tz) != "UTC":
                raise ValueError(f"Weather.{name} must have a UTC DatetimeIndex")

    @property
    def has_split(self) -> bool:
        """Whether the source gives direct and diffuse radiation itself."""
        return "dni" in self.sun.columns and "dhi" in self.sun.columns

    def at(self, times: pd.DatetimeIndex) -> pd.DataFrame:
        """All columns linearly interpolated in time at ``times`` (tz-aware), indexed by them in UTC.

        Raises InputError when a time lies outside the data or between two missing values.
        """
        index = pd.DatetimeIndex(times)
        if index.tz is None:
            raise ValueError("Weather.at needs timezone-aware times")
        index = index.tz_convert("UTC")
        out = pd.DataFrame(index=index)
        for table in (self.air, self.sun):
            stamps = table.index.asi8.astype(np.float64)
            for column in table.columns:
                values = table[column].to_numpy(np.float64)
                known = np.isfinite(values)
                wanted = index.asi8.astype(np.float64)
                if not known.any():
                    raise InputError(f"the weather holds no {column} values", path=self.source)
                inside = (wanted >= stamps[known].min()) & (wanted <= stamps[known].max())
                if not inside.all():
                    first = index[~inside][0]
                    raise InputError(
                        f"no {column} data around {first.tz_convert(LOCAL_TZ):%Y-%m-%d %H:%M} local time",
                        path=self.source, hint="choose a date the weather file covers",
                    )
                out[column] = np.interp(wanted, stamps[known], values[known])
        return out

    def days(self) -> list[date]:
        """Local dates with air temperature data."""
        local = self.air["ta"].dropna().index.tz_convert(LOCAL_TZ)
        return sorted(set(local.date))

    def hottest_day(self) -> date:
        """The local date with the highest air temperature."""
        ta = self.air["ta"].dropna()
        if ta.empty:
            raise InputError("the weather holds no air temperature", path=self.source)
        return ta.idxmax().tz_convert(LOCAL_TZ).date()


def _utc_frame(columns: dict[str, np.ndarray], index: pd.DatetimeIndex) -> pd.DataFrame:
    return pd.DataFrame(columns, index=index.tz_convert("UTC")).sort_index()


def read_epw(path: str | PathLike[str], *, year: int | None = None) -> Weather:
    """Weather from an EnergyPlus EPW file; ``year`` restamps a typical year (TMY) to that year."""
    path = Path(path)
    try:
        data, _ = iotools.read_epw(str(path), coerce_year=year)
    except (OSError, ValueError, KeyError, IndexError) as exc:
        raise InputError(f"not a readable EPW weather file: {exc}", path=path,
                         hint="check that it is a complete .epw download") from exc
    for column, code in _EPW_MISSING.items():
        data[column] = data[column].where(data[column] < code)
    start = pd.DatetimeIndex(data.index)
    air = {
        "ta": data["temp_air"].to_numpy(np.float64),
        "rh": data["relative_humidity"].to_numpy(np.float64),
        "wind_10m": data["wind_speed"].to_numpy(np.float64),
        "cloud_fraction": np.clip(data["total_sky_cover"].to_numpy(np.float64) / 10.0, 0.0, 1.0),
    }
    sun = {c: data[c].to_numpy(np.float64) for c in SUN_COLUMNS}
    return Weather(_utc_frame(air, start + pd.Timedelta(hours=1)),
                   _utc_frame(sun, start + pd.Timedelta(minutes=30)), str(path))


def _knmi_table(path: Path) -> pd.DataFrame:
    try:
        lines = path.read_text(encoding="latin-1").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read the KNMI file: {exc}", path=path) from exc
    header = next((i for i, line in enumerate(lines)
                   if line.lstrip("# ").replace(" ", "").startswith("STN,YYYYMMDD,HH")), None)
    if header is None:
        raise InputError("no column line 'STN,YYYYMMDD,HH,...' found", path=path,
                         hint="use the hourly data (uurgegevens) text file as KNMI delivers it")
    names = [name.strip() for name in lines[header].lstrip("# ").split(",")]
    body = "\n".join(line for line in lines[header + 1:] if line.strip() and not line.lstrip().startswith("#"))
    try:
        table = pd.read_csv(io.StringIO(body), header=None, names=names, skipinitialspace=True,
                            na_values=[""], dtype=float)
    except ValueError as exc:
        raise InputError(f"KNMI data rows are not numeric: {exc}", path=path) from exc
    missing = [c for c in KNMI_REQUIRED if c not in table.columns]
    if missing:
        raise InputError(f"KNMI file lacks the columns {missing}", path=path,
                         hint="download at least T, FH, Q and U (and N for cloud cover)")
    if table.empty:
        raise InputError("the KNMI file holds no data rows", path=path)
    return table


def read_knmi_hourly(path: str | PathLike[str], *, station: int | None = None) -> Weather:
    """Weather from a KNMI hourly station data file (``uurgegevens``); ``station`` picks one STN.

    Converts T [0.1 °C] → °C, FH [0.1 m/s] → m/s, Q [J/cm² per hour] → W/m² mean over the hour,
    U [%] and N [octas, 9 = sky invisible] → cloud fraction (N/8, 9 → 1).
    """
    path = Path(path)
    table = _knmi_table(path)
    stations = sorted(set(table["STN"].dropna().astype(int))) if "STN" in table.columns else []
    if station is not None:
        table = table[table["STN"] == station]
        if table.empty:
            raise InputError(f"station {station} is not in the file", path=path, hint=f"stations: {stations}")
    elif len(stations) > 1:
        raise InputError(f"the file holds several stations {stations}", path=path, hint="pass station=STN")
    day = pd.to_datetime(table["YYYYMMDD"].astype(int).astype(str), format="%Y%m%d").dt.tz_localize("UTC")
    hour = pd.to_timedelta(table["HH"].to_numpy(), unit="h")
    if ((table["HH"] < 1) | (table["HH"] > 24)).any():
        raise InputError("HH must run 1–24 (hour ending at HH UT)", path=path, feature="HH")
    end = pd.DatetimeIndex(day + hour)
    octas = table["N"].to_numpy(np.float64) if "N" in table.columns else np.zeros(len(table))
    air = {
        "ta": table["T"].to_numpy(np.float64) / 10.0,
        "rh": table["U"].to_numpy(np.float64),
        "wind_10m": table["FH"].to_numpy(np.float64) / 10.0,
        "cloud_fraction": np.where(octas >= 9.0, 1.0, octas / 8.0),
    }
    sun = {"ghi": table["Q"].to_numpy(np.float64) * J_PER_CM2_PER_HOUR_TO_W_PER_M2}
    return Weather(_utc_frame(air, end), _utc_frame(sun, end - pd.Timedelta(minutes=30)), str(path))


def read_weather(path: str | PathLike[str], *, year: int | None = None) -> Weather:
    """An EPW (``.epw``) or KNMI hourly (any other text) weather file; ``year`` restamps an EPW."""
    path = Path(path)
    if not path.is_file():
        raise InputError("weather file not found", path=path)
    if path.suffix.lower() == ".epw":
        return read_epw(path, year=year)
    return read_knmi_hourly(path)


def diurnal_temperature(solar_hour: np.ndarray, t_min: float, t_max: float) -> np.ndarray:
    """Air temperature [°C] over local solar hours: two half-cosines, minimum at 05 h, maximum at 15 h."""
    h = np.mod(np.asarray(solar_hour, dtype=np.float64), 24.0)
    rise = TMAX_SOLAR_HOUR - TMIN_SOLAR_HOUR
    since_max = np.mod(h - TMAX_SOLAR_HOUR, 24.0)
    warming = (h >= TMIN_SOLAR_HOUR) & (h <= TMAX_SOLAR_HOUR)
    shape = np.where(warming, (1.0 - np.cos(math.pi * (h - TMIN_SOLAR_HOUR) / rise)) / 2.0,
                     (1.0 + np.cos(math.pi * since_max / (24.0 - rise))) / 2.0)
    return t_min + (t_max - t_min) * shape


def hot_day(hot: HotDay, day: date, lat: float, lon: float, elevation: float = 0.0) -> Weather:
    """The shipped hot day on ``day`` at (lat, lon) [deg WGS84], every 10 minutes.

    Air temperature follows :func:`diurnal_temperature` between the rule's minimum and maximum
    (solar time = UTC + lon/15 h); humidity and wind are the rule's constants; the sky is clear
    (cloud 0) with global, direct and diffuse radiation from pvlib's Ineichen clear-sky model with
    the climatological Linke turbidity of the site and month.
    """
    start = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(hours=6)
    times = pd.date_range(start, start + timedelta(hours=36), freq=HOT_DAY_STEP)
    solar_hour = (times.hour + times.minute / 60.0 + lon / 15.0).to_numpy(np.float64)
    n = len(times)
    air = {
        "ta": diurnal_temperature(solar_hour, hot.air_temperature_min, hot.air_temperature_max),
        "rh": np.full(n, hot.relative_humidity),
        "wind_10m": np.full(n, hot.wind_speed_10m),
        "cloud_fraction": np.zeros(n),
    }
    sky = Location(lat, lon, tz="UTC", altitude=elevation).get_clearsky(times, model="ineichen")
    sun = {c: sky[c].to_numpy(np.float64) for c in SUN_COLUMNS}
    return Weather(_utc_frame(air, times), _utc_frame(sun, times), f"hot day {day.isoformat()} (rules.climate.hot_day)")
