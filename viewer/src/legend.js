// Legends of result overlays: the service names a matplotlib colour map; these are its colours at even steps.
const COLOUR_MAPS = {
  viridis: ['#440154', '#3b528b', '#21918c', '#5ec962', '#fde725'],
  inferno: ['#000004', '#420a68', '#932667', '#dd513a', '#fca50a', '#fcffa4'],
  Blues: ['#f7fbff', '#c6dbef', '#6baed6', '#2171b5', '#08306b'],
  RdYlBu_r: ['#313695', '#74add1', '#ffffbf', '#f46d43', '#a50026'],
  RdBu_r: ['#053061', '#4393c3', '#f7f7f7', '#d6604d', '#67001f'],
};

const format = (v) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1));

/** A legend element for `{label, min, max, cmap}`: title, colour bar, low and high value. */
export function legendElement(title, legend) {
  const colours = COLOUR_MAPS[legend.cmap] ?? COLOUR_MAPS.viridis;
  const box = document.createElement('div');
  box.className = 'legend';
  const heading = document.createElement('div');
  heading.textContent = title;
  const bar = document.createElement('div');
  bar.className = 'legend-bar';
  bar.style.background = `linear-gradient(to right, ${colours.join(', ')})`;
  const scale = document.createElement('div');
  scale.className = 'legend-scale';
  for (const value of [legend.min, legend.max]) {
    const span = document.createElement('span');
    span.textContent = format(value);
    scale.appendChild(span);
  }
  box.append(heading, bar, scale);
  return box;
}
