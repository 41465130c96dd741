// The observability part of the store, on the same database as the jobs: drained GPUs and nodes,
// health events, per-job GPU telemetry, idle-GPU policies, users' alert webhooks, and the cheap
// counts /metrics reads at scrape time. One Kysely implementation serves SQLite and PostgreSQL.
// Invariants: a drain is keyed by (backend, node, GPU) with GPU -1 for the whole node, so draining
// twice keeps one row; a job's telemetry is one row per attempt, replaced whole (bounded size);
// counting active jobs reads only the active rows (the jobs_state index), never the finished ones.

import type { Kysely } from 'kysely';
import type { JobState } from '../core/job-state.js';
import type { Database as Schema } from './schema.js';

export interface GpuDrain {
  backend: string;
  node: string;
  /** null: the whole node. */
  gpuIndex: number | null;
  reason: string;
  /** 'admin' (by hand) or 'health' (an automatic check). */
  source: string;
  at: number;
}

export interface HealthEvent {
  id: number;
  at: number;
  backend: string;
  node: string;
  gpuIndex: number | null;
  /** drain, resume, gpu_missing, xid, ecc, health_command, disk_full, requeued, failed. */
  kind: string;
  detail: string;
}

/** One downsampled point: mean utilisation (0..1) and memory of the job's GPUs over `seconds`. */
export interface TelemetryPoint {
  at: number;
  seconds: number;
  utilization: number;
  memoryUsedMb: number;
}

export interface JobTelemetry {
  jobId: number;
  attempt: number;
  updatedAt: number;
  series: TelemetryPoint[];
  /** GPU-seconds observed, and those below the idle threshold. */
  gpuSeconds: number;
  idleGpuSeconds: number;
}

export interface IdlePolicy {
  /** A project's name, or '*' for the server-wide default. */
  project: string;
  thresholdPercent: number;
  warnAfterSeconds: number;
  /** null: warn only, never stop. */
  stopAfterSeconds: number | null;
  /** Which jobs it watches: interactive ones only (default), or every job. */
  appliesTo: 'interactive' | 'all';
}

export interface Webhook {
  user: string;
  url: string;
  format: 'json' | 'slack';
}

export interface IdleUsage {
  owner: string;
  project: string | null;
  gpuSeconds: number;
  idleGpuSeconds: number;
}

export interface ObservabilityStore {
  /** Jobs per (state, project) among the given states; cost follows those rows only. */
  countJobsByState(states: readonly JobState[]): Promise<Array<{ state: JobState; project: string | null; count: number }>>;
  listDrains(): Promise<GpuDrain[]>;
  setDrain(drain: GpuDrain): Promise<void>;
  /** Removes a drain; false if there was none. */
  clearDrain(backend: string, node: string, gpuIndex: number | null): Promise<boolean>;
  addHealthEvent(event: Omit<HealthEvent, 'id'>): Promise<void>;
  /** The newest events first. */
  listHealthEvents(limit: number): Promise<HealthEvent[]>;
  saveTelemetry(telemetry: JobTelemetry): Promise<void>;
  listTelemetry(jobId: number): Promise<JobTelemetry[]>;
  /** Observed and idle GPU-seconds per owner and project, of telemetry updated since then. */
  idleUsageSince(sinceMs: number): Promise<IdleUsage[]>;
  listIdlePolicies(): Promise<IdlePolicy[]>;
  setIdlePolicy(policy: IdlePolicy): Promise<void>;
  removeIdlePolicy(project: string): Promise<boolean>;
  getWebhook(user: string): Promise<Webhook | null>;
  setWebhook(webhook: Webhook): Promise<void>;
  removeWebhook(user: string): Promise<boolean>;
  countWebhooks(): Promise<number>;
}

const NODE = -1;

export class KyselyObservabilityStore implements ObservabilityStore {
  constructor(private readonly db: Kysely<Schema>) {}

  async countJobsByState(states: readonly JobState[]): Promise<Array<{ state: JobState; project: string | null; count: number }>> {
    if (states.length === 0) return [];
    const rows = await this.db
      .selectFrom('jobs')
      .select(['state', 'project', (eb) => eb.fn.countAll<number>().as('n')])
      .where('state', 'in', [...states])
      .groupBy(['state', 'project'])
      .execute();
    return rows.map((r) => ({ state: r.state as JobState, project: r.project, count: Number(r.n) }));
  }

  async listDrains(): Promise<GpuDrain[]> {
    const rows = await this.db.selectFrom('gpu_drains').selectAll().orderBy('backend').orderBy('node').orderBy('gpu_index').execute();
    return rows.map((r) => ({ backend: r.backend, node: r.node, gpuIndex: r.gpu_index === NODE ? null : r.gpu_index, reason: r.reason, source: r.source, at: Number(r.at) }));
  }

  async setDrain(drain: GpuDrain): Promise<void> {
    const values = { reason: drain.reason, source: drain.source, at: drain.at };
    await this.db
      .insertInto('gpu_drains')
      .values({ backend: drain.backend, node: drain.node, gpu_index: drain.gpuIndex ?? NODE, ...values })
      .onConflict((oc) => oc.columns(['backend', 'node', 'gpu_index']).doUpdateSet(values))
      .execute();
  }

  async clearDrain(backend: string, node: string, gpuIndex: number | null): Promise<boolean> {
    const result = await this.db
      .deleteFrom('gpu_drains')
      .where('backend', '=', backend)
      .where('node', '=', node)
      .where('gpu_index', '=', gpuIndex ?? NODE)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async addHealthEvent(event: Omit<HealthEvent, 'id'>): Promise<void> {
    await this.db
      .insertInto('health_events')
      .values({ at: event.at, backend: event.backend, node: event.node, gpu_index: event.gpuIndex, kind: event.kind, detail: event.detail })
      .execute();
  }

  async listHealthEvents(limit: number): Promise<HealthEvent[]> {
    const rows = await this.db.selectFrom('health_events').selectAll().orderBy('id', 'desc').limit(limit).execute();
    return rows.map((r) => ({ id: Number(r.id), at: Number(r.at), backend: r.backend, node: r.node, gpuIndex: r.gpu_index, kind: r.kind, detail: r.detail }));
  }

  async saveTelemetry(t: JobTelemetry): Promise<void> {
    const values = { updated_at: t.updatedAt, series: JSON.stringify(t.series), gpu_seconds: t.gpuSeconds, idle_gpu_seconds: t.idleGpuSeconds };
    await this.db
      .insertInto('job_telemetry')
      .values({ job_id: t.jobId, attempt: t.attempt, ...values })
      .onConflict((oc) => oc.columns(['job_id', 'attempt']).doUpdateSet(values))
      .execute();
  }

  async listTelemetry(jobId: number): Promise<JobTelemetry[]> {
    const rows = await this.db.selectFrom('job_telemetry').selectAll().where('job_id', '=', jobId).orderBy('attempt').execute();
    return rows.map((r) => ({
      jobId: Number(r.job_id),
      attempt: r.attempt,
      updatedAt: Number(r.updated_at),
      series: JSON.parse(r.series) as TelemetryPoint[],
      gpuSeconds: Number(r.gpu_seconds),
      idleGpuSeconds: Number(r.idle_gpu_seconds),
    }));
  }

  async idleUsageSince(sinceMs: number): Promise<IdleUsage[]> {
    const rows = await this.db
      .selectFrom('job_telemetry')
      .innerJoin('jobs', 'jobs.id', 'job_telemetry.job_id')
      .select(['jobs.owner', 'jobs.project', (eb) => eb.fn.sum<number>('job_telemetry.gpu_seconds').as('gpu'), (eb) => eb.fn.sum<number>('job_telemetry.idle_gpu_seconds').as('idle')])
      .where('job_telemetry.updated_at', '>=', sinceMs)
      .groupBy(['jobs.owner', 'jobs.project'])
      .execute();
    return rows.map((r) => ({ owner: r.owner, project: r.project, gpuSeconds: Number(r.gpu), idleGpuSeconds: Number(r.idle) }));
  }

  async listIdlePolicies(): Promise<IdlePolicy[]> {
    const rows = await this.db.selectFrom('idle_policies').selectAll().orderBy('project').execute();
    return rows.map((r) => ({
      project: r.project,
      thresholdPercent: Number(r.threshold_percent),
      warnAfterSeconds: r.warn_after_seconds,
      stopAfterSeconds: r.stop_after_seconds,
      appliesTo: r.applies_to === 'all' ? 'all' : 'interactive',
    }));
  }

  async setIdlePolicy(p: IdlePolicy): Promise<void> {
    const values = { threshold_percent: p.thresholdPercent, warn_after_seconds: p.warnAfterSeconds, stop_after_seconds: p.stopAfterSeconds, applies_to: p.appliesTo };
    await this.db
      .insertInto('idle_policies')
      .values({ project: p.project, ...values })
      .onConflict((oc) => oc.column('project').doUpdateSet(values))
      .execute();
  }

  async removeIdlePolicy(project: string): Promise<boolean> {
    const result = await this.db.deleteFrom('idle_policies').where('project', '=', project).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async getWebhook(user: string): Promise<Webhook | null> {
    const row = await this.db.selectFrom('webhooks').selectAll().where('user_name', '=', user).executeTakeFirst();
    return row ? { user: row.user_name, url: row.url, format: row.format === 'slack' ? 'slack' : 'json' } : null;
  }

  async setWebhook(w: Webhook): Promise<void> {
    await this.db
      .insertInto('webhooks')
      .values({ user_name: w.user, url: w.url, format: w.format })
      .onConflict((oc) => oc.column('user_name').doUpdateSet({ url: w.url, format: w.format }))
      .execute();
  }

  async countWebhooks(): Promise<number> {
    const row = await this.db.selectFrom('webhooks').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async removeWebhook(user: string): Promise<boolean> {
    const result = await this.db.deleteFrom('webhooks').where('user_name', '=', user).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}
