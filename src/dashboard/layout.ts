import { type Fragment, type Html, html } from './html.js';
import { appStyle, chartStyle } from './styles.js';

export const PAGES = [
  ['traces', 'Traces'],
  ['logs', 'Logs'],
  ['services', 'Services'],
  ['queues', 'Queues'],
  ['topology', 'Topology'],
  ['policies', 'Policies'],
  ['gateway', 'Gateway'],
] as const;

export type PageName = (typeof PAGES)[number][0];

export interface DocumentOptions {
  /** The page draws uPlot charts: it gets uPlot's script and stylesheet. */
  charts?: boolean;
}

/**
 * A page's document up to `<main>`: the styles inline, the scripts deferred, the
 * navigation and the token form for actions. It depends on nothing the page reads, so it
 * is sent before the page's figures are (`sendPage`): the browser paints it and fetches
 * the scripts while the server works.
 */
export function documentHead(active: PageName, title: string, options: DocumentOptions = {}): Html {
  const charts = options.charts === true;
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="htmx-config" content='{"includeIndicatorStyles":false,"allowEval":false}'>
<title>${title} · Sluice</title>
${appStyle().element}${charts ? chartStyle().element : ''}
<script src="/assets/htmx.js" defer></script>
<script src="/assets/sse.js" defer></script>
${charts ? html`<script src="/assets/uplot.js" defer></script>` : ''}
<script src="/assets/app.js" defer></script>
</head>
<body>
<header><span class="brand">Sluice</span>
<nav>${PAGES.map(([name, label]) => html`<a href="/${name}" class="${name === active ? 'on' : ''}">${label}</a>`)}</nav>
<form id="token-form"><input name="token" type="password" placeholder="control token" autocomplete="off" aria-label="control token"><button>Use</button><span id="token-state">read-only</span></form>
</header>
<main>`;
}

/**
 * What a page shows, under the one Server-Sent Events stream of the tab (`events`), whose
 * `tick` refreshes the live parts and whose `log` events feed a tail; it ends the document.
 */
export function documentBody(events: string, content: Fragment): Html {
  return html`<div hx-ext="sse" sse-connect="${events}">${content}</div></main>
</body></html>`;
}

/** A part of the page fetched again at every `tick` of the stream. */
export function live(url: string, content: Fragment, id = 'live'): Html {
  return html`<div id="${id}" hx-get="${url}" hx-trigger="sse:tick" hx-swap="innerHTML">${content}</div>`;
}

/** `?a=1&b=2` from the filter values that are set. */
export function queryOf(values: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) if (value) params.set(key, value);
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}
