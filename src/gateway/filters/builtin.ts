import type { FilterFactory } from '../compile.js';
import type { FilterName } from '../config.js';
import { authFilter } from './auth.js';
import { cacheFilter } from './cache.js';
import { corsFilter } from './cors.js';
import { headersFilter } from './headers.js';
import { rateLimitFilter } from './rate-limit.js';
import { resilienceFilter } from './resilience.js';
import { shapingFilter } from './shaping.js';
import { tracingFilter } from './tracing.js';

/** The filters every gateway has, by the name routes use in `filters:`. */
export function builtinFilters(): Partial<Record<FilterName, FilterFactory>> {
  return {
    auth: authFilter,
    cache: cacheFilter,
    cors: corsFilter,
    headers: headersFilter,
    rateLimit: rateLimitFilter,
    resilience: resilienceFilter,
    shaping: shapingFilter,
    tracing: tracingFilter,
  };
}
