import { sendJson, serve } from '../shared/service.js';

interface Product {
  sku: string;
  name: string;
  /** In cents. */
  price: number;
}

const products: Product[] = [
  { sku: 'tea-green', name: 'Green tea, 100 g', price: 650 },
  { sku: 'tea-black', name: 'Black tea, 100 g', price: 550 },
  { sku: 'mug-blue', name: 'Blue mug', price: 1200 },
  { sku: 'kettle', name: 'Kettle', price: 3900 },
];
// Shared caches (the gateway) may keep these for 30 s, then serve stale while revalidating.
const cacheControl = { 'cache-control': 'public, max-age=30, stale-while-revalidate=60' };

serve({
  name: 'catalog',
  route: async (req, res, url) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    if (url.pathname === '/api/products' || url.pathname === '/api/products/') {
      sendJson(res, 200, products, cacheControl);
      return '/api/products';
    }
    const match = /^\/api\/products\/([\w-]+)$/.exec(url.pathname);
    if (match === null) return false;
    const product = products.find((p) => p.sku === match[1]);
    if (product === undefined) sendJson(res, 404, { title: 'no such product' });
    else sendJson(res, 200, product, cacheControl);
    return '/api/products/:sku';
  },
});
