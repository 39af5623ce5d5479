import type { IncomingMessage } from 'node:http';
import { problemResponse } from '../gateway/problem.js';
import { send } from '../gateway/respond.js';
import type { GatewayResponse } from '../gateway/types.js';
import { HttpListener } from './http-listener.js';
import type { InstanceInfo } from './instance.js';
import type { RestartPolicy } from './plan.js';

/** What `GET /system` answers: every service, in start order. */
export interface SystemStatus {
  services: Record<string, ServiceStatus>;
}

export interface ServiceStatus {
  /** Where callers reach the service: its own round-robin proxy when it has several instances. */
  url: string | undefined;
  restart: RestartPolicy;
  instances: InstanceInfo[];
}

/** What `POST /services/:name/instances/:index/kill` answers. */
export interface KilledInstance {
  service: string;
  index: number;
  pid: number;
  /** What the supervisor does next: restarts it unless the policy is `never`. */
  restart: RestartPolicy;
}

/** What the control API reads and acts on. */
export interface ControlledSystem {
  status(): SystemStatus;
  /** SIGKILL to one instance's process; its pid, or undefined when none is running. */
  kill(service: string, index: number): number | undefined;
}

export interface ControlServerOptions {
  /** 0 takes any free port. */
  port: number;
  system: ControlledSystem;
}

// It takes no token, so it never listens beyond this host.
const host = '127.0.0.1';
const loopbackHost = /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/;
const killPath = /^\/services\/([^/]+)\/instances\/(\d+)\/kill$/;

/**
 * The supervisor's control API, for tools such as `sluice fault`: `GET /system` shows every
 * service and instance (pid, port, state, restarts); `POST /services/:name/instances/:i/kill`
 * SIGKILLs one instance, which the restart policy then brings back.
 */
export class ControlServer extends HttpListener {
  constructor(options: ControlServerOptions) {
    const { system } = options;
    super({
      name: 'control',
      host,
      port: options.port,
      handler: (req, res) => send(res, answer(system, req)),
    });
  }

  get url(): string | undefined {
    return this.origin;
  }
}

function answer(system: ControlledSystem, req: IncomingMessage): GatewayResponse {
  // Loopback alone does not keep out a web page the user has open: it may send a
  // cross-site POST here, or reach this port under its own name after DNS rebinding.
  // Browsers mark both (Origin, a foreign Host); local tools send neither.
  if (req.headers.origin !== undefined || !loopbackHost.test(req.headers.host ?? '')) {
    return problemResponse(403, 'forbidden', 'The control API answers local tools only');
  }
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (path === '/system') {
    return req.method === 'GET' ? json(200, system.status()) : methodNotAllowed('GET');
  }
  const kill = killPath.exec(path);
  if (kill !== null) {
    if (req.method !== 'POST') return methodNotAllowed('POST');
    return killOne(system, decodeURIComponent(kill[1]!), Number(kill[2]));
  }
  return problemResponse(404, 'not-found', 'The control API serves GET /system and POST …/kill');
}

function killOne(system: ControlledSystem, name: string, index: number): GatewayResponse {
  const { services } = system.status();
  const service = Object.hasOwn(services, name) ? services[name] : undefined;
  if (service === undefined) {
    const known = Object.keys(services).join(', ') || 'none';
    return problemResponse(404, 'no-such-service', `No service "${name}" (running: ${known})`);
  }
  const instance = service.instances[index];
  if (instance === undefined) {
    const indexes = service.instances.map((i) => i.index).join(', ');
    const detail = `${name} has no instance ${index} (its instances: ${indexes})`;
    return problemResponse(404, 'no-such-instance', detail);
  }
  const pid = system.kill(name, index);
  if (pid === undefined) {
    const detail = `${name}.${index} has no process to kill (state: ${instance.state})`;
    return problemResponse(409, 'not-running', detail);
  }
  const killed: KilledInstance = { service: name, index, pid, restart: service.restart };
  return json(200, killed);
}

function json(status: number, value: unknown): GatewayResponse {
  const body = JSON.stringify(value);
  const headers = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  };
  return { status, headers, body };
}

function methodNotAllowed(allowed: string): GatewayResponse {
  return problemResponse(405, 'method-not-allowed', `Use ${allowed}`, { allow: allowed });
}
