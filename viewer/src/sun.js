// The sun: solar position (suncalc) for a date, local clock time in the Netherlands and a place.
import SunCalc from 'suncalc';

/** Hours Dutch clocks are ahead of UTC on a date: 2 in summer time (last Sunday of March to last of October), else 1. */
export function dutchUtcOffset(year, month, day) {
  const lastSunday = (m) => {
    const last = new Date(Date.UTC(year, m + 1, 0));
    return last.getUTCDate() - last.getUTCDay();
  };
  const start = lastSunday(2);
  const end = lastSunday(9);
  const afterStart = month > 3 || (month === 3 && day >= start);
  const beforeEnd = month < 10 || (month === 10 && day < end);
  return afterStart && beforeEnd ? 2 : 1;
}

/** The instant of a Dutch clock time: `date` 'YYYY-MM-DD', `hours` decimal local hours. */
export function dutchInstant(date, hours) {
  const [year, month, day] = date.split('-').map(Number);
  const utcHours = hours - dutchUtcOffset(year, month, day);
  return new Date(Date.UTC(year, month - 1, day) + utcHours * 3600e3);
}

/**
 * Sun position at a Dutch clock time: azimuth [deg, 0 = north, clockwise], altitude [deg] and the unit vector
 * towards the sun in the local frame (x east, y north, z up).
 */
export function sunPosition(date, hours, lat, lon) {
  const { azimuth, altitude } = SunCalc.getPosition(dutchInstant(date, hours), lat, lon);
  const compass = azimuth + Math.PI; // suncalc measures from south towards west
  const direction = [Math.sin(compass) * Math.cos(altitude), Math.cos(compass) * Math.cos(altitude), Math.sin(altitude)];
  return { azimuth: ((compass * 180) / Math.PI) % 360, altitude: (altitude * 180) / Math.PI, direction };
}
