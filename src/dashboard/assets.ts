import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { clientJs } from './client.js';

export interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer;
  etag: string;
}

const require = createRequire(import.meta.url);

/**
 * The browser pieces, served from this host only: the npm packages' own builds, resolved in
 * node_modules when first asked for (so nothing is fetched from a CDN, and the dashboard
 * works offline), and our script. The stylesheets are inline in the pages (`styles.ts`).
 */
const SOURCES: Record<string, { type: string; read: () => string }> = {
  '/assets/htmx.js': {
    type: 'text/javascript',
    read: () => vendorText('htmx.org/dist/htmx.min.js'),
  },
  '/assets/sse.js': {
    type: 'text/javascript',
    read: () => vendorText('htmx-ext-sse/dist/sse.min.js'),
  },
  '/assets/uplot.js': {
    type: 'text/javascript',
    read: () => vendorText('uplot/dist/uPlot.iife.min.js'),
  },
  '/assets/app.js': { type: 'text/javascript', read: () => clientJs },
};

const cache = new Map<string, Asset>();

/** A file of an npm package the dashboard ships with, as text. */
export function vendorText(specifier: string): string {
  return readFileSync(require.resolve(specifier), 'utf8');
}

/** The asset at `path`, compressed once and kept; undefined for any other path. */
export function assetAt(path: string): Asset | undefined {
  const cached = cache.get(path);
  if (cached !== undefined) return cached;
  const source = Object.hasOwn(SOURCES, path) ? SOURCES[path] : undefined;
  if (source === undefined) return undefined;
  const body = Buffer.from(source.read());
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"`;
  const asset: Asset = { type: `${source.type}; charset=utf-8`, body, gzip: gzipSync(body), etag };
  cache.set(path, asset);
  return asset;
}
