// Attribute table of a clicked object: its glTF extras, and the findings that name it.

const LABELS = {
  feature_id: 'IMKL id', owner: 'owner', utility: 'thema', status: 'status', outer_diameter: 'outer diameter [m]',
  depth_source: 'depth source', depth_uncertainty: 'depth uncertainty [m]', container: 'in container',
  source_id: 'id', ground_z: 'ground [m NAP]', roof_z: 'roof [m NAP]', height: 'height [m]', species: 'species',
  crown_diameter: 'crown diameter [m]', trunk_height: 'trunk height [m]', confidential: 'confidential',
};

/** The object's attributes: the nearest node up the tree that carries glTF extras. */
export function attributesOf(object) {
  for (let o = object; o; o = o.parent) {
    const extras = { ...o.userData };
    delete extras.layer;
    delete extras.name;
    if (Object.keys(extras).length) return { ...extras, layer: object.userData.layer };
  }
  return { layer: object.userData.layer };
}

/** The identifier findings use for an object (IMKL feature id, else source id). */
export function identifierOf(attributes) {
  return attributes.feature_id ?? attributes.source_id ?? null;
}

/** Findings whose properties mention `id` anywhere. */
export function findingsNaming(findings, id) {
  if (!id) return [];
  return findings.filter((f) => JSON.stringify(f.properties ?? {}).includes(JSON.stringify(id).slice(1, -1)));
}

function cell(text, tag = 'td') {
  const element = document.createElement(tag);
  element.textContent = text;
  return element;
}

const show = (v) => (typeof v === 'number' ? String(Math.round(v * 1000) / 1000) : String(v ?? '—'));

/** Fill `panel` with a table of `attributes` and the summaries of `related` findings. */
export function showAttributes(panel, attributes, related) {
  panel.replaceChildren();
  const table = document.createElement('table');
  for (const [key, value] of Object.entries(attributes)) {
    const row = document.createElement('tr');
    row.append(cell(LABELS[key] ?? key, 'th'), cell(show(value)));
    table.appendChild(row);
  }
  panel.appendChild(table);
  if (related.length) {
    const heading = cell(`findings (${related.length})`, 'h3');
    const list = document.createElement('ul');
    for (const f of related) list.appendChild(cell(findingTitle(f), 'li'));
    panel.append(heading, list);
  }
}

/** One line for a finding: severity, check and the analysis. */
export function findingTitle(feature) {
  const p = feature.properties ?? {};
  const what = p.check ?? p.kind ?? p.rule ?? 'finding';
  const between = p.utility_a && p.utility_b ? `${p.utility_a} × ${p.utility_b}` : p.utility_a;
  return [p.severity, what, between, p.analysis].filter(Boolean).join(' · ');
}
