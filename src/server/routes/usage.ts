// Usage route: GPU-hours, jobs and queue waits per user or project over a period, for everyone
// with a valid token (as the queue is); and the same GPU-hours in equal time buckets for charts.

import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { summarizeUsage } from '../../core/accounting.js';
import { StintError } from '../../core/errors.js';
import { parseDuration } from '../../core/spec/quantities.js';
import { ErrorBodySchema, UsageQuerySchema, UsageReportSchema, UsageSeriesQuerySchema, UsageSeriesSchema } from '../../api/schemas.js';
import type { ServerResources } from '../resources.js';

const DEFAULT_SINCE = '30d';
const DEFAULT_BUCKETS = 30;

export function registerUsageRoutes(app: FastifyInstance, res: ServerResources): void {
  app.withTypeProvider<ZodTypeProvider>().get('/api/v1/usage', {
    schema: { summary: 'GPU-hours, jobs and waits per user or project since a time', querystring: UsageQuerySchema, response: { 200: UsageReportSchema, 400: ErrorBodySchema } },
  }, async (request) => {
    const until = res.clock.now();
    const since = parseSince(request.query.since ?? DEFAULT_SINCE, until);
    const by = request.query.by ?? 'user';
    const rows = summarizeUsage(await res.store.listAttemptRecordsSince(since), by, since, until);
    // Idle GPU-hours from GPU telemetry (src/telemetry), per owner or project of the sampled jobs.
    const idle = new Map<string, number>();
    for (const u of await res.store.observability.idleUsageSince(since)) {
      const name = by === 'user' ? u.owner : (u.project ?? '(none)');
      idle.set(name, (idle.get(name) ?? 0) + u.idleGpuSeconds / 3600);
    }
    const withIdle = rows.map((row) => ({ ...row, idleGpuHours: idle.get(row.name) ?? 0 }));
    return { by, since: new Date(since).toISOString(), until: new Date(until).toISOString(), rows: withIdle };
  });

  app.withTypeProvider<ZodTypeProvider>().get('/api/v1/usage/series', {
    schema: { summary: 'GPU-hours per user or project in equal time buckets (for charts)', querystring: UsageSeriesQuerySchema, response: { 200: UsageSeriesSchema, 400: ErrorBodySchema } },
  }, async (request) => {
    const until = res.clock.now();
    const since = parseSince(request.query.since ?? DEFAULT_SINCE, until);
    const by = request.query.by ?? 'user';
    const count = request.query.buckets ?? DEFAULT_BUCKETS;
    const records = await res.store.listAttemptRecordsSince(since);
    const step = Math.max(1, (until - since) / count);
    const starts = Array.from({ length: count }, (_, i) => since + i * step);
    const series = new Map<string, number[]>();
    starts.forEach((start, i) => {
      for (const row of summarizeUsage(records, by, start, start + step)) {
        let values = series.get(row.name);
        if (!values) series.set(row.name, (values = new Array<number>(count).fill(0)));
        values[i] = row.gpuHours;
      }
    });
    return {
      by, since: new Date(since).toISOString(), until: new Date(until).toISOString(), bucketSeconds: step / 1000,
      starts: starts.map((t) => new Date(t).toISOString()),
      series: [...series].sort(([a], [b]) => a.localeCompare(b)).map(([name, gpuHours]) => ({ name, gpuHours })),
    };
  });
}

function parseSince(text: string, now: number): number {
  const seconds = parseDuration(text);
  if (seconds !== null) return now - seconds * 1000;
  const date = Date.parse(text);
  if (Number.isFinite(date) && /^\d{4}-\d{2}-\d{2}/.test(text)) return date;
  throw new StintError('INVALID_REQUEST', `since: "${text}" is not a duration (30d, 12h, 90m) or an ISO date (2026-11-01)`, { field: 'since', value: text });
}
