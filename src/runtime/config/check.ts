import { LineCounter, parseDocument } from 'yaml';
import { locate } from '../../core/config/locate.js';
import type { ConfigProblem, PathSegment } from '../../core/index.js';
import { splitCommand } from '../command.js';
import { meshProblems } from './mesh-check.js';
import { walk } from './order.js';

/** A problem spanning several services, found after the schema passed. */
export interface SystemProblem {
  segments: PathSegment[];
  message: string;
}

interface Checked {
  services?: Record<
    string,
    { command: string; upstreams?: string[]; port?: number; instances?: number }
  >;
}

const maxPort = 65_535;

/** Unknown upstreams, dependency cycles, overlapping instance ports, unsplittable commands. */
export function checkSystem(config: Checked): SystemProblem[] {
  const services = config.services ?? {};
  const names = Object.keys(services);
  const problems: SystemProblem[] = [];

  for (const [name, service] of Object.entries(services)) {
    try {
      splitCommand(service.command);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      problems.push({ segments: ['services', name, 'command'], message });
    }
    (service.upstreams ?? []).forEach((upstream, index) => {
      if (Object.hasOwn(services, upstream)) return;
      const known = names.length === 0 ? 'none declared' : `declared: ${names.join(', ')}`;
      problems.push({
        segments: ['services', name, 'upstreams', index],
        message: `unknown service "${upstream}" (${known})`,
      });
    });
  }
  for (const cycle of walk(services).cycles) {
    problems.push({
      segments: ['services', cycle.from, 'upstreams', cycle.index],
      message: `dependency cycle: ${cycle.path.join(' → ')}`,
    });
  }
  problems.push(...portProblems(services), ...meshProblems(config));
  return problems;
}

function portProblems(services: NonNullable<Checked['services']>): SystemProblem[] {
  const problems: SystemProblem[] = [];
  const taken: { name: string; first: number; last: number }[] = [];
  for (const [name, service] of Object.entries(services)) {
    if (service.port === undefined || service.port === 0) continue;
    const first = service.port;
    const last = first + (service.instances ?? 1) - 1;
    const segments = ['services', name, 'port'];
    const range = first === last ? `port ${first}` : `ports ${first}-${last}`;
    if (last > maxPort) {
      problems.push({ segments, message: `${range} for its instances go past ${maxPort}` });
    }
    const clash = taken.find((t) => first <= t.last && t.first <= last);
    if (clash !== undefined) {
      problems.push({
        segments,
        message: `${range} overlap those of "${clash.name}" (${clash.first}-${clash.last})`,
      });
    }
    taken.push({ name, first, last });
  }
  return problems;
}

/** Gives each problem the line, column and formatted path of its key in `text`. */
export function positioned(
  text: string,
  file: string,
  problems: readonly SystemProblem[],
): ConfigProblem[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  return problems
    .map(({ segments, message }) => ({ file, ...locate(doc, lines, segments), message }))
    .sort((a, b) => a.line - b.line || a.column - b.column);
}
