// edgebench's own SVG charts for the dashboard: a latency histogram, the runs in order, and
// horizontal bars (operator shares). Each function returns an <svg> element sized by its viewBox,
// so it scales to the width of its container.
const NS = 'http://www.w3.org/2000/svg';

function el(name, attributes = {}, text) {
  const node = document.createElementNS(NS, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function svg(width, height, label) {
  return el('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label, class: 'chart' });
}

export function formatMs(ms) {
  if (!Number.isFinite(ms)) return '-';
  if (ms >= 100) return ms.toFixed(1) + ' ms';
  if (ms >= 1) return ms.toFixed(3) + ' ms';
  return (ms * 1000).toFixed(1) + ' µs';
}

// The sorted copy's value at fraction q (linear interpolation, as the result's percentiles).
export function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  const high = Math.min(low + 1, sorted.length - 1);
  return sorted[low] + (sorted[high] - sorted[low]) * (at - low);
}

// Histogram of `samples` (ms): Freedman-Diaconis bins (at most 40), the median marked.
export function histogram(samples, { width = 640, height = 220, label = 'latency distribution' } = {}) {
  const chart = svg(width, height, label);
  const sorted = [...samples].filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) {
    chart.append(el('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle', class: 'muted' }, 'no samples'));
    return chart;
  }
  const min = sorted[0];
  const max = sorted[sorted.length - 1];
  const iqr = quantile(sorted, 0.75) - quantile(sorted, 0.25);
  const fd = iqr > 0 ? 2 * iqr / Math.cbrt(sorted.length) : 0;
  const bins = Math.max(1, Math.min(40, fd > 0 ? Math.ceil((max - min) / fd) : Math.ceil(Math.sqrt(sorted.length))));
  const span = max - min || 1;
  const counts = new Array(bins).fill(0);
  for (const x of sorted) counts[Math.min(bins - 1, Math.floor((x - min) / span * bins))]++;
  const top = Math.max(...counts);
  const left = 64, right = 10, bottom = 34, upper = 12;
  const plotW = width - left - right, plotH = height - bottom - upper;
  const barW = plotW / bins;
  counts.forEach((count, i) => {
    const h = count / top * plotH;
    const bar = el('rect', { x: left + i * barW + 1, y: upper + plotH - h, width: Math.max(1, barW - 2), height: h, class: 'bar' });
    bar.append(el('title', {}, `${formatMs(min + span * i / bins)} – ${formatMs(min + span * (i + 1) / bins)}: ${count} runs`));
    chart.append(bar);
  });
  chart.append(el('line', { x1: left, y1: upper + plotH, x2: width - right, y2: upper + plotH, class: 'axis' }));
  chart.append(el('text', { x: left - 4, y: upper + 8, 'text-anchor': 'end', class: 'tick' }, String(top)));
  chart.append(el('text', { x: left - 4, y: upper + plotH, 'text-anchor': 'end', class: 'tick' }, '0'));
  chart.append(el('text', { x: left, y: height - 18, class: 'tick' }, formatMs(min)));
  chart.append(el('text', { x: width - right, y: height - 18, 'text-anchor': 'end', class: 'tick' }, formatMs(max)));
  const median = quantile(sorted, 0.5);
  const mx = left + (median - min) / span * plotW;
  chart.append(el('line', { x1: mx, y1: upper, x2: mx, y2: upper + plotH, class: 'marker' }));
  chart.append(el('text', { x: mx, y: height - 4, 'text-anchor': 'middle', class: 'tick marker-label' }, `median ${formatMs(median)}`));
  return chart;
}

// The runs in the order they ran (drift and warm-up show as a slope), the median as a line.
export function series(samples, { width = 640, height = 160, label = 'runs in order' } = {}) {
  const chart = svg(width, height, label);
  const values = samples.filter(Number.isFinite);
  if (values.length < 2) return chart;
  const sorted = [...values].sort((a, b) => a - b);
  const min = sorted[0], max = sorted[sorted.length - 1], span = max - min || 1;
  const left = 64, right = 10, bottom = 20, upper = 10;
  const plotW = width - left - right, plotH = height - bottom - upper;
  const x = i => left + i / (values.length - 1) * plotW;
  const y = v => upper + plotH - (v - min) / span * plotH;
  const points = values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  chart.append(el('polyline', { points, class: 'line' }));
  const median = quantile(sorted, 0.5);
  chart.append(el('line', { x1: left, y1: y(median), x2: width - right, y2: y(median), class: 'marker' }));
  chart.append(el('text', { x: left - 4, y: upper + 8, 'text-anchor': 'end', class: 'tick' }, formatMs(max)));
  chart.append(el('text', { x: left - 4, y: upper + plotH, 'text-anchor': 'end', class: 'tick' }, formatMs(min)));
  chart.append(el('text', { x: left, y: height - 4, class: 'tick' }, 'run 1'));
  chart.append(el('text', { x: width - right, y: height - 4, 'text-anchor': 'end', class: 'tick' }, `run ${values.length}`));
  return chart;
}

// Horizontal bars: items [{label, value, text}] with value in [0, 1] (a share).
export function bars(items, { width = 720, label = 'shares' } = {}) {
  const row = 22, labelW = Math.round(width * 0.28), textW = Math.round(width * 0.26);
  const height = Math.max(row, items.length * row);
  const chart = svg(width, height, label);
  chart.style.maxWidth = `${width}px`;  // text at its own size on wide screens
  const plotW = width - labelW - textW;
  items.forEach((item, i) => {
    const y = i * row;
    chart.append(el('text', { x: labelW - 6, y: y + 15, 'text-anchor': 'end', class: 'tick' }, item.label));
    const bar = el('rect', { x: labelW, y: y + 4, width: Math.max(1, item.value * plotW), height: row - 8, class: 'bar' });
    bar.append(el('title', {}, `${item.label}: ${item.text}`));
    chart.append(bar);
    chart.append(el('text', { x: labelW + Math.max(1, item.value * plotW) + 6, y: y + 15, class: 'tick' }, item.text));
  });
  return chart;
}
