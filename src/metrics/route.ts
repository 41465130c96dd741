// GET /metrics in Prometheus text format. Open by default (Prometheus scrapes without a token, as
// node_exporter and DCGM exporter do; the series carry user and project names but no secret);
// with a metrics token (--metrics-token-file), only `Authorization: Bearer <that token>` is
// answered, and wrong guesses are limited per client address like bad API tokens. Accepted
// submissions are counted here, from the answers of POST /api/v1/jobs (201 = a job was created).

import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { systemClock } from '../core/clock.js';
import { StintError } from '../core/errors.js';
import { FailureLimiter } from '../server/failure-limiter.js';
import type { StintMetrics } from './metrics.js';

export function registerMetricsRoute(app: FastifyInstance, metrics: StintMetrics, token: string | undefined, limiter = new FailureLimiter(systemClock)): void {
  app.addHook('onResponse', async (request, reply) => {
    if (request.method === 'POST' && reply.statusCode === 201 && request.routeOptions.url === '/api/v1/jobs') metrics.submitted();
  });
  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    if (token !== undefined) {
      limiter.assertAllowed(request.ip);
      if (!sameToken(request.headers.authorization, token)) {
        limiter.failed(request.ip);
        throw new StintError('UNAUTHORIZED', '/metrics needs the metrics token (--metrics-token-file or STINT_METRICS_TOKEN): send Authorization: Bearer <token>');
      }
    }
    const text = await metrics.text();
    return reply.header('content-type', metrics.registry.contentType).send(text);
  });
}

function sameToken(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header?.replace(/^Bearer\s+/i, '') ?? '');
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}
