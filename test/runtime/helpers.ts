import { mkdtempSync, readFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { LogSink } from '../../src/runtime/index.js';

export const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
export const service = `node ${join(fixtures, 'service.mjs')}`;

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'sluice-runtime-'));
}

/** Lines a file holds, or none when it does not exist. */
export function linesOf(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

export function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface Captured {
  sink: LogSink;
  records: () => Record<string, unknown>[];
  messages: () => string[];
}

/** A JSON log sink that keeps every line. */
export function capture(): Captured {
  const lines: string[] = [];
  const sink = new LogSink({ format: 'json', write: (line) => lines.push(line) });
  const records = (): Record<string, unknown>[] =>
    lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { sink, records, messages: () => records().map((r) => String(r.msg)) };
}

export async function counterValue(
  registry: Registry,
  name: string,
  service: string,
): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return 0;
  const { values } = await metric.get();
  return values.find((v) => v.labels.service === service)?.value ?? 0;
}

export function newRegistry(): Registry {
  return new Registry();
}

export async function getJson(url: string): Promise<Record<string, unknown>> {
  const response = await fetch(url);
  return (await response.json()) as Record<string, unknown>;
}

/** GET over a connection of its own: the round-robin proxy balances connections, not requests. */
export function getFresh(url: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => resolve(JSON.parse(body) as Record<string, unknown>));
    }).on('error', reject);
  });
}
