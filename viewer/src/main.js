// The viewer page: wires the API, the variant panes, the views and the side panel together.
// `window.__stadstwin` is a debug handle (camera state, frame count, load timings, the last pick and its local
// point) used by the browser tests.
import * as THREE from 'three';
import { Api, apiToken, storeToken } from './api.js';
import { attributesOf, findingsNaming, identifierOf, showAttributes } from './attributes.js';
import { cameraState, flyTo, overview, turn } from './camera.js';
import { showFindings } from './findings.js';
import { rdToWgs84, toLocal } from './geo.js';
import { legendElement } from './legend.js';
import { Pane } from './pane.js';
import { plansLegend, plansOverlay, showYear, yearSpan } from './plans.js';
import { sunPosition } from './sun.js';
import { Views } from './views.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(window.location.search);

const state = {
  api: null, scene: null, info: null, origin: [0, 0, 0], panes: [], findings: [], results: [], loads: 0,
  extentLocal: [0, 0, 1, 1], groundZ: 0, plans: { features: [], koppelkansen: [] },
};
const quality = params.get('quality') === 'low' ? 'low' : 'high'; // low: software WebGL (headless tests)
const views = new Views($('viewport'), quality);
const raycaster = new THREE.Raycaster();

window.__stadstwin = {
  views,
  state,
  ready: false,
  camera: () => cameraState(views),
  frames: () => views.frames,
  timings: {},
};

function setStatus(text, kind = 'loading') {
  $('status').textContent = text;
  document.body.dataset.state = kind;
}

function fail(error) {
  console.error(error);
  setStatus(error.detail ?? error.message, 'error');
}

function option(select, value, text = value) {
  const element = document.createElement('option');
  element.value = value;
  element.textContent = text;
  select.appendChild(element);
}

/** Resolve after the next frame has been drawn. */
function nextFrame() {
  return new Promise((resolve) => {
    $('viewport').addEventListener('frame', () => resolve(), { once: true });
    views.requestRender();
  });
}

async function openScene(name) {
  state.scene = name;
  state.info = await state.api.scene(name);
  state.origin = state.info.origin;
  const [xmin, ymin, xmax, ymax] = state.info.extent;
  state.extentLocal = [...toLocal(state.origin, [xmin, ymin]).slice(0, 2), ...toLocal(state.origin, [xmax, ymax]).slice(0, 2)];
  const dtm = state.info.summary?.terrain?.dtm;
  state.groundZ = dtm ? (dtm.min + dtm.max) / 2 - state.origin[2] : 0;
  [state.lat, state.lon] = rdToWgs84((xmin + xmax) / 2, (ymin + ymax) / 2);
  const variants = state.scenes.find((s) => s.name === name).variants;
  for (const select of [$('variant-a'), $('variant-b')]) {
    select.replaceChildren();
    variants.forEach((v) => option(select, v));
  }
  $('variant-a').value = variants.includes(params.get('a')) ? params.get('a') : variants[0];
  $('variant-b').value = variants.includes(params.get('b')) ? params.get('b') : (variants[1] ?? variants[0]);
  overview(views, state.extentLocal, state.groundZ);
  await loadPlans();
  await loadVariants();
}

/** The scene's plans and koppelkansen (as this organisation may see them); the year slider spans their works. */
async function loadPlans() {
  const collection = await state.api.plans(state.scene);
  state.plans = { features: collection.features, koppelkansen: collection.koppelkansen ?? [] };
  state.panes.forEach((p) => p.setPlans(null));
  const slider = $('plan-year');
  if (!state.plans.features.length) return;
  const [first, last] = yearSpan(state.plans.features);
  slider.min = String(first);
  slider.max = String(last);
  const wanted = Number(params.get('year') ?? slider.value);
  slider.value = String(Math.min(last, Math.max(first, wanted)));
}

/** Show or hide the plan overlay of each shown pane (built once per pane) for the slider's year. */
function applyPlans() {
  const on = $('plans').checked && state.plans.features.length > 0;
  const year = Number($('plan-year').value);
  $('plan-year-label').textContent = String(year);
  $('plans-section').hidden = !on;
  let shown = 0;
  for (const pane of state.panes) {
    if (on && !pane.plans) {
      pane.setPlans(plansOverlay(state.plans.features, state.plans.koppelkansen, state.origin, pane.terrain, state.groundZ));
    }
    if (!pane.plans) continue;
    pane.plans.visible = on;
    shown = showYear(pane.plans, year);
  }
  if (on) plansLegend($('plans-legend'), state.plans.features, state.plans.koppelkansen, year, shown);
  window.__stadstwin.plans = { on, year, shown: on ? shown : 0, total: state.plans.features.length };
  views.requestRender();
}

/** Load the shown variants (one, or two when comparing), then their findings and results. */
async function loadVariants() {
  const load = ++state.loads;
  window.__stadstwin.ready = false;
  const started = performance.now();
  const comparing = views.mode !== 'single';
  const wanted = comparing ? [$('variant-a').value, $('variant-b').value] : [$('variant-a').value];
  setStatus(`loading ${wanted.join(' and ')}…`);
  const panes = wanted.map((v) => state.panes.find((p) => p.variant === v) ?? new Pane(v, quality === 'low' ? 1024 : 2048));
  await Promise.all(panes.filter((p) => !p.origin).map((p) => p.load(state.api, state.scene)));
  if (load !== state.loads) return; // a newer choice superseded this one
  for (const pane of state.panes) if (!panes.includes(pane)) pane.clearOverlay();
  state.panes = panes;
  views.setPanes(panes);
  $('label-a').textContent = comparing ? wanted[0] : '';
  $('label-b').textContent = comparing ? wanted[1] : '';
  applyOpacity();
  applySun();
  applyPlans();
  const [findings, results] = await Promise.all([
    Promise.all(panes.map((p) => state.api.findings(state.scene, p.variant))),
    Promise.all(panes.map((p) => state.api.results(state.scene, p.variant))),
  ]);
  state.findings = findings.flatMap((collection, i) => collection.features.map((f) => ({ ...f, variant: panes[i].variant })));
  state.results = results;
  showFindings($('findings'), state.findings, state.origin, (feature, point) => chooseFinding(feature, point));
  fillOverlayChoices();
  await applyOverlay();
  await nextFrame();
  window.__stadstwin.timings.loadMs = performance.now() - started;
  window.__stadstwin.timings.firstFrameMs ??= performance.now();
  window.__stadstwin.ready = true;
  setStatus(`${state.scene}: ${wanted.join(' | ')} · ${panes[0].layerNames.length} layers`, 'ready');
  const tileset = `/api/scenes/${encodeURIComponent(state.scene)}/variants/${encodeURIComponent(wanted[0])}/tiles/tileset.json`;
  $('tiles-link').href = `tiles.html?tileset=${encodeURIComponent(tileset)}`;
  $('tiles-link').hidden = false;
}

function applyOpacity() {
  const opacity = Number($('opacity').value);
  state.panes.forEach((p) => p.setTerrainOpacity(opacity));
  views.requestRender();
}

function applyClip() {
  views.setClip($('clip').checked ? Number($('clip-height').value) - state.origin[2] : null);
}

function applySun() {
  const hours = Number($('time').value);
  const hh = String(Math.floor(hours)).padStart(2, '0');
  const mm = String(Math.round((hours % 1) * 60)).padStart(2, '0');
  const sun = sunPosition($('date').value, hours, state.lat, state.lon);
  $('time-label').textContent = `${hh}:${mm} · sun ${sun.altitude.toFixed(0)}° up, ${sun.azimuth.toFixed(0)}°`;
  const [xmin, ymin, xmax, ymax] = state.extentLocal;
  const centre = [(xmin + xmax) / 2, (ymin + ymax) / 2, state.groundZ];
  const radius = Math.hypot(xmax - xmin, ymax - ymin) / 2 + 10;
  state.panes.forEach((p) => p.setSun(sun.direction, centre, radius));
  window.__stadstwin.sun = sun;
  views.requestRender();
}

function fillOverlayChoices() {
  const select = $('overlay');
  const previous = select.value;
  select.replaceChildren();
  option(select, '', 'none');
  for (const entry of state.results[0] ?? []) option(select, `${entry.analysis}/${entry.raster}`);
  select.value = [...select.options].some((o) => o.value === previous) ? previous : '';
}

/** Drape the chosen result raster of each shown variant over its terrain and show the legends. */
async function applyOverlay() {
  const choice = $('overlay').value;
  const legends = $('legends');
  legends.replaceChildren();
  await Promise.all(state.panes.map(async (pane, i) => {
    const entry = (state.results[i] ?? []).find((r) => `${r.analysis}/${r.raster}` === choice);
    if (!entry) {
      pane.clearOverlay();
      return;
    }
    const url = URL.createObjectURL(await state.api.blob(entry.png));
    try {
      const texture = await new THREE.TextureLoader().loadAsync(url);
      const [xmin, ymin, xmax, ymax] = entry.bounds;
      pane.setOverlay(texture, [...toLocal(state.origin, [xmin, ymin]).slice(0, 2), ...toLocal(state.origin, [xmax, ymax]).slice(0, 2)]);
    } finally {
      URL.revokeObjectURL(url);
    }
    legends.appendChild(legendElement(`${pane.variant}: ${entry.legend.label}`, entry.legend));
  }));
  if (!legends.children.length) legends.textContent = choice ? 'no such result on these variants' : 'no overlay';
  views.requestRender();
}

async function chooseFinding(feature, point) {
  showAttributes($('attributes'), { variant: feature.variant, ...feature.properties }, []);
  await flyTo(views, point);
  window.__stadstwin.flights = (window.__stadstwin.flights ?? 0) + 1;
}

function pick(event) {
  const hit = views.paneAt(event.clientX, event.clientY);
  if (!hit) return;
  const { clientWidth: w, clientHeight: h } = $('viewport');
  const width = views.mode === 'split' && state.panes.length > 1 ? w / 2 : w;
  raycaster.setFromCamera(new THREE.Vector2(...hit.ndc), views.cameraFor(width, h));
  const clip = views.renderer.clippingPlanes[0];
  const hits = raycaster.intersectObjects(hit.pane.pickable(), true)
    .filter((i) => i.object.visible && (!clip || clip.distanceToPoint(i.point) >= 0))
    .filter((i) => !(i.object.userData.layer === 'terrain' && Number($('opacity').value) < 0.5));
  if (!hits.length) return;
  const attributes = { variant: hit.pane.variant, ...attributesOf(hits[0].object) };
  const related = findingsNaming(state.findings.filter((f) => f.variant === hit.pane.variant), identifierOf(attributes));
  showAttributes($('attributes'), attributes, related);
  window.__stadstwin.picked = attributes;
  window.__stadstwin.pickedAt = hits[0].point.toArray();
}

function wireControls() {
  $('scene').addEventListener('change', () => openScene($('scene').value).catch(fail));
  for (const id of ['variant-a', 'variant-b']) $(id).addEventListener('change', () => loadVariants().catch(fail));
  $('mode').addEventListener('change', () => {
    views.setMode($('mode').value);
    $('divider').hidden = views.mode !== 'swipe';
    placeDivider();
    loadVariants().catch(fail);
  });
  $('opacity').addEventListener('input', applyOpacity);
  $('clip').addEventListener('change', applyClip);
  $('clip-height').addEventListener('input', applyClip);
  $('date').addEventListener('input', applySun);
  $('time').addEventListener('input', applySun);
  $('overlay').addEventListener('change', () => applyOverlay().catch(fail));
  $('plans').addEventListener('change', applyPlans);
  $('plan-year').addEventListener('input', applyPlans);
  let down = null;
  const canvas = views.renderer.domElement;
  canvas.addEventListener('pointerdown', (e) => { down = [e.clientX, e.clientY]; });
  canvas.addEventListener('pointerup', (e) => {
    if (down && Math.hypot(e.clientX - down[0], e.clientY - down[1]) < 4) pick(e);
    down = null;
  });
  wireDivider();
  window.addEventListener('keydown', onKey);
}

function placeDivider() {
  $('divider').style.left = `${views.swipe * 100}%`;
}

function wireDivider() {
  const divider = $('divider');
  divider.addEventListener('pointerdown', (e) => {
    divider.setPointerCapture(e.pointerId);
    const move = (m) => {
      const rect = $('viewport').getBoundingClientRect();
      views.swipe = Math.min(1, Math.max(0, (m.clientX - rect.left) / rect.width));
      placeDivider();
      views.requestRender();
    };
    divider.addEventListener('pointermove', move);
    divider.addEventListener('pointerup', () => divider.removeEventListener('pointermove', move), { once: true });
  });
}

function onKey(event) {
  if (event.target instanceof HTMLInputElement || event.target instanceof HTMLSelectElement) return;
  const actions = {
    '+': () => views.controls.dollyOut(1.25), '=': () => views.controls.dollyOut(1.25), // OrbitControls: out = nearer
    '-': () => views.controls.dollyIn(1.25), q: () => turn(views, -10), e: () => turn(views, 10),
    r: () => overview(views, state.extentLocal, state.groundZ),
    c: () => { $('clip').checked = !$('clip').checked; applyClip(); },
  };
  const action = actions[event.key];
  if (!action) return;
  action();
  views.controls.update();
  views.requestRender();
}

async function start() {
  const token = apiToken();
  if (!token) {
    $('token-form').hidden = false;
    setStatus('an API token is needed (stadstwin serve prints demo tokens)', 'login');
    $('token-form').addEventListener('submit', (e) => {
      e.preventDefault();
      storeToken($('token').value.trim());
      window.location.reload();
    });
    return;
  }
  state.api = new Api(token);
  $('date').value = params.get('date') ?? `${new Date().getFullYear()}-06-21`;
  $('time').value = params.get('time') ?? '15';
  $('plans').checked = params.get('plans') === '1';
  if (['split', 'swipe'].includes(params.get('mode'))) {
    $('mode').value = params.get('mode');
    views.setMode(params.get('mode'));
    $('divider').hidden = views.mode !== 'swipe';
    placeDivider();
  }
  wireControls();
  state.scenes = await state.api.scenes();
  if (!state.scenes.length) throw new Error('the service has no scenes');
  state.scenes.forEach((s) => option($('scene'), s.name));
  const name = state.scenes.some((s) => s.name === params.get('scene')) ? params.get('scene') : state.scenes[0].name;
  $('scene').value = name;
  await openScene(name);
}

start().catch(fail);
