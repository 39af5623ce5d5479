import { LineCounter, parseDocument } from 'yaml';
import { locate } from '../../core/config/locate.js';
import { problemsOf } from '../../core/config/options.js';
import {
  type ConfigProblem,
  closestName,
  formatPath,
  type PathProblem,
  type SchemaObject,
} from '../../core/index.js';
import { natsOptionsSchema } from '../../messaging/drivers/nats/options.js';
import { postgresOptionsSchema } from '../../messaging/drivers/postgres/options.js';
import { rabbitOptionsSchema } from '../../messaging/drivers/rabbitmq/options.js';
import { redisOptionsSchema } from '../../messaging/drivers/redis/options.js';
import { splitCommand } from '../command.js';
import { meshProblems } from './mesh-check.js';
import { walk } from './order.js';
import { declaredPorts, portRange } from './ports.js';
import { asRecord, stringsOf } from './read.js';
import { messagingPrefix } from './schema.js';

/**
 * What the schema cannot see: references between sections (a route's upstream, a service's
 * upstreams and policies), dependency cycles, ports claimed twice, unsplittable commands.
 * Runs beside the schema on any value, so every problem of a file is reported at once.
 */
export function checkSystem(value: unknown): PathProblem[] {
  const config = asRecord(value) ?? {};
  const services = asRecord(config.services) ?? {};
  return [
    ...serviceProblems(services),
    ...routeProblems(asRecord(config.gateway), Object.keys(services)),
    ...portProblems(value),
    ...meshProblems(value),
    ...prefixProblems(asRecord(config.messaging)),
  ];
}

/** The driver option `messaging.prefix` becomes: the name prefix, PostgreSQL's schema. */
const prefixOptions: Record<string, [SchemaObject, string]> = {
  nats: [natsOptionsSchema, 'prefix'],
  redis: [redisOptionsSchema, 'prefix'],
  rabbitmq: [rabbitOptionsSchema, 'prefix'],
  postgres: [postgresOptionsSchema, 'schema'],
};

/** `messaging.prefix` as its driver will take it (NATS allows 32 characters, PostgreSQL 40). */
function prefixProblems(messaging: Record<string, unknown> | undefined): PathProblem[] {
  const prefix = messaging?.prefix;
  const option = prefixOptions[String(messaging?.driver)];
  // One the schema refuses already has its problem.
  if (option === undefined || problemsOf(messagingPrefix, prefix).length > 0) return [];
  const [schema, key] = option;
  return problemsOf(schema, { [key]: prefix }).map(({ message }) => ({
    segments: ['messaging', 'prefix'],
    message: `the ${String(messaging?.driver)} driver's ${key}: ${message}`,
  }));
}

/** `unknown service "paymnt" (did you mean "payment"? declared: auth, payment)`. */
function unknownName(kind: string, name: string, known: string[], where = ''): string {
  const close = closestName(name, known);
  const hint = close === undefined ? '' : `did you mean "${close}"? `;
  const declared = known.length === 0 ? 'none declared' : `declared${where}: ${known.join(', ')}`;
  return `unknown ${kind} "${name}" (${hint}${declared})`;
}

function serviceProblems(services: Record<string, unknown>): PathProblem[] {
  const names = Object.keys(services);
  const problems: PathProblem[] = [];
  const graph: Record<string, { upstreams: string[] }> = {};
  for (const [name, raw] of Object.entries(services)) {
    const service = asRecord(raw) ?? {};
    if (typeof service.command === 'string') {
      try {
        splitCommand(service.command);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        problems.push({ segments: ['services', name, 'command'], message });
      }
    }
    const upstreams = stringsOf(service.upstreams);
    graph[name] = { upstreams: upstreams.map(([upstream]) => upstream) };
    for (const [upstream, index] of upstreams) {
      if (Object.hasOwn(services, upstream)) continue;
      problems.push({
        segments: ['services', name, 'upstreams', index],
        message: unknownName('service', upstream, names),
      });
    }
    for (const target of Object.keys(asRecord(service.policies) ?? {})) {
      const segments = ['services', name, 'policies', target];
      if (!Object.hasOwn(services, target)) {
        problems.push({ segments, message: unknownName('service', target, names) });
      } else if (!graph[name]!.upstreams.includes(target)) {
        problems.push({
          segments,
          message: `"${target}" is not among the upstreams of "${name}": policies apply to calls to an upstream (add it to upstreams)`,
        });
      }
    }
  }
  for (const cycle of walk(graph).cycles) {
    problems.push({
      segments: ['services', cycle.from, 'upstreams', cycle.index],
      message: `dependency cycle: ${cycle.path.join(' → ')}`,
    });
  }
  return problems;
}

/** A route reaches an upstream of `gateway.upstreams`, a service of the file, or a URL. */
function routeProblems(
  gateway: Record<string, unknown> | undefined,
  services: string[],
): PathProblem[] {
  if (gateway === undefined || !Array.isArray(gateway.routes)) return [];
  const upstreams = Object.keys(asRecord(gateway.upstreams) ?? {});
  const known = [...new Set([...upstreams, ...services])];
  const problems: PathProblem[] = [];
  gateway.routes.forEach((raw, index) => {
    const upstream = asRecord(raw)?.upstream;
    if (typeof upstream !== 'string' || upstream === '') return;
    if (known.includes(upstream) || /^https?:\/\//.test(upstream)) return;
    const declared = unknownName('upstream', upstream, known, ' as gateway upstreams or services');
    problems.push({
      segments: ['gateway', 'routes', index, 'upstream'],
      message: `${declared}; a URL such as http://host:port works too`,
    });
  });
  return problems;
}

const maxPort = 65_535;

function portProblems(value: unknown): PathProblem[] {
  const problems: PathProblem[] = [];
  const ports = declaredPorts(value);
  ports.forEach((port, i) => {
    const range = portRange(port);
    if (port.last > maxPort) {
      problems.push({
        segments: port.segments,
        message: `${range} for its instances go past ${maxPort}`,
      });
    }
    const clash = ports.slice(0, i).find((t) => port.first <= t.last && t.first <= port.last);
    if (clash === undefined) return;
    problems.push({
      segments: port.segments,
      message: `${range} already taken by ${formatPath(clash.segments)} (${portRange(clash)})`,
    });
  });
  return problems;
}

/** Gives each problem (a warning, say) the line, column and formatted path of its key in `text`. */
export function positioned(
  text: string,
  file: string,
  problems: readonly PathProblem[],
): ConfigProblem[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  return problems
    .map(({ segments, message }) => ({ file, ...locate(doc, lines, segments), message }))
    .sort((a, b) => a.line - b.line || a.column - b.column);
}
