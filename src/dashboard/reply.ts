import type { IncomingMessage, ServerResponse } from 'node:http';
import { createGzip, gzipSync } from 'node:zlib';
import type { Asset } from './assets.js';
import { escapeHtml, type Html } from './html.js';
import { appStyle, chartStyle } from './styles.js';

let security: Record<string, string> | undefined;

// Only our own files and our own two stylesheets (by hash), no inline script; pages are never
// framed elsewhere.
function securityHeaders(): Record<string, string> {
  security ??= {
    'content-security-policy': `default-src 'self'; script-src 'self'; style-src 'self' ${appStyle().source} ${chartStyle().source}; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'`,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-resource-policy': 'same-origin',
  };
  return security;
}

function acceptsGzip(req: IncomingMessage): boolean {
  return /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
}

/** An HTML page or fragment, gzipped when the client takes it. */
export function sendHtml(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  text: string,
): void {
  const plain = Buffer.from(text);
  const gzip = acceptsGzip(req) && plain.length > 1024;
  const body = gzip ? gzipSync(plain) : plain;
  res.writeHead(status, {
    ...securityHeaders(),
    'content-type': 'text/html; charset=utf-8',
    'content-length': body.length,
    'cache-control': 'no-store',
    vary: 'accept-encoding',
    ...(gzip ? { 'content-encoding': 'gzip' } : {}),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * A whole page in two parts: `head` at once, then what `rest` renders once it has read the
 * page's figures. The browser paints the head (styles inline) and fetches the scripts
 * meanwhile, so the first paint does not wait for the slowest query of the page. A failure
 * after the head has gone out ends the page with its message.
 */
export async function sendPage(
  req: IncomingMessage,
  res: ServerResponse,
  head: Html,
  rest: () => Promise<Html>,
): Promise<void> {
  const gzip = acceptsGzip(req);
  res.writeHead(200, {
    ...securityHeaders(),
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    vary: 'accept-encoding',
    ...(gzip ? { 'content-encoding': 'gzip' } : {}),
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const zip = gzip ? createGzip() : undefined;
  if (zip !== undefined) {
    zip.on('error', () => res.destroy());
    zip.pipe(res);
  }
  const out = zip ?? res;
  out.write(head.text);
  // Compressed, the head leaves only once flushed: before the figures are read, not after.
  if (zip !== undefined) await new Promise<void>((resolve) => zip.flush(() => resolve()));
  let body: string;
  try {
    body = (await rest()).text;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    body = `<p class="badge err">${escapeHtml(message)}</p></main>\n</body></html>`;
  }
  out.end(body);
}

export function sendAsset(req: IncomingMessage, res: ServerResponse, asset: Asset): void {
  const headers = {
    ...securityHeaders(),
    'content-type': asset.type,
    etag: asset.etag,
    'cache-control': 'max-age=3600',
    vary: 'accept-encoding',
  };
  if (req.headers['if-none-match'] === asset.etag) {
    res.writeHead(304, headers).end();
    return;
  }
  const gzip = acceptsGzip(req);
  const body = gzip ? asset.gzip : asset.body;
  res.writeHead(200, {
    ...headers,
    'content-length': body.length,
    ...(gzip ? { 'content-encoding': 'gzip' } : {}),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

export function sendText(res: ServerResponse, status: number, text: string, extra = {}): void {
  res.writeHead(status, {
    ...securityHeaders(),
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...extra,
  });
  res.end(text);
}
