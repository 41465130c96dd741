// Usage route: GPU-hours, jobs and queue waits per user or project over a period, for everyone
// with a valid token (as the queue is); and the same GPU-hours in equal time buckets for charts.
// Invariant: `since` is refused (400 naming it) unless it lies between the epoch and now, as a
// duration of at most MAX_SINCE_DAYS or an ISO date, so no time here leaves Date's range.

import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { summarizeUsage } from '../../core/accounting.js';
import { StintError } from '../../core/errors.js';
import { parseDuration } from '../../core/spec/quantities.js';
import { ErrorBodySchema, UsageQuerySchema, UsageReportSchema, UsageSeriesQuerySchema, UsageSeriesSchema } from '../../api/schemas.js';
import type { ServerResources } from '../resources.js';

const DEFAULT_SINCE = '30d';
const DEFAULT_BUCKETS = 30;
/** Ten years back is further than any lab keeps attempts. */
const MAX_SINCE_DAYS = 3650;
const SINCE_ACCEPTED = `a duration of at most ${MAX_SINCE_DAYS}d (30d, 12h, 90m) or an ISO date from 1970-01-01 to now (2026-11-01)`;

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
  if (seconds !== null && seconds <= MAX_SINCE_DAYS * 86400) return now - seconds * 1000;
  const date = seconds === null && /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : NaN;
  if (Number.isFinite(date) && date >= 0 && date <= now) return date;
  const shown = text.length > 40 ? `${text.slice(0, 37)}...` : text;
  throw new StintError('INVALID_REQUEST', `since: "${shown}" is not ${SINCE_ACCEPTED}`, { field: 'since', value: shown, accepted: SINCE_ACCEPTED });
}
