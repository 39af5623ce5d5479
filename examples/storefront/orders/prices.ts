import { injectContext } from 'sluice/observe';
import type { OrderMessage } from '../shared/env.js';

/** The catalog could not be asked for prices: the order cannot be priced right now. */
export class CatalogUnavailableError extends Error {
  override readonly name = 'CatalogUnavailableError';
}

type Prices = ReadonlyMap<string, number>;

/**
 * Product prices (in cents) from the catalog's `GET /api/products`, reused for as long as
 * the catalog's own Cache-Control lets a shared cache keep them (30 s); concurrent orders
 * share one request.
 */
export function catalogPrices(catalogUrl: string, maxAgeMs = 30_000): () => Promise<Prices> {
  let cached: { prices: Promise<Prices>; fetchedAt: number } | undefined;
  return () => {
    if (cached === undefined || Date.now() - cached.fetchedAt > maxAgeMs) {
      const prices = fetchPrices(catalogUrl);
      const entry = { prices, fetchedAt: Date.now() };
      cached = entry;
      prices.catch(() => {
        if (cached === entry) cached = undefined;
      });
    }
    return cached.prices;
  };
}

async function fetchPrices(catalogUrl: string): Promise<Prices> {
  let products: { sku: string; price: number }[];
  try {
    const res = await fetch(new URL('/api/products', catalogUrl), {
      headers: injectContext({}),
      signal: AbortSignal.timeout(2_000),
    });
    if (!res.ok) throw new Error(`catalog answered ${res.status}`);
    products = (await res.json()) as typeof products;
  } catch (error) {
    throw new CatalogUnavailableError(`cannot read prices from the catalog: ${String(error)}`, {
      cause: error,
    });
  }
  return new Map(products.map((p) => [p.sku, p.price]));
}

/** The sum of price × qty, or the first SKU the catalog does not sell. */
export function orderTotal(
  items: OrderMessage['items'],
  prices: Prices,
): { total: number } | { unknownSku: string } {
  let total = 0;
  for (const item of items) {
    const price = prices.get(item.sku);
    if (price === undefined) return { unknownSku: item.sku };
    total += price * item.qty;
  }
  return { total };
}
