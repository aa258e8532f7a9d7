"""Solar position: NREL SPA (Reda & Andreas 2004) through pvlib.

pvlib's numpy SPA is used as it is (it is the reference implementation the field checks against,
±0.0003° over 2000 BC–6000 AD); a second implementation here would only be a copy to maintain.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import numpy as np
import pandas as pd
from pvlib import solarposition

from stadstwin.errors import InputError


def solar_position(
    times: pd.DatetimeIndex | Iterable[datetime] | datetime,
    lat: float,
    lon: float,
    elevation: float = 0.0,
    pressure: float = 101325.0,
    temperature: float = 12.0,
    *,
    apparent: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Zenith and azimuth of the sun [deg]: the apparent (refraction-corrected) zenith, where the sun
    is seen and shadows fall, or with ``apparent=False`` the true (geometric) zenith, which
    irradiance models such as Erbs take.

    ``times`` must be timezone-aware; ``lat``/``lon`` in degrees WGS84, ``elevation`` in metres,
    ``pressure`` in Pa and ``temperature`` in °C (they set the refraction correction). Azimuth is
    measured from north, clockwise. Returns two float64 arrays with one value per time.
    """
    index = pd.DatetimeIndex([times] if isinstance(times, datetime) else times)
    if index.tz is None:
        raise InputError(
            "solar_position needs timezone-aware times (e.g. tz='UTC'); got naive times", feature="times"
        )
    if not -90.0 <= lat <= 90.0 or not -180.0 <= lon <= 360.0:
        raise InputError(f"latitude/longitude out of range: lat={lat}, lon={lon} (degrees WGS84)", feature="lat/lon")
    spa = solarposition.spa_python(
        index,
        lat,
        lon,
        altitude=elevation,
        pressure=pressure,
        temperature=temperature,
        how="numpy",
    )
    zenith = spa["apparent_zenith" if apparent else "zenith"]
    return zenith.to_numpy(np.float64), spa["azimuth"].to_numpy(np.float64)
