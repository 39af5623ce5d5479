import { type Fragment, type Html, html } from './html.js';

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

/**
 * A whole page: navigation, the token form for actions, and the one Server-Sent Events
 * stream of this tab (`/events`), whose `tick` refreshes the live parts and whose `log`
 * events feed a tail.
 */
export function layout(active: PageName, title: string, events: string, body: Fragment): Html {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="htmx-config" content='{"includeIndicatorStyles":false,"allowEval":false}'>
<title>${title} · Sluice</title>
<link rel="stylesheet" href="/assets/app.css">
<link rel="stylesheet" href="/assets/uplot.css">
<script src="/assets/htmx.js" defer></script>
<script src="/assets/sse.js" defer></script>
<script src="/assets/uplot.js" defer></script>
<script src="/assets/app.js" defer></script>
</head>
<body hx-ext="sse" sse-connect="${events}">
<header><span class="brand">Sluice</span>
<nav>${PAGES.map(([name, label]) => html`<a href="/${name}" class="${name === active ? 'on' : ''}">${label}</a>`)}</nav>
<form id="token-form"><input name="token" type="password" placeholder="control token" autocomplete="off" aria-label="control token"><button>Use</button><span id="token-state">read-only</span></form>
</header>
<main>${body}</main>
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
