import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  GatewayComponent,
  type SluiceConfig,
  type System,
  startSystem,
} from '../../src/runtime/index.js';
import { alive } from '../runtime/helpers.js';
import { memoryLog, storefrontConfig, storefrontDir } from './system.js';

/** An order as `GET /api/orders/:id` shows it, as far as the tests read it. */
export interface Order {
  id: string;
  status: string;
  total: number;
}

export interface RunningStorefront {
  system: System;
  gatewayUrl: string;
  dataDir: string;
  /** Stops everything and returns the pids that are still alive (none, when all went well). */
  stop: (options?: { showLog?: boolean }) => Promise<number[]>;
}

export interface StartOptions {
  /** Changes the loaded config before it starts (another messaging engine, say). */
  configure?: (config: SluiceConfig) => void;
  /** Extra environment for every service. */
  env?: Record<string, string>;
}

/** The storefront on free ports with data in a fresh temporary folder, logs kept in memory. */
export async function startStorefront(options: StartOptions = {}): Promise<RunningStorefront> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-storefront-'));
  const log = memoryLog();
  let config: SluiceConfig;
  try {
    config = await storefrontConfig(dataDir);
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  options.configure?.(config);
  const gateway = new GatewayComponent(config.gateway!, { baseDir: storefrontDir });
  const system = startSystem(config, {
    cwd: storefrontDir,
    env: { ...process.env, SLUICE_DATA: dataDir, ...options.env },
    logs: log.sink,
    components: () => [gateway],
  });
  const stop = async ({ showLog = false } = {}): Promise<number[]> => {
    const pids = [...system.instances, ...system.sidecars].map((i) => i.pid);
    await system.stop({ drainTimeout: 10_000 });
    if (showLog) process.stderr.write(log.text());
    rmSync(dataDir, { recursive: true, force: true });
    return pids.filter((pid): pid is number => alive(pid));
  };
  try {
    await system.ready;
  } catch (error) {
    await stop({ showLog: true });
    throw error;
  }
  return { system, gatewayUrl: gateway.url!, dataDir, stop };
}

export { alive };

export interface SluiceRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

const cli = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/** `sluice ARGS` in a process of its own; asynchronous, since this process serves the system. */
export function runSluice(args: readonly string[]): Promise<SluiceRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** How the storefront's tests wait: a whole system starts and settles, so patiently. */
export const patiently = { timeoutMs: 60_000, intervalMs: 100 };

/** The body as JSON, or an error showing what came instead. */
/** Charges payment directly for a probe order and returns the status it answered. */
export async function chargeStatus(paymentUrl: string): Promise<number> {
  const res = await fetch(`${paymentUrl}/charges`, {
    method: 'POST',
    body: JSON.stringify({ orderId: 'fault-probe', amount: 1 }),
  });
  await res.arrayBuffer();
  return res.status;
}

export async function json<T>(res: Response): Promise<T> {
  const text = await res.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`expected JSON, got ${res.status}: ${text}`);
  }
}

export async function login(gatewayUrl: string, user: string): Promise<string> {
  const res = await fetch(`${gatewayUrl}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: user, password: `${user}-password` }),
  });
  if (res.status !== 200) throw new Error(`login as ${user}: ${res.status} ${await res.text()}`);
  return (await json<{ token: string }>(res)).token;
}
