import type { Html } from './html.js';
import type { DashboardSources } from './sources.js';

/** What a page renders from: the sources, the query string, the time of the request. */
export interface PageContext {
  sources: DashboardSources;
  query: URLSearchParams;
  now: number;
}

/** A page: its content, and the part of it refreshed at each tick of the stream. */
export interface Page {
  /** Everything after the document's head (`documentBody`), sent once the figures are read. */
  full(context: PageContext): Promise<Html>;
  live(context: PageContext): Promise<Html>;
  /** Other parts fetched on their own, at `/<page>/<part>`. */
  parts?: Record<string, (context: PageContext) => Promise<Html>>;
  /** The page draws uPlot charts: only then does it load uPlot. */
  charts?: boolean;
}

/** A query parameter, or undefined when absent or empty. */
export function param(query: URLSearchParams, name: string): string | undefined {
  const value = query.get(name)?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** A non-negative number parameter, or undefined. */
export function numberParam(query: URLSearchParams, name: string): number | undefined {
  const text = param(query, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  return Number.isFinite(value) && value >= 0 ? value : undefined;
}
