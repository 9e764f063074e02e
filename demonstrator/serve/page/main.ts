/// <reference lib="dom" />
/**
 * The heatmap page: one image, its top-5 classes as chips, and up to four panels that
 * explain the chosen class with different rules side by side. Everything it shows comes
 * from the service's JSON API on the same origin (no CDN, works offline).
 */
import type { Explanation, ModelInfo, RuleOrComposite } from './api-types';

const MAX_PANELS = 4;

interface Panel {
  id: number;
  /** 'rule:<name>' or 'composite:<name>'. */
  choice: string;
  params: Record<string, number>;
  result?: Explanation;
  el: HTMLElement;
  seq: number;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const state = {
  model: undefined as ModelInfo | undefined,
  file: undefined as Blob | undefined,
  target: 'top1' as 'top1' | number,
  panels: [] as Panel[],
  nextId: 1,
  top: [] as Explanation['top'],
};

function setStatus(text: string, error = false): void {
  const s = $('status');
  s.textContent = text;
  s.classList.toggle('error', error);
}

function findChoice(choice: string): RuleOrComposite | undefined {
  const m = state.model;
  if (!m) return undefined;
  const [kind, name] = [choice.slice(0, choice.indexOf(':')), choice.slice(choice.indexOf(':') + 1)];
  return (kind === 'composite' ? m.composites : m.rules).find((r) => r.name === name);
}

function defaultParams(choice: string): Record<string, number> {
  const spec = findChoice(choice);
  const out: Record<string, number> = {};
  const d = state.model?.defaults ?? {};
  const fromModel: Record<string, unknown> = { epsstab: d.epsstab, alphabeta_beta: d.alphabeta_beta, aux: d.auxiliaryvariable_maxlayerindexforflatdistinconv };
  for (const p of spec?.parameters ?? []) {
    const v = fromModel[p.name];
    out[p.name] = typeof v === 'number' && v >= p.minimum ? v : p.default;
  }
  return out;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function ruleSelect(panel: Panel): HTMLSelectElement {
  const select = el('select', { id: `rule-${panel.id}` });
  const groups: [string, RuleOrComposite[]][] = [['Rules', state.model?.rules ?? []], ['Composites', state.model?.composites ?? []]];
  for (const [label, list] of groups) {
    if (list.length === 0) continue; // the composite group appears once the service lists any
    const g = el('optgroup', { label });
    for (const r of list) {
      const value = `${label === 'Rules' ? 'rule' : 'composite'}:${r.name}`;
      const o = el('option', { value }, r.name);
      if (value === panel.choice) o.selected = true;
      g.append(o);
    }
    select.append(g);
  }
  select.addEventListener('change', () => {
    panel.choice = select.value;
    panel.params = defaultParams(panel.choice);
    renderPanelControls(panel);
    void explainPanel(panel);
  });
  return select;
}

function renderPanelControls(panel: Panel): void {
  const box = panel.el.querySelector('.params') as HTMLElement;
  box.replaceChildren();
  const spec = findChoice(panel.choice);
  (panel.el.querySelector('.rule-help') as HTMLElement).textContent = spec?.description ?? '';
  for (const p of spec?.parameters ?? []) {
    const id = `p-${panel.id}-${p.name}`;
    const label = el('label', { for: id }, p.label);
    const input = el('input', { id, type: 'number', min: String(p.minimum), step: String(p.step), value: String(panel.params[p.name] ?? p.default) });
    input.addEventListener('change', () => {
      const v = Number(input.value);
      if (input.value === '' || !Number.isFinite(v) || v < p.minimum || (p.type === 'integer' && !Number.isInteger(v))) {
        setStatus(`${p.label}: enter ${p.type === 'integer' ? 'an integer' : 'a number'} ≥ ${p.minimum}`, true);
        return;
      }
      panel.params[p.name] = v;
      void explainPanel(panel);
    });
    label.append(input);
    box.append(label);
  }
}

function download(name: string, label: string): HTMLAnchorElement {
  return el('a', { href: '#', download: name, 'aria-disabled': 'true', 'data-kind': label }, label);
}

function addPanel(choice?: string): void {
  if (state.panels.length >= MAX_PANELS || !state.model) return;
  const used = new Set(state.panels.map((p) => p.choice));
  const fallback = state.model.rules.map((r) => `rule:${r.name}`).find((c) => !used.has(c)) ?? `rule:${state.model.rules[0].name}`;
  const c = choice ?? fallback;
  const id = state.nextId++;
  const section = el('article', { class: 'panel', 'aria-labelledby': `title-${id}`, 'data-panel': String(id) });
  const panel: Panel = { id, choice: c, params: defaultParams(c), el: section, seq: 0 };
  const header = el('header');
  const title = el('h2', { id: `title-${id}` }, `Panel ${state.panels.length + 1}`);
  const remove = el('button', { type: 'button', class: 'remove', 'aria-label': `Remove panel ${state.panels.length + 1}` }, 'Remove');
  remove.addEventListener('click', () => removePanel(panel));
  header.append(title, remove);
  const ruleLabel = el('label', { for: `rule-${id}` }, 'Rule');
  ruleLabel.append(ruleSelect(panel));
  const params = el('div', { class: 'params' });
  const help = el('p', { class: 'rule-help' });
  const pictures = el('div', { class: 'pictures' });
  const heat = el('figure');
  const heatBox = el('div', { class: 'heat' });
  heatBox.append(el('img', { class: 'heatmap', alt: 'Relevance heatmap' }));
  heat.append(heatBox, el('figcaption', {}, 'heatmap'));
  const over = el('figure');
  const stack = el('div', { class: 'stack' });
  stack.append(el('img', { class: 'base', alt: '' }), el('img', { class: 'top-layer', alt: 'Heatmap over the image' }));
  over.append(stack, el('figcaption', {}, 'overlay'));
  pictures.append(heat, over);
  const facts = el('p', { class: 'facts' });
  const downloads = el('div', { class: 'downloads' });
  downloads.append(download(`heatmap-${id}.png`, 'heatmap.png'), download(`overlay-${id}.png`, 'overlay.png'), download(`relevance-${id}.npy`, 'relevance.npy'));
  downloads.querySelector('[data-kind="overlay.png"]')?.addEventListener('click', (e) => overlayDownload(e, panel));
  section.append(header, ruleLabel, params, help, pictures, facts, downloads);
  $('panels').append(section);
  state.panels.push(panel);
  renderPanelControls(panel);
  updatePanelChrome();
  applyOpacity();
  if (state.file) void explainPanel(panel);
}

function removePanel(panel: Panel): void {
  if (state.panels.length <= 1) return;
  state.panels = state.panels.filter((p) => p !== panel);
  panel.el.remove();
  updatePanelChrome();
  ($('add-panel') as HTMLButtonElement).focus();
}

function updatePanelChrome(): void {
  state.panels.forEach((p, i) => {
    (p.el.querySelector('h2') as HTMLElement).textContent = `Panel ${i + 1}`;
    const rm = p.el.querySelector('.remove') as HTMLButtonElement;
    rm.hidden = state.panels.length <= 1;
    rm.setAttribute('aria-label', `Remove panel ${i + 1}`);
  });
  ($('add-panel') as HTMLButtonElement).disabled = state.panels.length >= MAX_PANELS;
}

function opacity(): number {
  return Number(($('opacity') as HTMLInputElement).value) / 100;
}

function applyOpacity(): void {
  const a = opacity();
  $('opacity-value').textContent = `${Math.round(a * 100)}%`;
  for (const p of state.panels) (p.el.querySelector('.top-layer') as HTMLElement).style.opacity = String(a);
}

/** The overlay as shown (the slider's opacity), drawn on a canvas: (1 - a) · image + a · heatmap. */
function overlayDownload(e: Event, panel: Panel): void {
  const r = panel.result;
  if (!r) return;
  const base = panel.el.querySelector('.base') as HTMLImageElement;
  const top = panel.el.querySelector('.top-layer') as HTMLImageElement;
  const canvas = document.createElement('canvas');
  canvas.width = base.naturalWidth;
  canvas.height = base.naturalHeight;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(base, 0, 0);
  ctx.globalAlpha = opacity();
  ctx.drawImage(top, 0, 0, canvas.width, canvas.height);
  (e.currentTarget as HTMLAnchorElement).href = canvas.toDataURL('image/png');
}

async function post(form: FormData): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch('/api/explain', { method: 'POST', body: form });
    if (res.status !== 503 || attempt >= 3) return res;
    const wait = Math.min(10, Number(res.headers.get('Retry-After')) || 1);
    await new Promise((r) => setTimeout(r, wait * 1000));
  }
}

async function explainPanel(panel: Panel): Promise<void> {
  if (!state.file) return;
  const seq = ++panel.seq;
  const form = new FormData();
  form.append('image', state.file, 'upload');
  const [kind, name] = [panel.choice.slice(0, panel.choice.indexOf(':')), panel.choice.slice(panel.choice.indexOf(':') + 1)];
  form.append(kind === 'composite' ? 'composite' : 'rule', name);
  for (const [k, v] of Object.entries(panel.params)) form.append(k, String(v));
  form.append('target', String(state.target));
  form.append('colormap', ($('colormap') as HTMLSelectElement).value);
  form.append('relevance', 'npy');
  panel.el.classList.add('loading');
  panel.el.setAttribute('aria-busy', 'true');
  try {
    const res = await post(form);
    const body = await res.json();
    if (seq !== panel.seq) return; // a newer request for this panel is on its way
    if (!res.ok) {
      setStatus(`${name}: ${body?.error?.message ?? res.statusText}`, true);
      return;
    }
    showResult(panel, body as Explanation);
  } catch (e) {
    setStatus(`The service did not answer: ${(e as Error).message}`, true);
  } finally {
    if (seq === panel.seq) {
      panel.el.classList.remove('loading');
      panel.el.removeAttribute('aria-busy');
    }
  }
}

function showResult(panel: Panel, r: Explanation): void {
  panel.result = r;
  const set = (sel: string, src: string) => ((panel.el.querySelector(sel) as HTMLImageElement).src = src);
  set('.heatmap', r.heatmap.png);
  set('.base', r.image.png);
  set('.top-layer', r.heatmap.png);
  const explained = r.explained.map((c) => c.label).join(' + ');
  (panel.el.querySelector('.heatmap') as HTMLImageElement).alt = `Relevance heatmap for ${explained}`;
  const seeded = r.conservation.seeded;
  (panel.el.querySelector('.facts') as HTMLElement).textContent =
    `explains ${explained} · relevance in ${seeded === null ? '–' : seeded.toPrecision(4)}, at the input ${r.conservation.input.toPrecision(4)} · ${Math.round(r.timings.totalMs)} ms`;
  const links = panel.el.querySelectorAll<HTMLAnchorElement>('.downloads a');
  links.forEach((a) => {
    const kind = a.dataset.kind;
    const href = kind === 'heatmap.png' ? r.heatmap.png : kind === 'overlay.png' ? r.overlay.png : r.relevance?.npy;
    if (href) { a.href = href; a.removeAttribute('aria-disabled'); }
  });
  $('input-image').setAttribute('src', r.image.png);
  $('input-figure').hidden = false;
  if (panel === state.panels[0]) showChips(r);
  setStatus(`Explained ${explained}.`);
}

function showChips(r: Explanation): void {
  state.top = r.top;
  const chosen = typeof state.target === 'number' ? state.target : r.explained[0]?.class;
  const box = $('chips');
  box.replaceChildren();
  for (const t of r.top) {
    const b = el('button', { type: 'button', class: 'chip', 'aria-pressed': String(t.class === chosen), 'data-class': String(t.class) });
    b.append(el('span', { class: 'label' }, t.label), el('span', { class: 'score' }, t.score >= 0.001 ? `${(t.score * 100).toFixed(1)}%` : t.score >= 0.00001 ? `${(t.score * 100).toFixed(3)}%` : '<0.001%'));
    b.setAttribute('aria-label', `Explain ${t.label} (score ${t.score.toPrecision(3)})`);
    b.addEventListener('click', () => {
      state.target = t.class;
      box.querySelectorAll('.chip').forEach((c) => c.setAttribute('aria-pressed', String(c === b)));
      explainAll();
    });
    box.append(b);
  }
  $('classes-hint').textContent = 'Press a class to see the evidence for it.';
}

function explainAll(): void {
  for (const p of state.panels) void explainPanel(p);
}

function takeFile(file: File | undefined): void {
  if (!file) return;
  state.file = file;
  state.target = 'top1';
  setStatus(`Explaining ${file.name}…`);
  explainAll();
}

function wireInput(): void {
  const drop = $('drop');
  const input = $('file') as HTMLInputElement;
  input.addEventListener('change', () => takeFile(input.files?.[0]));
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('dragging'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('dragging'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('dragging');
    takeFile(e.dataTransfer?.files?.[0]);
  });
  $('opacity').addEventListener('input', applyOpacity);
  $('colormap').addEventListener('change', explainAll);
  $('add-panel').addEventListener('click', () => addPanel());
}

async function start(): Promise<void> {
  wireInput();
  try {
    const res = await fetch('/api/model');
    state.model = (await res.json()) as ModelInfo;
  } catch (e) {
    setStatus(`Cannot reach the service: ${(e as Error).message}`, true);
    return;
  }
  const m = state.model;
  $('model-name').textContent = m.name;
  const cm = $('colormap') as HTMLSelectElement;
  for (const name of m.colormaps) cm.append(el('option', { value: name }, name));
  cm.value = String(m.defaults.colormap ?? m.colormaps[0]);
  const d = m.defaults;
  const rule = typeof d.rule === 'string' ? d.rule : m.rules.find((r) => r.name === 'layer_dep')?.name ?? m.rules[0].name;
  addPanel(`rule:${rule}`);
  setStatus('Ready. Choose an image.');
}

void start();
