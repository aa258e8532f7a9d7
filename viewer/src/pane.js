// One variant in its own three.js scene: its GLB layers in local coordinates (x east, y north, z up [m]), sun light
// with shadows, overlay.
import * as THREE from 'three';
import { GLTFLoader } from 'three/examples/jsm/loaders/GLTFLoader.js';

const ROOT_NODE = 'epsg7415';
const loader = new GLTFLoader();
/** glTF's y-up frame (x east, y up, z south) to the viewer's local frame (x east, y north, z up): +90° about x. */
const Y_UP_TO_Z_UP = new THREE.Quaternion().setFromAxisAngle(new THREE.Vector3(1, 0, 0), Math.PI / 2);

/** A variant of a scene, loaded into its own THREE.Scene. */
export class Pane {
  /** `shadowMapSize` [texels] of the sun's shadow map. */
  constructor(variant, shadowMapSize = 2048) {
    this.variant = variant;
    this.scene = new THREE.Scene();
    this.scene.background = new THREE.Color('#dfe8ef');
    this.layers = new THREE.Group();
    this.scene.add(this.layers);
    this.scene.add(new THREE.HemisphereLight('#ffffff', '#8a7f6a', 0.9));
    this.sun = new THREE.DirectionalLight('#fff6e5', 2.2);
    this.sun.castShadow = true;
    this.sun.shadow.mapSize.set(shadowMapSize, shadowMapSize);
    this.sun.shadow.bias = -0.0005;
    this.scene.add(this.sun, this.sun.target);
    this.terrain = [];
    this.overlay = null;
    this.plans = null;
  }

  /** Load every layer of the variant (GLB, parallel); vertices stay local to the API's origin, z up. */
  async load(api, scene) {
    const listing = await api.layers(scene, this.variant);
    this.origin = listing.origin;
    const loaded = await Promise.all(listing.layers.map(async (layer) => {
      const gltf = await loader.parseAsync(await api.arrayBuffer(layer.url), '');
      return [layer, gltf.scene];
    }));
    for (const [layer, root] of loaded) this.addLayer(layer, root);
    this.layerNames = listing.layers.map((l) => l.name);
  }

  /** Add a loaded layer, turned from glTF's y-up into the local z-up frame (the only place the axes change). */
  addLayer(layer, root) {
    const georef = root.getObjectByName(ROOT_NODE)?.userData;
    const origin = georef?.origin_rd_nap;
    if (georef?.up !== 'y' || !origin || origin.some((v, i) => Math.abs(v - this.origin[i]) > 1e-6)) {
      throw new Error(`layer ${layer.name}: its georeference ${JSON.stringify(georef)} is not y-up around the `
        + `origin ${JSON.stringify(this.origin)} of the service`);
    }
    root.quaternion.copy(Y_UP_TO_Z_UP);
    root.name = layer.name;
    root.userData.layer = layer;
    root.updateMatrixWorld(true);
    root.traverse((object) => {
      if (!object.isMesh) return;
      object.castShadow = layer.kind !== 'terrain';
      object.receiveShadow = layer.kind !== 'network';
      object.userData.layer = layer.name;
      if (layer.kind === 'terrain') this.terrain.push(object);
    });
    this.layers.add(root);
  }

  /** The layer group called `name` (e.g. 'network_water'), or undefined. */
  layer(name) {
    return this.layers.children.find((g) => g.name === name);
  }

  /** Terrain opacity 0..1: below 1 the ground is see-through so the networks show. */
  setTerrainOpacity(opacity) {
    for (const mesh of this.terrain) {
      mesh.visible = opacity > 0;
      mesh.material.transparent = opacity < 1;
      mesh.material.opacity = opacity;
      mesh.material.depthWrite = opacity >= 1;
      mesh.material.needsUpdate = true;
    }
  }

  /** Place the sun: `direction` the unit vector towards it, shadows covering `radius` m around `centre`. */
  setSun(direction, centre, radius) {
    const [dx, dy, dz] = direction;
    this.sun.visible = dz > 0;
    this.sun.target.position.set(...centre);
    this.sun.position.set(centre[0] + dx * radius * 2, centre[1] + dy * radius * 2, centre[2] + dz * radius * 2);
    const cam = this.sun.shadow.camera;
    Object.assign(cam, { left: -radius, right: radius, top: radius, bottom: -radius, near: 1, far: radius * 4 });
    cam.updateProjectionMatrix();
    this.sun.intensity = dz > 0 ? 3 * Math.min(1, dz * 3) : 0;
  }

  /** Drape an RGBA overlay texture over the terrain between `bounds` (local [xmin, ymin, xmax, ymax]); null removes. */
  setOverlay(texture, bounds) {
    this.clearOverlay();
    if (!texture || !this.terrain.length) return;
    const [xmin, ymin, xmax, ymax] = bounds;
    texture.wrapS = THREE.ClampToEdgeWrapping;
    texture.wrapT = THREE.ClampToEdgeWrapping;
    texture.colorSpace = THREE.SRGBColorSpace;
    const material = new THREE.MeshBasicMaterial({ map: texture, transparent: true, depthWrite: false,
      polygonOffset: true, polygonOffsetFactor: -2, polygonOffsetUnits: -2 });
    this.overlay = new THREE.Group();
    for (const mesh of this.terrain) {
      const geometry = mesh.geometry.clone().applyMatrix4(mesh.matrixWorld);
      const position = geometry.getAttribute('position');
      const uv = new Float32Array(position.count * 2);
      for (let i = 0; i < position.count; i += 1) {
        uv[2 * i] = (position.getX(i) - xmin) / (xmax - xmin);
        uv[2 * i + 1] = (position.getY(i) - ymin) / (ymax - ymin); // texture rows run north-up (flipY)
      }
      geometry.setAttribute('uv', new THREE.BufferAttribute(uv, 2));
      this.overlay.add(new THREE.Mesh(geometry, material));
    }
    this.scene.add(this.overlay);
  }

  clearOverlay() {
    if (!this.overlay) return;
    this.scene.remove(this.overlay);
    const material = this.overlay.children[0]?.material;
    for (const mesh of this.overlay.children) mesh.geometry.dispose();
    material?.map?.dispose();
    material?.dispose();
    this.overlay = null;
  }

  /** Show the plan overlay group (``plans.js``) in this pane; null removes it. */
  setPlans(overlay) {
    if (this.plans) {
      this.scene.remove(this.plans);
      this.plans.traverse((o) => o.geometry?.dispose());
    }
    this.plans = overlay;
    if (overlay) this.scene.add(overlay);
  }

  /** Meshes that a click can hit (the result overlay is not an object; shown plans are). */
  pickable() {
    return this.plans?.visible ? [this.plans, this.layers] : [this.layers];
  }
}
