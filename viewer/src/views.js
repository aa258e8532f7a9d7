// Drawing one or two variants with one shared camera: single view, side by side (two viewports) or swipe
// (one viewport, scissor split at a draggable divider). Frames are drawn on demand, not continuously.
import * as THREE from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';

THREE.Object3D.DEFAULT_UP.set(0, 0, 1); // RD/NAP axes: z up

export const MODES = ['single', 'split', 'swipe'];

export class Views {
  /** `quality` 'high' (antialiased, up to 2 device pixels per CSS pixel) or 'low' (for software rendering). */
  constructor(container, quality = 'high') {
    this.container = container;
    const high = quality !== 'low';
    this.renderer = new THREE.WebGLRenderer({ antialias: high, preserveDrawingBuffer: true });
    this.renderer.setPixelRatio(high ? Math.min(window.devicePixelRatio, 2) : 1);
    this.renderer.shadowMap.enabled = true;
    this.renderer.shadowMap.type = THREE.PCFShadowMap;
    this.renderer.autoClear = false;
    container.appendChild(this.renderer.domElement);
    this.camera = new THREE.PerspectiveCamera(45, 1, 0.5, 5000);
    this.controls = new OrbitControls(this.camera, this.renderer.domElement);
    this.controls.enableDamping = false;
    this.controls.maxPolarAngle = Math.PI * 0.98;
    this.controls.listenToKeyEvents(window);
    this.controls.addEventListener('change', () => this.requestRender());
    this.clipPlane = new THREE.Plane(new THREE.Vector3(0, 0, -1), 0);
    this.panes = [];
    this.mode = 'single';
    this.swipe = 0.5;
    this.frames = 0;
    this.pending = false;
    this.animations = new Set();
    new ResizeObserver(() => this.resize()).observe(container);
    this.resize();
  }

  setPanes(panes) {
    this.panes = panes;
    this.requestRender();
  }

  setMode(mode) {
    if (!MODES.includes(mode)) throw new Error(`unknown view mode ${mode}`);
    this.mode = mode;
    this.requestRender();
  }

  /** Cut everything above `height` [m, local z] away (null: no cut) to look at the ground from above. */
  setClip(height) {
    this.renderer.clippingPlanes = height === null ? [] : [this.clipPlane];
    this.clipPlane.constant = height ?? 0;
    this.requestRender();
  }

  resize() {
    const { clientWidth: w, clientHeight: h } = this.container;
    if (!w || !h) return;
    this.renderer.setSize(w, h);
    this.requestRender();
  }

  /** The viewport rectangles [pane index, x, y, width, height] (pixels, y from the bottom) of the current mode. */
  viewports() {
    const { clientWidth: w, clientHeight: h } = this.container;
    if (this.mode === 'split' && this.panes.length > 1) {
      const half = Math.floor(w / 2);
      return [[0, 0, 0, half, h], [1, half, 0, w - half, h]];
    }
    return [[0, 0, 0, w, h]];
  }

  /** The pane and normalised device coordinates under a client point (for picking). */
  paneAt(clientX, clientY) {
    const rect = this.renderer.domElement.getBoundingClientRect();
    const x = clientX - rect.left;
    const y = rect.height - (clientY - rect.top);
    if (this.mode === 'swipe' && this.panes.length > 1) {
      const index = x < this.swipe * rect.width ? 0 : 1;
      return { pane: this.panes[index], ndc: [(x / rect.width) * 2 - 1, (y / rect.height) * 2 - 1] };
    }
    for (const [index, vx, vy, vw, vh] of this.viewports()) {
      if (x >= vx && x < vx + vw) {
        return { pane: this.panes[index], ndc: [((x - vx) / vw) * 2 - 1, ((y - vy) / vh) * 2 - 1] };
      }
    }
    return null;
  }

  /** The camera with the aspect of the viewport a pane is drawn in (picking uses it). */
  cameraFor(width, height) {
    this.camera.aspect = width / height;
    this.camera.updateProjectionMatrix();
    return this.camera;
  }

  requestRender() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame((time) => this.frame(time));
  }

  /** Animate `step(t)` for t from 0 to 1 over `ms`; resolves when done. */
  animate(ms, step) {
    return new Promise((resolve) => {
      const animation = { start: null, ms, step, resolve };
      this.animations.add(animation);
      this.requestRender();
    });
  }

  frame(time) {
    this.pending = false;
    for (const a of this.animations) {
      a.start ??= time;
      const t = Math.min(1, (time - a.start) / a.ms);
      a.step(t);
      if (t >= 1) {
        this.animations.delete(a);
        a.resolve();
      }
    }
    this.draw();
    if (this.animations.size) this.requestRender();
  }

  draw() {
    const r = this.renderer;
    const { clientWidth: w, clientHeight: h } = this.container;
    r.setScissorTest(true);
    if (this.mode === 'swipe' && this.panes.length > 1) {
      const cut = Math.round(this.swipe * w);
      const camera = this.cameraFor(w, h);
      for (const [pane, x, width] of [[this.panes[0], 0, cut], [this.panes[1], cut, w - cut]]) {
        r.setViewport(0, 0, w, h);
        r.setScissor(x, 0, width, h);
        r.clear();
        if (width > 0) r.render(pane.scene, camera);
      }
    } else {
      for (const [index, x, y, width, height] of this.viewports()) {
        r.setViewport(x, y, width, height);
        r.setScissor(x, y, width, height);
        r.clear();
        if (this.panes[index]) r.render(this.panes[index].scene, this.cameraFor(width, height));
      }
    }
    r.setScissorTest(false);
    this.frames += 1;
    this.container.dispatchEvent(new CustomEvent('frame', { detail: this.frames }));
  }
}
