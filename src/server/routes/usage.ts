// Usage route: GPU-hours, jobs and queue waits per user or project over a period, for everyone
// with a valid token (as the queue is).

import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { summarizeUsage } from '../../core/accounting.js';
import { StintError } from '../../core/errors.js';
import { parseDuration } from '../../core/spec/quantities.js';
import { ErrorBodySchema, UsageQuerySchema, UsageReportSchema } from '../../api/schemas.js';
import type { ServerResources } from '../resources.js';

const DEFAULT_SINCE = '30d';

export function registerUsageRoutes(app: FastifyInstance, res: ServerResources): void {
  app.withTypeProvider<ZodTypeProvider>().get('/api/v1/usage', {
    schema: { summary: 'GPU-hours, jobs and waits per user or project since a time', querystring: UsageQuerySchema, response: { 200: UsageReportSchema, 400: ErrorBodySchema } },
  }, async (request) => {
    const until = res.clock.now();
    const since = parseSince(request.query.since ?? DEFAULT_SINCE, until);
    const by = request.query.by ?? 'user';
    const rows = summarizeUsage(await res.store.listAttemptRecordsSince(since), by, since, until);
    return { by, since: new Date(since).toISOString(), until: new Date(until).toISOString(), rows };
  });
}

function parseSince(text: string, now: number): number {
  const seconds = parseDuration(text);
  if (seconds !== null) return now - seconds * 1000;
  const date = Date.parse(text);
  if (Number.isFinite(date) && /^\d{4}-\d{2}-\d{2}/.test(text)) return date;
  throw new StintError('INVALID_REQUEST', `since: "${text}" is not a duration (30d, 12h, 90m) or an ISO date (2026-11-01)`, { field: 'since', value: text });
}
