/**
 * Our own browser code: the token for actions kept in the tab's session storage and sent as
 * a bearer token with every htmx request, charts drawn by uPlot from `data-chart` JSON, and
 * the follow switch of the live log tail. No inline script anywhere, and the stylesheet is
 * inline only with its hash in the Content-Security-Policy, so the policy stays as strict
 * as `'self'`.
 */
export const clientJs = `(() => {
  const KEY = 'sluice-dashboard-token';
  document.addEventListener('htmx:configRequest', (e) => {
    const token = sessionStorage.getItem(KEY);
    if (token) e.detail.headers.authorization = 'Bearer ' + token;
  });
  document.addEventListener('submit', (e) => {
    const form = e.target;
    if (!(form instanceof HTMLFormElement) || form.id !== 'token-form') return;
    e.preventDefault();
    const value = form.elements.namedItem('token').value.trim();
    if (value) sessionStorage.setItem(KEY, value); else sessionStorage.removeItem(KEY);
    showToken();
  });
  function showToken() {
    const state = document.getElementById('token-state');
    if (state) state.textContent = sessionStorage.getItem(KEY) ? 'actions on' : 'read-only';
  }
  function charts(root) {
    if (typeof uPlot === 'undefined') return;
    for (const el of root.querySelectorAll('[data-chart]')) {
      if (el.dataset.drawn) continue;
      el.dataset.drawn = '1';
      const spec = JSON.parse(el.dataset.chart);
      const series = [{}].concat(spec.labels.map((label, i) => ({
        label, stroke: ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed'][i % 5], width: 1.5,
      })));
      new uPlot({ width: el.clientWidth || 320, height: 120, series, legend: { show: spec.labels.length > 1 },
        axes: [{ size: 24 }, { size: 40 }], scales: { x: { time: true } } }, spec.data, el);
    }
  }
  // An action's refusal (401, 400) is a message for the user: show it like a success.
  document.addEventListener('htmx:beforeSwap', (e) => {
    if (e.detail.xhr.status >= 400 && e.detail.requestConfig.path.startsWith('/actions/')) {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
    }
  });
  document.addEventListener('htmx:afterSwap', (e) => charts(e.target));
  document.addEventListener('DOMContentLoaded', () => { showToken(); charts(document); });
  document.addEventListener('htmx:sseBeforeMessage', (e) => {
    const follow = document.getElementById('follow');
    if (follow && !follow.checked && e.detail.type === 'log') e.preventDefault();
  });
})();
`;

export const clientCss = `
:root { --fg: #111827; --muted: #6b7280; --line: #e5e7eb; --bg: #f9fafb; --accent: #2563eb;
  --ok: #16a34a; --warn: #d97706; --err: #dc2626; font: 14px/1.4 system-ui, sans-serif; color: var(--fg); }
body { margin: 0; background: var(--bg); }
header { display: flex; align-items: center; gap: 1rem; padding: .5rem 1rem; background: #111827; color: #fff; }
header a { color: #d1d5db; text-decoration: none; padding: .25rem .5rem; border-radius: 4px; }
header a.on, header a:hover { background: #374151; color: #fff; }
header .brand { font-weight: 600; color: #fff; }
header form { margin-left: auto; display: flex; gap: .25rem; align-items: center; }
header input { width: 10rem; }
#token-state { font-size: 12px; color: #9ca3af; }
main { padding: 1rem; }
h1 { font-size: 18px; margin: 0 0 .75rem; } h2 { font-size: 15px; margin: 1rem 0 .5rem; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
code, .mono { font-family: ui-monospace, monospace; font-size: 12px; }
form.filters { display: flex; flex-wrap: wrap; gap: .5rem; margin-bottom: .75rem; align-items: end; }
label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); }
input, select, button { font: inherit; padding: .2rem .4rem; }
button { cursor: pointer; }
.badge { display: inline-block; padding: 0 .4rem; border-radius: 9px; font-size: 12px; background: var(--line); }
.badge.err, .lvl-error, .lvl-fatal { background: #fee2e2; color: var(--err); }
.badge.warn, .lvl-warn { background: #fef3c7; color: var(--warn); }
.badge.ok { background: #dcfce7; color: var(--ok); }
.muted { color: var(--muted); }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr)); gap: 1rem; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .75rem; }
.split { display: grid; grid-template-columns: 3fr 2fr; gap: 1rem; }
.wf td { padding: .1rem .5rem; } .wf td:first-child details { display: inline-block; } .wf svg { width: 100%; height: 12px; display: block; }
.wf rect { fill: var(--accent); } .wf rect.err { fill: var(--err); } .wf rect.linked { fill: #7c3aed; }
.hop td { background: #f5f3ff; font-size: 12px; color: #5b21b6; }
.topo svg { width: 100%; height: auto; background: #fff; border: 1px solid var(--line); border-radius: 6px; }
.topo .node rect { fill: #eff6ff; stroke: var(--accent); } .topo .node.queue rect { fill: #f5f3ff; stroke: #7c3aed; }
.topo .node.gateway rect { fill: #ecfdf5; stroke: var(--ok); } .topo .node.bad rect { stroke: var(--err); stroke-width: 2; }
.topo text { font-size: 12px; fill: var(--fg); } .topo .edge path { fill: none; stroke: #9ca3af; stroke-width: 1.5; }
.topo .edge.bad path { stroke: var(--err); } .topo .edge text { font-size: 10px; fill: var(--muted); }
.msg { white-space: pre-wrap; word-break: break-word; }
.result { margin: .5rem 0; }
details pre { white-space: pre-wrap; max-height: 20rem; overflow: auto; background: var(--bg); padding: .5rem; }
`;
