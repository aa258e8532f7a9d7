// Camera moves: the overview of the scene, flying to a point, keyboard zoom and turn.
import * as THREE from 'three';

/** Put the camera over the whole extent (local [xmin, ymin, xmax, ymax]), looking north from the south-east. */
export function overview(views, extent, groundZ) {
  const [xmin, ymin, xmax, ymax] = extent;
  const size = Math.max(xmax - xmin, ymax - ymin);
  const target = new THREE.Vector3((xmin + xmax) / 2, (ymin + ymax) / 2, groundZ);
  views.controls.target.copy(target);
  views.camera.position.set(target.x + size * 0.25, target.y - size * 0.85, target.z + size * 0.75);
  views.controls.update();
}

/** Fly to look at `point` (local) from `distance` m, keeping the current viewing direction; resolves on arrival. */
export function flyTo(views, point, distance = 25) {
  const { camera, controls } = views;
  const fromPosition = camera.position.clone();
  const fromTarget = controls.target.clone();
  const toTarget = new THREE.Vector3(...point);
  const direction = fromPosition.clone().sub(fromTarget).normalize();
  const toPosition = toTarget.clone().addScaledVector(direction, distance);
  return views.animate(900, (t) => {
    const s = t * t * (3 - 2 * t);
    controls.target.lerpVectors(fromTarget, toTarget, s);
    camera.position.lerpVectors(fromPosition, toPosition, s);
    controls.update();
  });
}

/** Turn the camera around its target by `degrees` about the vertical. */
export function turn(views, degrees) {
  const { camera, controls } = views;
  const offset = camera.position.clone().sub(controls.target);
  offset.applyAxisAngle(new THREE.Vector3(0, 0, 1), THREE.MathUtils.degToRad(degrees));
  camera.position.copy(controls.target).add(offset);
  controls.update();
}

/** The camera state for tests and links: position and target [m, local]. */
export function cameraState(views) {
  return { position: views.camera.position.toArray(), target: views.controls.target.toArray() };
}
