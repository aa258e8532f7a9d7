// A 3D Tiles 1.1 tileset streamed with 3d-tiles-renderer: `tiles.html?tileset=URL[&token=…][&errorTarget=px]`,
// e.g. the service's /api/scenes/S/variants/V/tiles/tileset.json (`stadstwin export --format 3dtiles`).
// The root's ENU→ECEF transform is undone, so the scene is in the tileset's local frame (x east, y north, z up
// [m] from the origin in the tileset's extras). `window.__tiles` is a debug handle for the browser tests: ready
// (the first frame with every tile the view needs drawn), firstFrameMs, tilesetMs (tileset.json loaded), lastTileMs
// (last tile parsed) [ms since navigation], buildings (drawn), distinct (their BAG ids), pick (the last clicked
// object: a building's extras by its feature id, or a node name, and the local point). `window.__tilesDebug.project`
// maps a local point to client pixels.
import * as THREE from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';
import { TilesRenderer } from '3d-tiles-renderer';
import { apiToken } from './api.js';

THREE.Object3D.DEFAULT_UP.set(0, 0, 1);
const params = new URLSearchParams(window.location.search);
const container = document.getElementById('viewport');
const status = document.getElementById('status');
const handle = { pick: null, ready: false, firstFrameMs: null, tilesetMs: null, lastTileMs: null, buildings: 0, distinct: 0, tiles: 0, errors: [] };
const seen = new Set();
let dirty = true; // a frame is due
let lastRender = 0;
window.__tiles = handle;

const renderer = new THREE.WebGLRenderer({ antialias: params.get('quality') !== 'low', preserveDrawingBuffer: true });
container.appendChild(renderer.domElement);
const scene = new THREE.Scene();
scene.background = new THREE.Color('#dfe8ef');
scene.add(new THREE.HemisphereLight('#ffffff', '#8a7f6a', 1.2));
const sun = new THREE.DirectionalLight('#fff6e5', 2.0);
sun.position.set(-0.5, -0.8, 1);
scene.add(sun);
const camera = new THREE.PerspectiveCamera(45, 1, 1, 20000);
const controls = new OrbitControls(camera, renderer.domElement);

const tiles = new TilesRenderer(params.get('tileset'));
const token = apiToken();
if (token) tiles.fetchOptions.headers = { Authorization: `Bearer ${token}` };
tiles.errorTarget = Number(params.get('errorTarget') ?? 16);
tiles.setCamera(camera);
scene.add(tiles.group);

tiles.addEventListener('load-root-tileset', ({ tileset }) => {
  handle.tilesetMs = performance.now();
  const toEcef = new THREE.Matrix4().fromArray(tileset.root.transform ?? new THREE.Matrix4().elements);
  toEcef.invert().decompose(tiles.group.position, tiles.group.quaternion, tiles.group.scale);
  const [cx, cy, cz, hx, , , , hy, , , , hz] = tileset.root.boundingVolume.box;
  const radius = Math.hypot(hx, hy, hz);
  controls.target.set(cx, cy, cz);
  camera.position.set(cx, cy - 1.2 * radius, cz + 1.0 * radius);
  camera.far = radius * 10;
  camera.updateProjectionMatrix();
  controls.update();
});
tiles.addEventListener('load-model', ({ scene: model }) => {
  handle.tiles += 1;
  handle.lastTileMs = performance.now();
  model.traverse((object) => { // a tile's buildings: one mesh, BAG ids per feature id (`_feature_id_0`)
    const ids = object.isMesh ? object.userData.source_id : undefined;
    if (!Array.isArray(ids)) return;
    handle.buildings += ids.length;
    ids.forEach((id) => seen.add(id));
  });
  handle.distinct = seen.size;
});
tiles.addEventListener('load-error', ({ error, url }) => handle.errors.push(`${url}: ${error}`));

// Click: the building under the pointer, by the feature id of the hit triangle's vertex.
const raycaster = new THREE.Raycaster();
renderer.domElement.addEventListener('click', (event) => {
  const rect = renderer.domElement.getBoundingClientRect();
  const pointer = new THREE.Vector2(((event.clientX - rect.left) / rect.width) * 2 - 1,
    -((event.clientY - rect.top) / rect.height) * 2 + 1);
  raycaster.setFromCamera(pointer, camera);
  const hit = raycaster.intersectObject(tiles.group, true)[0];
  handle.pick = hit ? pickOf(hit) : null;
  status.textContent = handle.pick ? JSON.stringify(handle.pick) : 'nothing here';
});

function pickOf(hit) {
  const { userData, geometry, name } = hit.object;
  const feature = geometry.getAttribute('_feature_id_0');
  const point = hit.point.toArray().map((v) => Math.round(v * 1000) / 1000);
  if (!feature || !Array.isArray(userData.source_id)) return { name, point };
  const k = feature.getX(hit.face.a);
  const picked = Object.fromEntries(Object.entries(userData).filter(([, v]) => Array.isArray(v)).map(([key, v]) => [key, v[k]]));
  return { ...picked, point };
}

window.__tilesDebug = {
  /** Client pixel [x, y] of a local point [m]. */
  project(point) {
    const v = new THREE.Vector3(...point).project(camera);
    const rect = renderer.domElement.getBoundingClientRect();
    return [rect.left + (v.x + 1) / 2 * rect.width, rect.top + (1 - v.y) / 2 * rect.height];
  },
};

function resize() {
  dirty = true;
  const { clientWidth: w, clientHeight: h } = container;
  renderer.setSize(w, h);
  camera.aspect = w / h;
  camera.updateProjectionMatrix();
  tiles.setResolutionFromRenderer(camera, renderer);
}
new ResizeObserver(resize).observe(container);
resize();

// Frames on demand (software WebGL is slow): after a change of view or a new tile, at most every 250 ms while
// tiles stream in; the tiles' own update runs every animation frame.
controls.addEventListener('change', () => { dirty = true; });
tiles.addEventListener('load-model', () => { dirty = true; });
// Done loading: nothing queued, downloading, parsing or being prepared for 3 updates in a row (children are
// prepared over several updates, so one idle update alone may come too early).
let idleUpdates = 0;
renderer.setAnimationLoop(() => {
  camera.updateMatrixWorld();
  tiles.update();
  const busy = tiles.isLoading || tiles.downloadQueue.running || tiles.parseQueue.running
    || tiles.processNodeQueue.running;
  idleUpdates = tiles.root !== null && handle.tiles > 0 && !busy ? idleUpdates + 1 : 0;
  const done = idleUpdates >= 3;
  const first = done && !handle.ready;
  if (!first && (!dirty || (!done && performance.now() - lastRender < 250))) return;
  renderer.render(scene, camera);
  dirty = false;
  lastRender = performance.now();
  if (first) {
    handle.ready = true;
    handle.firstFrameMs = performance.now();
    status.textContent = `${handle.buildings} buildings in ${handle.tiles} tiles · first frame ${Math.round(handle.firstFrameMs)} ms`;
  }
});
