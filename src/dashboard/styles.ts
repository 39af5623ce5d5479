import { createHash } from 'node:crypto';
import { vendorText } from './assets.js';
import { clientCss } from './client.js';
import { type Html, raw } from './html.js';

export interface InlineStyle {
  element: Html;
  /** The CSP source that allows exactly this `<style>`: `'sha256-…'`. */
  source: string;
}

function inline(css: string): InlineStyle {
  if (css.includes('</')) throw new Error('A stylesheet inlined in a page cannot hold "</"');
  const hash = createHash('sha256').update(css).digest('base64');
  return { element: raw(`<style>${css}</style>`), source: `'sha256-${hash}'` };
}

let app: InlineStyle | undefined;
let charts: InlineStyle | undefined;

/**
 * Our stylesheet, inside every page's head: a stylesheet blocks the first paint until it
 * arrives, and inline there is nothing left to wait for. The Content-Security-Policy allows
 * it by its hash, so it stays as strict as `'self'`.
 */
export function appStyle(): InlineStyle {
  app ??= inline(clientCss);
  return app;
}

/** uPlot's stylesheet, inline in the pages that draw charts. */
export function chartStyle(): InlineStyle {
  charts ??= inline(vendorText('uplot/dist/uPlot.min.css'));
  return charts;
}
