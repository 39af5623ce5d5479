import { parsePrometheusText } from './prometheus-text.js';
import type { TelemetryStore } from './store.js';

export interface ScrapeTarget {
  /** The full `/metrics` URL. */
  url: string;
  /** Added to every sample: at least `service`, and `instance` for a service instance. */
  labels: Record<string, string>;
}

export interface ScraperOptions {
  store: TelemetryStore;
  /** Asked before every round: instances come and go. */
  targets: () => ScrapeTarget[];
  /** Per target. Default 5 s. */
  timeoutMs?: number;
}

/**
 * One scrape round: reads every target's `/metrics` into the store, plus an `up` sample
 * per target (1 scraped, 0 not), as Prometheus records it.
 */
export async function scrapeOnce(options: ScraperOptions, now = Date.now()): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 5000;
  await Promise.all(
    options.targets().map(async (target) => {
      let up = 0;
      try {
        const response = await fetch(target.url, { signal: AbortSignal.timeout(timeoutMs) });
        const text = await response.text();
        if (response.ok) {
          options.store.addSamples(parsePrometheusText(text, now, target.labels));
          up = 1;
        }
      } catch {
        // Counted as down below.
      }
      options.store.addSamples([{ name: 'up', labels: target.labels, timeMs: now, value: up }]);
    }),
  );
}
