// The edgebench dashboard: one page, views chosen by the URL's hash (#/devices, #/tasks,
// #/tasks/ID, #/jobs, #/jobs/ID, #/compare/A/B, #/submit), data from the /v1 API with the token
// kept in sessionStorage and sent as "Authorization: Bearer". The current view polls every
// POLL_MS while the tab is visible.
import { bars, formatMs, histogram, series } from '/chart.js';

const POLL_MS = 2000;
const TOKEN_KEY = 'edgebench.token';
const FINAL = new Set(['succeeded', 'failed', 'cancelled', 'timed_out']);
const STATES = ['converting', 'queued', 'assigned', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out'];
const main = document.getElementById('main');

// ---- API ---------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(path, { method = 'GET', body, type = 'application/json', token } = {}) {
  const headers = { Authorization: `Bearer ${token || sessionStorage.getItem(TOKEN_KEY) || ''}` };
  if (body !== undefined) headers['Content-Type'] = type;
  const response = await fetch(path, {
    method, headers,
    body: body === undefined ? undefined : type === 'application/json' ? JSON.stringify(body) : body,
  });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) throw new ApiError(response.status, (data && data.error) || `HTTP ${response.status}`);
  return data;
}

// Model names by sha256 (tasks carry model_name; older servers only the hash).
function modelLabel(task) {
  return task.model_name || task.model_sha256.slice(0, 12);
}

// ---- DOM helpers ---------------------------------------------------------------------------

function h(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key === 'class') node.className = value;
    else node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const state = (name) => h('span', { class: `state ${name}` }, name.replace('_', ' '));
const chip = (text) => h('span', { class: 'chip' }, text);
const when = (iso) => (iso ? h('time', { datetime: iso, title: iso }, ago(iso)) : h('span', { class: 'muted' }, '-'));

function ago(iso) {
  const seconds = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (!Number.isFinite(seconds)) return iso;
  if (seconds < 5) return 'just now';
  if (seconds < 90) return `${seconds} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 36 * 3600) return `${Math.round(seconds / 3600)} h ago`;
  return iso.slice(0, 10);
}

// A table; at phone width each row becomes a card of "header: value" lines (data-label).
function table(headers, rows, { numeric = [] } = {}) {
  const labels = headers.map((title) => (title instanceof Node ? title.textContent : String(title)));
  return h('div', { class: 'table-wrap' }, h('table', { class: 'cards' },
    h('thead', {}, h('tr', {}, headers.map((title, i) => h('th', { class: numeric.includes(i) ? 'num' : null }, title)))),
    h('tbody', {}, rows.length ? rows.map((cells) => h('tr', {}, cells.map((cell, i) =>
      h('td', { class: numeric.includes(i) ? 'num' : null, 'data-label': labels[i] }, cell))))
      : h('tr', {}, h('td', { colspan: headers.length, class: 'muted' }, 'none')))));
}

function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(([, v]) => v !== undefined && v !== null && v !== '')
    .flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

// Charts drawn narrower on a phone, so that their text keeps a readable size.
const chartWidth = () => (window.innerWidth < 640 ? 360 : 640);
const bytes = (n) => (Number.isFinite(n) ? `${(n / 1048576).toFixed(1)} MiB` : '-');
const percent = (fraction, digits = 1) => (Number.isFinite(fraction) ? `${(fraction * 100).toFixed(digits)}%` : '-');

// ---- Views -------------------------------------------------------------------------------

// Each view returns the nodes of the page; `poll` (default true) asks for a refresh every POLL_MS.
const views = [
  [/^#\/devices$/, devicesView],
  [/^#\/tasks$/, tasksView],
  [/^#\/tasks\/(\d+)$/, taskView],
  [/^#\/jobs$/, jobsView],
  [/^#\/jobs\/(\d+)$/, jobView],
  [/^#\/compare(?:\/(\d+)\/(\d+))?$/, compareView],
  [/^#\/submit$/, submitView, { poll: false }],
];

async function devicesView() {
  const [{ devices }, running, assigned] = await Promise.all([api('/v1/devices?limit=1000'),
    api('/v1/tasks?state=running&limit=1000'), api('/v1/tasks?state=assigned&limit=1000')]);
  const current = new Map();
  for (const task of [...running.tasks, ...assigned.tasks]) {
    if ((task.state === 'running' || task.state === 'assigned') && task.agent) current.set(task.agent, task);
  }
  const rows = devices.map((d) => {
    const task = current.get(d.name);
    const f = d.facts || {};
    return [
      h('strong', {}, d.name),
      state(!d.online ? 'offline' : task ? 'busy' : 'online'),
      Object.entries(d.labels || {}).map(([k, v]) => chip(`${k}=${v}`)),
      (f.runtimes || []).map((r) => chip(`${r.name} ${r.version || ''}`.trim())),
      h('span', {}, [f.arch, f.cores && `${f.cores} cores`, f.cpu_model, f.memory_total_bytes && bytes(f.memory_total_bytes),
        f.os].filter(Boolean).join(' · ')),
      when(d.last_seen_at),
      task ? h('a', { href: `#/tasks/${task.id}` }, `#${task.id} ${modelLabel(task)} (${task.runtime})`) : h('span', { class: 'muted' }, 'idle'),
    ];
  });
  return [h('h1', {}, `Devices (${devices.length})`),
    table(['device', 'state', 'labels', 'runtimes', 'facts', 'last seen', 'current task'], rows)];
}

// Filters live in the view's query (#/tasks?state=..&job=..): kept across polls.
const taskFilters = { state: '', job: '', runtime: '', device: '', model: '', limit: 100, after: '' };

async function tasksView() {
  const query = new URLSearchParams({ limit: String(taskFilters.limit) });
  if (taskFilters.state) query.set('state', taskFilters.state);
  if (taskFilters.job) query.set('job', taskFilters.job);
  if (taskFilters.after) query.set('after', taskFilters.after);
  const { tasks, next } = await api(`/v1/tasks?${query}`);
  // The same filters applied here too, for servers that do not filter.
  const shown = tasks.filter((t) => (!taskFilters.state || t.state === taskFilters.state) &&
    (!taskFilters.job || String(t.job) === taskFilters.job) &&
    (!taskFilters.runtime || t.runtime === taskFilters.runtime) &&
    (!taskFilters.device || (t.agent || t.device || '') === taskFilters.device) &&
    (!taskFilters.model || modelLabel(t).includes(taskFilters.model)));
  const input = (key, attributes) => h('input', { ...attributes, name: key, value: taskFilters[key],
    onchange: (e) => { taskFilters[key] = e.target.value.trim(); taskFilters.after = ''; render(); } });
  const filters = h('form', { class: 'filters', onsubmit: (e) => e.preventDefault() },
    h('label', {}, 'state', h('select', { name: 'state', onchange: (e) => { taskFilters.state = e.target.value; taskFilters.after = ''; render(); } },
      h('option', { value: '' }, 'any'), STATES.map((s) => h('option', { value: s, selected: taskFilters.state === s }, s)))),
    h('label', {}, 'job', input('job', { size: 5, inputmode: 'numeric' })),
    h('label', {}, 'model', input('model', { size: 12 })),
    h('label', {}, 'runtime', input('runtime', { size: 10 })),
    h('label', {}, 'device', input('device', { size: 10 })));
  const counts = {};
  for (const t of tasks) counts[t.state] = (counts[t.state] || 0) + 1;
  const rows = shown.map((t) => [
    h('a', { href: `#/tasks/${t.id}` }, `#${t.id}`),
    modelLabel(t), t.runtime,
    t.agent || t.device || Object.entries(t.selector || {}).map(([k, v]) => `${k}=${v}`).join(','),
    state(t.state),
    t.job ? h('a', { href: `#/jobs/${t.job}` }, `#${t.job}`) : '',
    when(t.created_at),
    h('span', { class: 'error' }, t.error || ''),
  ]);
  const paging = h('p', {},
    taskFilters.after ? h('button', { class: 'secondary', onclick: () => { taskFilters.after = ''; render(); } }, 'Newest') : null, ' ',
    next ? h('button', { class: 'secondary', onclick: () => { taskFilters.after = String(next); render(); } }, 'Older') : null);
  return [h('h1', {}, 'Tasks'),
    h('p', { class: 'muted' }, STATES.filter((s) => counts[s]).map((s) => `${counts[s]} ${s.replace('_', ' ')}`).join(' · ') || 'no tasks'),
    filters,
    table(['task', 'model', 'runtime', 'device', 'state', 'job', 'created', 'error'], rows),
    paging];
}

async function jobsView() {
  const { jobs } = await api('/v1/jobs?limit=100');
  const rows = jobs.map((j) => [
    h('a', { href: `#/jobs/${j.id}` }, `#${j.id}`),
    state(j.state),
    h('div', {}, h('div', { class: 'progress', title: `${j.tasks_done} of ${j.tasks_total}` },
      h('div', { style: `width:${(100 * j.tasks_done / Math.max(1, j.tasks_total)).toFixed(0)}%` })),
    `${j.tasks_done}/${j.tasks_total}`),
    (j.spec.runtimes || []).join(', '),
    [...(j.spec.devices || []), ...(j.spec.selectors || []).map((s) => Object.entries(s).map(([k, v]) => `${k}=${v}`).join(','))].join(', '),
    j.owner, when(j.created_at)]);
  return [h('h1', {}, 'Jobs'), table(['job', 'state', 'progress', 'runtimes', 'devices', 'owner', 'created'], rows)];
}

// A latency matrix cell: figures with "!N" (INVALID, reasons N) in red, "~N" warnings marked.
function matrixCell(text, notes) {
  const parts = String(text).split(/(\s[!~][\d,]+)/);
  return parts.map((part) => {
    const mark = part.trim();
    if (mark.startsWith('!')) {
      const reasons = mark.slice(1).split(',').map((n) => notes.invalid[Number(n) - 1]).filter(Boolean);
      return h('span', { class: 'invalid-mark', title: `INVALID: ${reasons.join('; ')}` }, ` ${mark}`);
    }
    if (mark.startsWith('~')) {
      const reasons = mark.slice(1).split(',').map((n) => notes.warnings[Number(n) - 1]).filter(Boolean);
      return h('span', { class: 'warn-mark', title: reasons.join('; ') }, ` ${mark}`);
    }
    return part;
  });
}

async function jobView(id) {
  const job = await api(`/v1/jobs/${id}`);
  const t = job.table || {};
  const notes = { invalid: t.invalid_notes || [], warnings: t.warning_notes || [] };
  const header = t.header || [];
  const matrix = (t.rows || []).length
    ? h('div', { class: 'table-wrap' }, h('table', { class: 'matrix' },
      h('thead', {}, h('tr', {}, header.map((c, i) => h('th', { class: i ? 'num' : null }, c)))),
      h('tbody', {}, t.rows.map((row) => h('tr', {}, row.map((c, i) => h('td', { class: i ? 'num' : null }, i ? matrixCell(c, notes) : c)))))))
    : h('p', { class: 'muted' }, 'no results yet');
  const cancel = job.state === 'queued' || job.state === 'running'
    ? h('button', { class: 'secondary', onclick: async () => { await api(`/v1/jobs/${id}/cancel`, { method: 'POST' }); render(); } }, 'Cancel job')
    : null;
  return [
    h('h1', {}, `Job #${job.id} `, state(job.state)),
    h('p', {}, `${job.tasks_done} of ${job.tasks_total} tasks done · `,
      Object.entries(job.counts || {}).map(([s, n]) => `${n} ${s}`).join(', '), ' · ', when(job.created_at), ' ', cancel),
    h('h2', {}, 'Latency matrix'),
    matrix,
    t.verdicts ? h('p', { class: 'muted' }, t.verdicts) : null,
    notes.invalid.length ? h('div', {}, h('strong', { class: 'invalid-mark' }, '! INVALID because:'),
      h('ol', { class: 'notes' }, notes.invalid.map((n) => h('li', {}, n)))) : null,
    notes.warnings.length ? h('div', {}, h('strong', { class: 'warn-mark' }, '~ warnings:'),
      h('ol', { class: 'notes' }, notes.warnings.map((n) => h('li', {}, n)))) : null,
    t.note ? h('p', { class: 'muted' }, t.note) : null,
    job.precision_table && job.precision_table.text ? [h('h2', {}, 'Precision table'), h('pre', {}, job.precision_table.text)] : null,
    (job.spec.skipped || []).length ? [h('h2', {}, 'Left out (skip_unavailable)'),
      table(['runtime', 'device', 'reason'], job.spec.skipped.map((s) => [s.runtime, s.device || JSON.stringify(s.selector), s.reason]))] : null,
    h('h2', {}, 'Tasks'),
    table(['task', 'model', 'runtime', 'device', 'state', 'error'], (job.tasks || []).map((task) => [
      h('a', { href: `#/tasks/${task.id}` }, `#${task.id}`), modelLabel(task), task.runtime,
      task.agent || task.device || '', state(task.state), h('span', { class: 'error' }, task.error || '')])),
  ];
}

function statistics(doc) {
  const l = doc.latency_ms || {};
  return [
    ['median (p50)', formatMs(l.p50)], ['95% CI of the median', l.median_ci95 ? `${formatMs(l.median_ci95[0])} – ${formatMs(l.median_ci95[1])}` : '-'],
    ['mean', formatMs(l.mean)], ['std', formatMs(l.std)], ['min', formatMs(l.min)], ['p90', formatMs(l.p90)],
    ['p95', formatMs(l.p95)], ['p99', formatMs(l.p99)], ['max', formatMs(l.max)],
    ['robust CV', percent(l.robust_cv)], ['outliers', l.outliers ?? '-'], ['timed runs', doc.runs ?? '-'],
    ['stop reason', doc.stop_reason || '-'], ['load', formatMs(doc.load_ms)], ['first inference', formatMs(doc.first_inference_ms)],
    ['peak RSS', bytes(doc.peak_rss_bytes)],
  ];
}

function verdict(doc) {
  const v = doc.validity || {};
  if (doc.error) {
    return h('section', { class: 'card' }, h('h2', {}, 'Verdict ', state('failed')),
      h('p', { class: 'error' }, `${doc.error.stage}: ${doc.error.message}`),
      doc.error.runtime_log ? h('pre', {}, doc.error.runtime_log) : null);
  }
  return h('section', { class: 'card' },
    h('h2', {}, 'Verdict ', state(v.valid ? 'valid' : 'invalid')),
    (v.reasons || []).length ? h('ol', { class: 'notes invalid-mark' }, v.reasons.map((r) => h('li', {}, r))) : null,
    (v.warnings || []).length ? h('ol', { class: 'notes warn-mark' }, v.warnings.map((r) => h('li', {}, r))) : null,
    v.valid && !(v.warnings || []).length ? h('p', { class: 'muted' }, 'no reasons to distrust the figures') : null);
}

function environment(doc) {
  const e = doc.environment || {};
  return facts([['device', doc.device], ['host', e.hostname], ['OS', e.os], ['architecture', e.architecture],
    ['CPU', e.cpu_model], ['cores', `${e.usable_cores ?? '?'} usable of ${e.logical_cores ?? '?'}`],
    ['governor', e.cpu_governor || 'not exposed'], ['frequency', e.cpu_frequency_mhz ? `${e.cpu_frequency_mhz} MHz` : null],
    ['load (1 min)', e.load_average_1m], ['memory', `${bytes(e.memory_available_bytes)} free of ${bytes(e.memory_total_bytes)}`],
    ['container', e.container || 'native'], ['edgebench', `${e.edgebench_version || ''} ${e.edgebench_commit || ''}`.trim()],
    ['runtime', `${doc.runtime?.name || ''} ${doc.runtime?.version || ''}`.trim()],
    ['model', `${doc.model?.path?.split('/').pop() || ''} (${doc.model?.format || '?'}, ${bytes(doc.model?.size_bytes)})`],
    ['FLOPs', doc.model?.flops ? `${(doc.model.flops / 1e9).toFixed(3)} G` : null],
    ['threads', doc.settings?.threads], ['started', doc.started_at]]);
}

function profileSections(doc) {
  const p = doc.profile;
  if (!p) return [];
  const shares = (p.by_kernel_type || []).slice(0, 15).map((k) => ({
    label: k.kernel_type, value: k.share, text: `${percent(k.share)} · ${formatMs(k.ms_per_inference)} · ${k.kernels}×` }));
  const sections = [h('h2', {}, `Operator shares (${p.source}, ${p.profiled_runs} profiled runs)`),
    h('section', { class: 'card' }, bars(shares, { label: 'operator shares', width: chartWidth() + 80 }))];
  if ((p.by_provider || []).length) {
    sections.push(table(['placement', 'kernels', 'share'], p.by_provider.map((x) => [x.provider, x.kernels, percent(x.share)]), { numeric: [1, 2] }));
  }
  const f = doc.fusion;
  if (f) {
    sections.push(h('h2', {}, `Fusion map (${f.source_nodes} source nodes → ${f.kernels} kernels)`),
      table(['pattern', 'kernel type', 'kernels'], (f.patterns || []).map((x) => [x.pattern, x.kernel_type, x.kernels]), { numeric: [2] }));
    const removed = (f.removed || []).map((x) => `${x.op_type} ×${x.count}`).join(', ');
    const added = (f.added || []).map((x) => `${x.op_type} ×${x.count}`).join(', ');
    if (removed || added) sections.push(facts([['removed', removed || 'none'], ['added', added || 'none']]));
  }
  return sections;
}

function conversionSection(doc) {
  const c = doc.conversion;
  if (!c) return [];
  const a = c.accuracy;
  return [h('h2', {}, 'Conversion and accuracy cost'), h('section', { class: 'card' }, facts([
    ['from', `${c.source_model || ''} (${(c.source_sha256 || '').slice(0, 12)})`], ['to', `${c.target} ${c.precision}`],
    ['converter', c.converter_version],
    ['accuracy', a ? `against ${a.reference_runtime} on ${a.samples} samples (${a.inputs})` : 'not checked'],
    ['max abs error', a?.max_abs_error], ['mean abs error', a?.mean_abs_error], ['max rel error', a?.max_rel_error],
    ['top-1 agreement', a && a.top1_agreement !== null ? percent(a.top1_agreement) : null]]))];
}

function comparisonSections(doc) {
  return [h('h2', {}, `Comparison on ${doc.device} (${doc.rounds} rounds)`), verdict(doc),
    table(['variant', 'median ratio', '95% CI', 'median'], (doc.ratios || []).map((r, i) => [r.label, r.median.toFixed(3),
      r.ci95 ? `${r.ci95[0].toFixed(3)} – ${r.ci95[1].toFixed(3)}` : '-', formatMs(doc.variants?.[i]?.result?.latency_ms?.p50)]),
    { numeric: [1, 2, 3] })];
}

// The result page of one task: its state, and its result document when there is one.
async function taskView(id) {
  const task = await api(`/v1/tasks/${id}`);
  const doc = task.result;
  const head = [
    h('h1', {}, `Task #${task.id} `, state(task.state)),
    h('section', { class: 'card' }, facts([
      ['model', `${modelLabel(task)} (${task.model_sha256.slice(0, 12)})`], ['runtime', task.runtime],
      ['device', task.agent || task.device || JSON.stringify(task.selector)],
      ['job', task.job ? h('a', { href: `#/jobs/${task.job}` }, `#${task.job}`) : null],
      ['settings', Object.keys(task.settings || {}).length ? JSON.stringify(task.settings) : null],
      ['attempts', `${task.attempts} lease(s), ${task.result_attempts} result(s)`],
      ['created', when(task.created_at)], ['finished', task.finished_at ? when(task.finished_at) : null],
      ['error', task.error ? h('span', { class: 'error' }, task.error) : null]]),
    !FINAL.has(task.state) ? h('p', {}, h('button', { class: 'secondary', onclick: async () => {
      await api(`/v1/tasks/${id}/cancel`, { method: 'POST' }); render(); } }, 'Cancel task')) : null,
    FINAL.has(task.state) && doc ? h('form', { class: 'filters', onsubmit: (e) => { e.preventDefault();
      location.hash = `#/compare/${id}/${e.target.other.value}`; } },
    h('label', {}, 'compare with task', h('input', { name: 'other', size: 6, inputmode: 'numeric', required: true })),
    h('button', { type: 'submit' }, 'Compare')) : null)];
  if (!doc) return [...head, h('p', { class: 'muted' }, FINAL.has(task.state) ? 'no result document' : 'waiting for the result…')];
  if (doc.schema === 'edgebench.comparison/1') return [...head, ...comparisonSections(doc)];
  return [...head,
    verdict(doc),
    h('div', { class: 'grid2' },
      h('section', { class: 'card' }, h('h2', {}, 'Latency distribution'), histogram(doc.samples_ms || [], { width: chartWidth() }),
        h('h2', {}, 'Runs in order'), series(doc.samples_ms || [], { width: chartWidth() })),
      h('section', { class: 'card' }, h('h2', {}, 'Statistics'), facts(statistics(doc)))),
    h('h2', {}, 'Environment'), h('section', { class: 'card' }, environment(doc)),
    ...profileSections(doc), ...conversionSection(doc)];
}

async function compareView(a, b) {
  const form = h('form', { class: 'filters', onsubmit: (e) => { e.preventDefault();
    location.hash = `#/compare/${e.target.a.value}/${e.target.b.value}`; } },
  h('label', {}, 'task A', h('input', { name: 'a', value: a || '', size: 6, required: true })),
  h('label', {}, 'task B', h('input', { name: 'b', value: b || '', size: 6, required: true })),
  h('button', { type: 'submit' }, 'Compare'));
  if (!a || !b) return [h('h1', {}, 'Compare two results'), form];
  const [ta, tb] = await Promise.all([api(`/v1/tasks/${a}`), api(`/v1/tasks/${b}`)]);
  const da = ta.result || {}, db = tb.result || {};
  const la = da.latency_ms || {}, lb = db.latency_ms || {};
  const row = (name, x, y, format = formatMs) => [name, format(x), format(y),
    Number.isFinite(x) && Number.isFinite(y) && x > 0 ? `${((y / x - 1) * 100).toFixed(1)}%` : ''];
  const rows = [
    ['model', modelLabel(ta), modelLabel(tb), ''], ['runtime', ta.runtime, tb.runtime, ''],
    ['device', da.device || ta.agent || '', db.device || tb.agent || '', ''],
    ['verdict', state(da.validity?.valid ? 'valid' : 'invalid'), state(db.validity?.valid ? 'valid' : 'invalid'), ''],
    row('median', la.p50, lb.p50), row('mean', la.mean, lb.mean), row('p90', la.p90, lb.p90), row('p99', la.p99, lb.p99),
    row('min', la.min, lb.min), row('max', la.max, lb.max),
    row('robust CV', la.robust_cv, lb.robust_cv, percent), row('runs', da.runs, db.runs, (x) => x ?? '-'),
    row('peak RSS', da.peak_rss_bytes, db.peak_rss_bytes, bytes)];
  const overlap = la.median_ci95 && lb.median_ci95 &&
    !(la.median_ci95[1] < lb.median_ci95[0] || lb.median_ci95[1] < la.median_ci95[0]);
  return [h('h1', {}, `Task #${a} vs #${b}`), form,
    table(['', h('a', { href: `#/tasks/${a}` }, `A: #${a}`), h('a', { href: `#/tasks/${b}` }, `B: #${b}`), 'B vs A'], rows, { numeric: [1, 2, 3] }),
    la.median_ci95 && lb.median_ci95 ? h('p', { class: 'muted' }, overlap
      ? 'The 95% intervals of the medians overlap: the difference may be noise.'
      : 'The 95% intervals of the medians do not overlap.') : null,
    h('div', { class: 'grid2' },
      h('section', { class: 'card' }, h('h2', {}, `A: ${modelLabel(ta)} on ${ta.runtime}`), histogram(da.samples_ms || [], { width: chartWidth() })),
      h('section', { class: 'card' }, h('h2', {}, `B: ${modelLabel(tb)} on ${tb.runtime}`), histogram(db.samples_ms || [], { width: chartWidth() })))];
}

async function submitView() {
  const { devices } = await api('/v1/devices');
  const runtimes = [...new Set(devices.flatMap((d) => (d.facts?.runtimes || []).map((r) => r.name)))].sort();
  const message = h('p', { role: 'status' });
  const form = h('form', { class: 'grid', id: 'submit-form', onsubmit: async (e) => {
    e.preventDefault();
    const f = e.target;
    const file = f.model.files[0];
    if (!file) return;
    message.className = 'muted';
    message.textContent = `uploading ${file.name}…`;
    try {
      const model = await api(`/v1/models?name=${encodeURIComponent(file.name)}`, { method: 'POST', body: file, type: 'application/octet-stream' });
      const settings = {};
      if (f.min_runs.value) settings.min_runs = Number(f.min_runs.value);
      if (f.threads.value) settings.threads = Number(f.threads.value);
      if (f.precision.value !== 'fp32') settings.precision = f.precision.value;
      if (f.profile.checked) settings.profile_runs = 10;
      Object.assign(settings, f.extra.value.trim() ? JSON.parse(f.extra.value) : {});
      const body = { model_sha256: model.sha256, runtime: f.runtime.value, settings };
      if (f.device.value.includes('=')) body.selector = Object.fromEntries(f.device.value.split(',').map((kv) => kv.split('=')));
      else body.device = f.device.value;
      const task = await api('/v1/tasks', { method: 'POST', body });
      location.hash = `#/tasks/${task.id}`;
    } catch (error) {
      message.className = 'error';
      message.textContent = error.message;
    }
  } },
  h('label', {}, 'model file', h('input', { type: 'file', name: 'model', required: true, accept: '.onnx,.tflite,.pt,.pb,.caffemodel,.prototxt,.weights,.cfg' })),
  h('label', {}, 'runtime', h('select', { name: 'runtime', required: true }, runtimes.map((r) => h('option', { value: r }, r)))),
  h('label', {}, 'device (or label=value)', h('input', { name: 'device', list: 'device-names', required: true, value: devices[0]?.name || '' }),
    h('datalist', { id: 'device-names' }, devices.map((d) => h('option', { value: d.name })))),
  h('label', {}, 'min runs', h('input', { name: 'min_runs', type: 'number', min: 1, size: 6 })),
  h('label', {}, 'threads', h('input', { name: 'threads', type: 'number', min: 0, size: 4 })),
  h('label', {}, 'precision', h('select', { name: 'precision' }, ['fp32', 'fp16', 'int8'].map((p) => h('option', { value: p }, p)))),
  h('label', {}, h('span', {}, h('input', { type: 'checkbox', name: 'profile' }), ' operator profile')),
  h('label', {}, 'other settings (JSON, docs/settings.md)', h('input', { name: 'extra', placeholder: '{"max_duration_ms": 5000}', size: 28 })),
  h('button', { type: 'submit' }, 'Submit'));
  return [h('h1', {}, 'Submit a model'),
    devices.length ? form : h('p', { class: 'muted' }, 'no device is registered yet'), message];
}

function loginView(problem) {
  document.getElementById('nav').hidden = true;
  const message = h('p', { class: 'error', role: 'alert' }, problem || '');
  return [h('section', { class: 'card login' },
    h('h1', {}, 'Sign in'),
    h('p', { class: 'muted' }, 'Paste a user or admin token (the server prints where the admin token is, e.g. DATA/admin.token).'),
    h('form', { onsubmit: async (e) => {
      e.preventDefault();
      const token = e.target.token.value.trim();
      try {
        await api('/v1/jobs?limit=1', { token });
        sessionStorage.setItem(TOKEN_KEY, token);
        if (!location.hash || location.hash === '#/login') location.hash = '#/devices';
        render();
      } catch (error) {
        message.textContent = error.status === 401 || error.status === 403 ? `refused: ${error.message}` : error.message;
      }
    } },
    h('label', {}, 'token', h('input', { name: 'token', type: 'password', autocomplete: 'off', required: true, autofocus: true })),
    h('p', {}, h('button', { type: 'submit' }, 'Sign in'))),
    message)];
}

// ---- Rendering and polling ------------------------------------------------------------------

let timer = null;
let generation = 0;

async function render() {
  clearTimeout(timer);
  const mine = ++generation;
  if (!sessionStorage.getItem(TOKEN_KEY)) {
    main.replaceChildren(...loginView());
    return;
  }
  document.getElementById('nav').hidden = false;
  if (!location.hash || location.hash === '#/' || location.hash === '#/login') location.hash = '#/devices';
  for (const link of document.querySelectorAll('#nav a')) {
    link.classList.toggle('active', location.hash.startsWith(link.getAttribute('href')));
  }
  const [path] = location.hash.split('?');
  const match = views.map(([pattern, view, options]) => [path.match(pattern), view, options]).find(([m]) => m);
  if (!match) {
    main.replaceChildren(h('p', { class: 'error' }, `no page ${location.hash}`));
    return;
  }
  const [m, view, options = {}] = match;
  const live = document.getElementById('live');
  try {
    const nodes = await view(...m.slice(1));
    if (mine !== generation) return;  // another render started meanwhile
    const scroll = window.scrollY;
    main.replaceChildren(...[nodes].flat(3).filter(Boolean));
    window.scrollTo(0, scroll);
    live.textContent = options.poll === false ? '' : `updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    if (mine !== generation) return;
    if (error.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      main.replaceChildren(...loginView(`signed out: ${error.message}`));
      return;
    }
    live.textContent = `update failed: ${error.message}`;
    if (!main.querySelector('h1')) main.replaceChildren(h('p', { class: 'error' }, error.message));
  }
  if (options.poll !== false) {
    schedule(mine);
  }
}

// The next poll; postponed while the tab is hidden or while the user types in a field of the page.
function schedule(mine) {
  timer = setTimeout(() => {
    if (mine !== generation) return;
    const active = document.activeElement;
    const typing = active && main.contains(active) && ['INPUT', 'SELECT', 'TEXTAREA'].includes(active.tagName);
    if (document.hidden || typing) schedule(mine);
    else render();
  }, POLL_MS);
}

document.getElementById('logout').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  render();
});
document.addEventListener('visibilitychange', () => { if (!document.hidden) render(); });
window.addEventListener('hashchange', render);
render();
