// The "plannen" overlay: every party's planned works (GeoJSON of /api/scenes/S/plans, as this organisation may see
// them) draped on the ground, coloured by party, the plans of a koppelkans outlined, and only the plans whose works
// (realisatie) run in the chosen year shown.
import * as THREE from 'three';
import { toLocal } from './geo.js';

/** Party colours: matplotlib's tab10, in the order of the sorted party names (as the kansenkaart). */
export const PARTY_COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f',
  '#bcbd22', '#17becf'];
export const KOPPELKANS_COLOUR = '#00e05a';
const LIFT = 0.3; // m above the ground
const PIECE = 4; // m: longest edge piece, so a shape follows the ground
const CELL = 1; // m: cell of the ground height lookup

/** [first, last] calendar year of a plan's works. */
export function worksYears(feature) {
  const p = feature.properties;
  return [Number(p.realisatie_start.slice(0, 4)), Number(p.realisatie_end.slice(0, 4))];
}

/** Whether the plan's works run in `year`. */
export function activeIn(feature, year) {
  const [first, last] = worksYears(feature);
  return first <= year && year <= last;
}

/** [first, last] year of all works of `features`. */
export function yearSpan(features) {
  const years = features.flatMap(worksYears);
  return [Math.min(...years), Math.max(...years)];
}

/** Party name → colour. */
export function partyColours(features) {
  const parties = [...new Set(features.map((f) => f.properties.party))].sort();
  return new Map(parties.map((party, k) => [party, PARTY_COLOURS[k % PARTY_COLOURS.length]]));
}

/** Ground height [local m] at (x, y): the mean terrain vertex height of the cell, else of the nearest cells. */
function groundLookup(terrain, fallback) {
  const cells = new Map();
  const key = (i, j) => `${i},${j}`;
  const point = new THREE.Vector3();
  for (const mesh of terrain) {
    const position = mesh.geometry.getAttribute('position');
    for (let k = 0; k < position.count; k += 1) {
      point.fromBufferAttribute(position, k).applyMatrix4(mesh.matrixWorld);
      const id = key(Math.floor(point.x / CELL), Math.floor(point.y / CELL));
      const sum = cells.get(id) ?? [0, 0];
      sum[0] += point.z;
      sum[1] += 1;
      cells.set(id, sum);
    }
  }
  return (x, y) => {
    const i = Math.floor(x / CELL);
    const j = Math.floor(y / CELL);
    for (let r = 0; r <= 3; r += 1) {
      let z = 0;
      let n = 0;
      for (let di = -r; di <= r; di += 1) {
        for (let dj = -r; dj <= r; dj += 1) {
          const sum = cells.get(key(i + di, j + dj));
          if (sum) {
            z += sum[0];
            n += sum[1];
          }
        }
      }
      if (n) return z / n;
    }
    return fallback;
  };
}

/** `ring` (local [x, y] points) with extra points so that no edge is longer than PIECE. */
function densify(ring) {
  const out = [];
  for (let k = 0; k < ring.length - 1; k += 1) {
    const [a, b] = [ring[k], ring[k + 1]];
    const n = Math.max(1, Math.ceil(Math.hypot(b[0] - a[0], b[1] - a[1]) / PIECE));
    for (let s = 0; s < n; s += 1) out.push([a[0] + ((b[0] - a[0]) * s) / n, a[1] + ((b[1] - a[1]) * s) / n]);
  }
  return out;
}

/** Outlines (local rings, closed) of a plan's footprint: its polygons, or its route cut into pieces of a ribbon
 * `width` m wide (flat ends), so that each piece follows the ground. */
function outlines(geometry, width, origin) {
  const local = (c) => toLocal(origin, [c[0], c[1], 0]).slice(0, 2);
  if (geometry.type === 'Polygon' || geometry.type === 'MultiPolygon') {
    const polygons = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;
    return polygons.map((rings) => densify(rings[0].map(local)));
  }
  const lines = geometry.type === 'LineString' ? [geometry.coordinates] : geometry.coordinates;
  const pieces = [];
  for (const line of lines) {
    const axis = [...densify(line.map(local)), local(line[line.length - 1])];
    for (let k = 0; k < axis.length - 1; k += 1) {
      const [a, b] = [axis[k], axis[k + 1]];
      const length = Math.hypot(b[0] - a[0], b[1] - a[1]);
      if (length === 0) continue;
      const [nx, ny] = [(-(b[1] - a[1]) / length) * (width / 2), ((b[0] - a[0]) / length) * (width / 2)];
      pieces.push([[a[0] + nx, a[1] + ny], [a[0] - nx, a[1] - ny], [b[0] - nx, b[1] - ny], [b[0] + nx, b[1] + ny]]);
    }
  }
  return pieces;
}

/** A mesh of the rings, each vertex lifted onto the ground (`ground(x, y)` + LIFT), and their outlines. */
function draped(rings, ground, material, edge) {
  const group = new THREE.Group();
  for (const ring of rings) {
    const shape = new THREE.Shape(ring.map(([x, y]) => new THREE.Vector2(x, y)));
    const geometry = new THREE.ShapeGeometry(shape);
    const position = geometry.getAttribute('position');
    for (let k = 0; k < position.count; k += 1) position.setZ(k, ground(position.getX(k), position.getY(k)) + LIFT);
    group.add(new THREE.Mesh(geometry, material));
    if (edge) {
      const points = [...ring, ring[0]].map(([x, y]) => new THREE.Vector3(x, y, ground(x, y) + LIFT + 0.05));
      group.add(new THREE.Line(new THREE.BufferGeometry().setFromPoints(points), edge));
    }
  }
  return group;
}

/**
 * The overlay of one pane: a group with one child group per plan (`userData` its attributes, `userData.plan` its
 * id) draped on the pane's `terrain` meshes; members of a koppelkans (`chances`, GeoJSON of the service) outlined.
 */
export function plansOverlay(features, chances, origin, terrain, fallbackZ) {
  const ground = groundLookup(terrain, fallbackZ);
  const colours = partyColours(features);
  const members = new Map();
  for (const chance of chances) {
    for (const id of chance.properties.plans) members.set(id, chance.properties.group.join(' + '));
  }
  const edge = new THREE.LineBasicMaterial({ color: KOPPELKANS_COLOUR, depthWrite: false });
  const materials = new Map([...colours].map(([party, colour]) => [party, new THREE.MeshBasicMaterial({
    color: colour, transparent: true, opacity: 0.65, depthWrite: false, side: THREE.DoubleSide,
    polygonOffset: true, polygonOffsetFactor: -4, polygonOffsetUnits: -4 })]));
  const overlay = new THREE.Group();
  overlay.name = 'plannen';
  for (const feature of features) {
    const p = feature.properties;
    const width = Number(p.trench_width ?? 1);
    const koppelkans = members.get(p.id);
    const plan = draped(outlines(feature.geometry, width, origin), ground, materials.get(p.party), koppelkans ? edge : null);
    plan.userData = { plan: p.id, party: p.party, theme: p.theme, phase: p.phase,
      works: `${p.realisatie_start} – ${p.realisatie_end}`, asset_types: p.asset_types, ...(koppelkans ? { koppelkans } : {}) };
    plan.traverse((object) => { object.userData.layer = 'plannen'; });
    overlay.add(plan);
  }
  overlay.userData.features = features;
  return overlay;
}

/** Show only the plans of `overlay` whose works run in `year`; returns how many are shown. */
export function showYear(overlay, year) {
  let shown = 0;
  overlay.children.forEach((plan, k) => {
    plan.visible = activeIn(overlay.userData.features[k], year);
    shown += plan.visible ? 1 : 0;
  });
  return shown;
}

/** Legend of the overlay: a swatch per party, the koppelkansen with a plan at work in `year`. */
export function plansLegend(element, features, chances, year, shown) {
  element.replaceChildren();
  const heading = document.createElement('div');
  heading.textContent = `${shown} of ${features.length} plans at work in ${year}`;
  element.appendChild(heading);
  for (const [party, colour] of partyColours(features)) {
    const row = document.createElement('div');
    row.className = 'swatch';
    row.innerHTML = `<span style="background:${colour}"></span>`;
    row.append(party);
    element.appendChild(row);
  }
  const byId = new Map(features.map((f) => [f.properties.id, f]));
  const current = chances.filter((c) => c.properties.plans.some((id) => byId.has(id) && activeIn(byId.get(id), year)));
  const kans = document.createElement('div');
  kans.className = 'swatch';
  kans.innerHTML = `<span style="background:none;border:2px solid ${KOPPELKANS_COLOUR}"></span>`;
  kans.append(`koppelkans: ${current.map((c) => c.properties.plans.join(' + ')).join('; ') || 'none this year'}`);
  element.appendChild(kans);
}
