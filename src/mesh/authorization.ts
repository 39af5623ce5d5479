import type { AuthorizationConfig, AuthorizationRuleConfig } from './policy.js';

export interface Decision {
  readonly allowed: boolean;
  /** The deciding rule's name, or `default` when no rule matched. */
  readonly rule: string;
}

interface CompiledRule {
  readonly name: string;
  readonly allow: boolean;
  readonly from: ReadonlySet<string> | null;
  readonly methods: ReadonlySet<string> | null;
  readonly path: string | undefined;
  readonly prefix: string | undefined;
  /** Higher wins: source exactness, then path exactness (longer prefixes first), then methods. */
  readonly rank: readonly number[];
}

function compileRule(rule: AuthorizationRuleConfig): CompiledRule {
  const anySource = rule.from.includes('*');
  const anyMethod = rule.methods === undefined || rule.methods.includes('*');
  const pathRank = rule.path !== undefined ? 3 : rule.pathPrefix !== undefined ? 2 : 1;
  return {
    name: rule.name,
    allow: rule.action === 'allow',
    from: anySource ? null : new Set(rule.from),
    methods: anyMethod ? null : new Set(rule.methods),
    path: rule.path,
    prefix: rule.pathPrefix,
    rank: [anySource ? 1 : 2, pathRank, rule.pathPrefix?.length ?? 0, anyMethod ? 1 : 2],
  };
}

function compare(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/**
 * Who may call this service, decided like Consul's intentions: of the rules that match the
 * caller, method and path, the most precise wins (an exact caller before `*`, an exact path
 * before a prefix, a longer prefix before a shorter one, before no path; listed methods
 * before any); at equal precision a deny wins. No match falls to the default, allow unless
 * the policy says `default: deny`.
 */
export class Authorizer {
  readonly #rules: readonly CompiledRule[];
  readonly #defaultAllow: boolean;

  constructor(config: AuthorizationConfig) {
    this.#rules = (config.rules ?? []).map(compileRule);
    this.#defaultAllow = (config.default ?? 'allow') === 'allow';
  }

  /** `caller` is the calling service's name; undefined for an identity of another shape. */
  decide(caller: string | undefined, method: string, path: string): Decision {
    let best: CompiledRule | undefined;
    for (const rule of this.#rules) {
      if (rule.from !== null && (caller === undefined || !rule.from.has(caller))) continue;
      if (rule.methods !== null && !rule.methods.has(method)) continue;
      if (rule.path !== undefined && path !== rule.path) continue;
      if (rule.prefix !== undefined && !path.startsWith(rule.prefix)) continue;
      if (best === undefined) {
        best = rule;
        continue;
      }
      const order = compare(rule.rank, best.rank);
      if (order > 0 || (order === 0 && !rule.allow && best.allow)) best = rule;
    }
    if (best === undefined) return { allowed: this.#defaultAllow, rule: 'default' };
    return { allowed: best.allow, rule: best.name };
  }
}
