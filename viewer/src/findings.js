// The findings list (GeoJSON from the API): one button per finding; choosing one flies the camera to it.
import { findingTitle } from './attributes.js';
import { geometryCentre, toLocal } from './geo.js';

const SEVERITY_ORDER = ['certain', 'high', 'error', 'possible', 'medium', 'warning'];
const LISTED = 250;

/** Findings most severe first (then in the API's order). */
export function bySeverity(features) {
  const rank = (f) => {
    const r = SEVERITY_ORDER.indexOf(f.properties?.severity);
    return r < 0 ? SEVERITY_ORDER.length : r;
  };
  return features.map((f, i) => [rank(f), i, f]).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(([, , f]) => f);
}

/**
 * Fill `list` with buttons for the most severe `features` (each tagged with its variant), at most LISTED of them;
 * `onChoose(feature, localPoint)` when one is chosen.
 */
export function showFindings(list, features, origin, onChoose) {
  list.replaceChildren();
  if (!features.length) {
    const none = document.createElement('li');
    none.className = 'muted';
    none.textContent = 'no findings (run an analysis on this variant)';
    list.appendChild(none);
    return;
  }
  bySeverity(features).slice(0, LISTED).forEach((feature, index) => {
    const centre = geometryCentre(feature.geometry);
    const item = document.createElement('li');
    const button = document.createElement('button');
    button.type = 'button';
    button.className = `finding severity-${feature.properties?.severity ?? 'unknown'}`;
    button.dataset.index = String(index);
    button.textContent = `${feature.variant}: ${findingTitle(feature)}`;
    button.disabled = centre === null;
    button.addEventListener('click', () => onChoose(feature, toLocal(origin, centre)));
    item.appendChild(button);
    list.appendChild(item);
  });
  if (features.length > LISTED) {
    const more = document.createElement('li');
    more.className = 'muted';
    more.textContent = `… and ${features.length - LISTED} less severe findings (all in the report and the API)`;
    list.appendChild(more);
  }
}
