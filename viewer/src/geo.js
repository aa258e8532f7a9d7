// Coordinates: RD New (EPSG:28992 plane of EPSG:7415) to WGS84 for the sun, and RD to the viewer's local frame.

// Series of Schreutelkamp & Strang van Hees (RD → WGS84 to about 1 m), around Amersfoort (155000, 463000).
const LAT_TERMS = [[0, 1, 3235.65389], [2, 0, -32.58297], [0, 2, -0.2475], [2, 1, -0.84978], [0, 3, -0.0655],
  [2, 2, -0.01709], [1, 0, -0.00738], [4, 0, 0.0053], [2, 3, -0.00039], [4, 1, 0.00033], [1, 1, -0.00012]];
const LON_TERMS = [[1, 0, 5260.52916], [1, 1, 105.94684], [1, 2, 2.45656], [3, 0, -0.81885], [1, 3, 0.05594],
  [3, 1, -0.05607], [0, 1, 0.01199], [3, 2, -0.00256], [1, 4, 0.00128], [0, 2, 0.00022], [2, 0, -0.00022],
  [5, 0, 0.00026]];

/** WGS84 [lat, lon] in degrees of an RD point [m]. */
export function rdToWgs84(x, y) {
  const dx = (x - 155000) * 1e-5;
  const dy = (y - 463000) * 1e-5;
  const series = (terms) => terms.reduce((sum, [p, q, k]) => sum + k * dx ** p * dy ** q, 0);
  return [52.1551744 + series(LAT_TERMS) / 3600, 5.38720621 + series(LON_TERMS) / 3600];
}

/** Local viewer coordinates [m] of an EPSG:7415 point: true = origin + local (x east, y north, z up). */
export function toLocal(origin, [x, y, z = 0]) {
  return [x - origin[0], y - origin[1], z - origin[2]];
}

/** Mean of every coordinate of a GeoJSON geometry (the point a finding is shown at); null without coordinates. */
export function geometryCentre(geometry) {
  const points = [];
  const walk = (c) => {
    if (typeof c[0] === 'number') points.push(c);
    else c.forEach(walk);
  };
  if (geometry?.type === 'GeometryCollection') geometry.geometries.forEach((g) => walk(g.coordinates));
  else if (geometry?.coordinates) walk(geometry.coordinates);
  if (!points.length) return null;
  const sum = [0, 0, 0];
  for (const p of points) {
    sum[0] += p[0];
    sum[1] += p[1];
    sum[2] += p[2] ?? 0;
  }
  return sum.map((s) => s / points.length);
}
