import { type Fault, postFault } from '../runtime/fault-client.js';
import { deadLettersAt, searchDeadLetters } from './dead-letters.js';
import type { DashboardSources } from './sources.js';

export interface ActionResult {
  ok: boolean;
  message: string;
}

/**
 * One action from the page, already authorised: `restart` (kills an instance, which the
 * supervisor restarts), `fault` (the service's `POST /fault`, as `sluice fault` does),
 * `dlq/replay` and `dlq/delete` (chosen ids, or every dead letter matching a search).
 */
export async function runAction(
  name: string,
  form: URLSearchParams,
  sources: DashboardSources,
): Promise<ActionResult> {
  try {
    switch (name) {
      case 'restart':
        return await restart(form, sources);
      case 'fault':
        return await fault(form, sources);
      case 'dlq/replay':
      case 'dlq/delete':
        return await deadLetterAction(name === 'dlq/replay' ? 'replay' : 'delete', form, sources);
      default:
        return { ok: false, message: `No action "${name}"` };
    }
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
}

async function restart(form: URLSearchParams, sources: DashboardSources): Promise<ActionResult> {
  const service = form.get('service') ?? '';
  const index = Number(form.get('instance') ?? '0');
  if (!Number.isInteger(index) || index < 0) return { ok: false, message: 'Bad instance number' };
  const killed = await sources.kill(service, index);
  return {
    ok: true,
    message: `Killed ${service}.${index} (pid ${killed.pid}); restart policy: ${killed.restart}`,
  };
}

async function fault(form: URLSearchParams, sources: DashboardSources): Promise<ActionResult> {
  const name = form.get('service') ?? '';
  const status = await sources.status();
  if (status === undefined) return { ok: false, message: 'The supervisor does not answer' };
  const service = Object.hasOwn(status.services, name) ? status.services[name] : undefined;
  if (service === undefined) return { ok: false, message: `No service "${name}"` };
  const wanted: Fault = {};
  if (form.get('clear') !== null)
    Object.assign(wanted, { latencyMs: 0, errorRate: 0, declineRate: 0 });
  const fields = [
    ['latencyMs', 'latency', 600_000],
    ['errorRate', 'errorRate', 1],
    ['declineRate', 'declineRate', 1],
  ] as const;
  for (const [key, field, most] of fields) {
    const text = form.get(field);
    if (text === null || text.trim() === '') continue;
    const value = Number(text);
    if (!Number.isFinite(value) || value < 0 || value > most) {
      return { ok: false, message: `${field} must be a number from 0 to ${most}` };
    }
    wanted[key] = value;
  }
  if (Object.keys(wanted).length === 0) return { ok: false, message: 'Nothing to change' };
  const answers: string[] = [];
  for (const instance of service.instances) {
    const label = service.instances.length > 1 ? `${name}.${instance.index}` : name;
    answers.push(`${label}: ${JSON.stringify(await postFault(label, instance, wanted))}`);
  }
  return { ok: true, message: `Fault set. ${answers.join('; ')}` };
}

async function deadLetterAction(
  verb: 'replay' | 'delete',
  form: URLSearchParams,
  sources: DashboardSources,
): Promise<ActionResult> {
  const broker = await sources.broker();
  if (broker === undefined) return { ok: false, message: 'The system declares no messaging' };
  const source = form.get('source') ?? '';
  const box = deadLettersAt(broker, source);
  if (box === undefined) return { ok: false, message: `No dead-letter queue "${source}"` };
  let ids = form.getAll('id').filter((id) => id !== '');
  if (form.get('all') !== null) {
    ids = (await searchDeadLetters(box, form.get('q') ?? undefined)).map((l) => l.id);
  }
  if (ids.length === 0) return { ok: false, message: 'Choose dead letters first' };
  const count = verb === 'replay' ? await box.replay({ ids }) : await box.purge({ ids });
  const done = verb === 'replay' ? 'replayed' : 'deleted';
  return {
    ok: true,
    message: `${count} dead letter${count === 1 ? '' : 's'} ${done} from ${source}`,
  };
}
