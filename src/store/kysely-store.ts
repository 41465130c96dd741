// The store's queries, written once for every SQL engine through Kysely. The adapters
// (sqlite/, postgres/) connect, migrate and say which error is a second hold on a GPU; everything
// else is here. Invariants: a transition is one transaction that changes the job only if it is
// still in the expected state and writes its event, attempt, handle and GPU holds with it; a GPU
// is held by at most one job (primary key on gpu_holds; a duplicate becomes StintError CONFLICT);
// a job, its exported environment and its idempotency key are written in one transaction (all or
// none); secret values and exported environments are written sealed when the store has a key
// (secret-box.ts); a job's exported environment is read only by getExportedEnv, never by a listing.

import { sql, type Kysely, type SelectQueryBuilder, type Transaction as KyselyTx } from 'kysely';
import type { AttemptRecord } from '../core/accounting.js';
import type { ProjectQuota, UserCaps } from '../core/quota/types.js';
import { StintError } from '../core/errors.js';
import type { JobState } from '../core/job-state.js';
import { toAttemptRow, toEventRow, toJobRow } from './rows.js';
import type { Database as Schema } from './schema.js';
import type { AttemptRow, EndedAttemptUsage, EventRow, GpuHold, IdempotencyRecord, JobFilter, JobRow, JobSortKey, NewJob, Store, Transition } from './types.js';
import type { UserStore } from './users.js';
import { PLAIN_SECRETS, type SecretBox } from './secret-box.js';
import { KyselyObservabilityStore, type ObservabilityStore } from './observability.js';
import { KyselyImageStore, type ImageStore } from './images.js';

export class KyselyStore implements Store {
  readonly observability: ObservabilityStore;
  readonly images: ImageStore;

  constructor(
    private readonly db: Kysely<Schema>,
    /** Whether a failed write was a second hold on a GPU (the dialect's unique-violation error). */
    private readonly isHoldConflict: (error: unknown) => boolean,
    readonly users: UserStore,
    /** Whether a failed write was a second use of a user's idempotency key (a unique violation). */
    private readonly isUniqueViolation: (error: unknown) => boolean = isHoldConflict,
    /** Seals secret values before they are written and opens them when read (secret-box.ts). */
    private readonly box: SecretBox = PLAIN_SECRETS,
  ) {
    this.observability = new KyselyObservabilityStore(db);
    this.images = new KyselyImageStore(db, isUniqueViolation);
  }

  async submitJob(job: NewJob): Promise<JobRow> {
    try {
      return await this.db.transaction().execute((trx) => insertJob(trx, job, this.box));
    } catch (error) {
      if (job.idempotency && this.isUniqueViolation(error)) {
        throw new StintError('CONFLICT', `Idempotency-Key ${job.idempotency.key} was used by a submission at the same moment`, { idempotencyKey: job.idempotency.key });
      }
      throw error;
    }
  }

  async findIdempotentJob(userId: number, key: string, sinceMs: number): Promise<{ jobId: number; requestHash: string } | null> {
    const row = await this.db
      .selectFrom('idempotency_keys')
      .select(['job_id', 'request_hash'])
      .where('user_id', '=', userId)
      .where('key', '=', key)
      .where('created_at', '>=', sinceMs)
      .executeTakeFirst();
    return row ? { jobId: row.job_id, requestHash: row.request_hash } : null;
  }

  async getJob(id: number): Promise<JobRow | null> {
    const row = await this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toJobRow(row, this.box) : null;
  }

  async getExportedEnv(jobId: number): Promise<Record<string, string>> {
    const row = await this.db.selectFrom('job_exported_env').select('env').where('job_id', '=', jobId).executeTakeFirst();
    return row ? (JSON.parse(this.box.open(row.env, jobId)) as Record<string, string>) : {};
  }

  async listJobs(filter: JobFilter = {}): Promise<JobRow[]> {
    // `IN ()` is valid SQLite but a syntax error in PostgreSQL.
    if (filter.states && filter.states.length === 0) return [];
    const sort = filter.sort ?? { key: 'id', dir: 'desc' };
    let query = whereJobFilter(this.db.selectFrom('jobs').selectAll(), filter).orderBy(SORT_COLUMNS[sort.key], sort.dir);
    if (sort.key !== 'id') query = query.orderBy('id', sort.dir);
    if (filter.limit !== undefined) query = query.limit(filter.limit);
    if (filter.offset !== undefined && filter.offset > 0) query = query.offset(filter.offset);
    return (await query.execute()).map((r) => toJobRow(r, this.box));
  }

  async countJobs(filter: JobFilter = {}): Promise<number> {
    if (filter.states && filter.states.length === 0) return 0;
    const query = whereJobFilter(this.db.selectFrom('jobs').select((eb) => eb.fn.countAll<number>().as('n')), filter);
    return Number((await query.executeTakeFirstOrThrow()).n);
  }

  async transition(change: Transition): Promise<boolean> {
    try {
      return await this.db.transaction().execute((trx) => applyTransition(trx, change));
    } catch (error) {
      if (this.isHoldConflict(error)) {
        throw new StintError('CONFLICT', `job ${change.jobId}: a requested GPU is already held by another job`, {
          jobId: change.jobId,
          hold: change.hold,
        });
      }
      throw error;
    }
  }

  async updateAttemptHandle(jobId: number, attempt: number, handle: Record<string, unknown>, logPath: string | null): Promise<void> {
    await this.db
      .updateTable('attempts')
      .set({ handle: JSON.stringify(handle), log_path: logPath })
      .where('job_id', '=', jobId)
      .where('attempt', '=', attempt)
      .execute();
  }

  async requestCancel(jobId: number, at: number, reason?: string): Promise<void> {
    await this.db
      .updateTable('jobs')
      .set({ cancel_requested_at: at, ...(reason !== undefined && { cancel_reason: reason }) })
      .where('id', '=', jobId)
      .where('cancel_requested_at', 'is', null)
      .execute();
  }

  async listAttempts(jobId: number): Promise<AttemptRow[]> {
    const rows = await this.db.selectFrom('attempts').selectAll().where('job_id', '=', jobId).orderBy('attempt').execute();
    return rows.map(toAttemptRow);
  }

  async listCurrentAttempts(jobIds: readonly number[]): Promise<AttemptRow[]> {
    if (jobIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('attempts')
      .innerJoin('jobs', (join) => join.onRef('jobs.id', '=', 'attempts.job_id').onRef('jobs.attempt', '=', 'attempts.attempt'))
      .selectAll('attempts')
      .where('jobs.id', 'in', [...jobIds])
      .execute();
    return rows.map(toAttemptRow);
  }

  async requestPreemption(jobId: number, at: number, reason: string): Promise<boolean> {
    const result = await this.db
      .updateTable('jobs')
      .set({ preempt_requested_at: at, preempt_reason: reason })
      .where('id', '=', jobId)
      .where('state', 'in', ['STARTING', 'RUNNING'])
      .where('preempt_requested_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async listProjectQuotas(): Promise<ProjectQuota[]> {
    const rows = await this.db.selectFrom('project_quotas').selectAll().orderBy('project').execute();
    return rows.map((r) => ({
      project: r.project,
      guaranteed: JSON.parse(r.guaranteed) as Record<string, number>,
      ...(r.max_gpus !== null && { maxGpus: r.max_gpus }),
      ...(r.max_queued !== null && { maxQueued: r.max_queued }),
    }));
  }

  async setProjectQuota(quota: ProjectQuota): Promise<void> {
    const values = { guaranteed: JSON.stringify(quota.guaranteed), max_gpus: quota.maxGpus ?? null, max_queued: quota.maxQueued ?? null };
    await this.db
      .insertInto('project_quotas')
      .values({ project: quota.project, ...values })
      .onConflict((oc) => oc.column('project').doUpdateSet(values))
      .execute();
  }

  async listUserCaps(): Promise<UserCaps[]> {
    const rows = await this.db.selectFrom('user_caps').selectAll().orderBy('user_name').execute();
    return rows.map((r) => ({
      user: r.user_name,
      ...(r.max_gpus !== null && { maxGpus: r.max_gpus }),
      ...(r.max_queued !== null && { maxQueued: r.max_queued }),
    }));
  }

  async setUserCaps(caps: UserCaps): Promise<void> {
    const values = { max_gpus: caps.maxGpus ?? null, max_queued: caps.maxQueued ?? null };
    await this.db
      .insertInto('user_caps')
      .values({ user_name: caps.user, ...values })
      .onConflict((oc) => oc.column('user_name').doUpdateSet(values))
      .execute();
  }

  async listAttemptRecordsSince(sinceMs: number): Promise<AttemptRecord[]> {
    const rows = await this.db
      .selectFrom('attempts')
      .innerJoin('jobs', 'jobs.id', 'attempts.job_id')
      .select(['attempts.job_id', 'attempts.attempt', 'jobs.owner', 'jobs.project', 'attempts.gpus', 'jobs.submitted_at', 'attempts.started_at', 'attempts.ended_at'])
      .where((eb) => eb.or([eb('attempts.ended_at', 'is', null), eb('attempts.ended_at', '>=', sinceMs)]))
      .execute();
    return rows.map((r) => ({
      jobId: r.job_id,
      attempt: r.attempt,
      owner: r.owner,
      project: r.project,
      gpus: (JSON.parse(r.gpus) as number[]).length,
      submittedAt: r.submitted_at,
      startedAt: r.started_at,
      endedAt: r.ended_at,
    }));
  }

  async listEndedAttemptsSince(sinceMs: number): Promise<EndedAttemptUsage[]> {
    const rows = await this.db
      .selectFrom('attempts')
      .innerJoin('jobs', 'jobs.id', 'attempts.job_id')
      .select(['jobs.owner', 'jobs.project', 'attempts.gpus', 'attempts.cpus', 'attempts.memory_gb', 'attempts.started_at', 'attempts.ended_at'])
      .where('attempts.ended_at', '>=', sinceMs)
      .execute();
    return rows.map((r) => ({
      owner: r.owner,
      project: r.project,
      gpus: (JSON.parse(r.gpus) as number[]).length,
      cpus: r.cpus,
      memoryGb: r.memory_gb,
      startedAt: r.started_at,
      endedAt: r.ended_at!,
    }));
  }

  async listOpenAttempts(): Promise<AttemptRow[]> {
    const rows = await this.db.selectFrom('attempts').selectAll().where('ended_at', 'is', null).orderBy('job_id').orderBy('attempt').execute();
    return rows.map(toAttemptRow);
  }

  async getAttempt(jobId: number, attempt: number): Promise<AttemptRow | null> {
    const row = await this.db
      .selectFrom('attempts')
      .selectAll()
      .where('job_id', '=', jobId)
      .where('attempt', '=', attempt)
      .executeTakeFirst();
    return row ? toAttemptRow(row) : null;
  }

  async listEvents(jobId: number): Promise<EventRow[]> {
    const rows = await this.db.selectFrom('events').selectAll().where('job_id', '=', jobId).orderBy('id').execute();
    return rows.map(toEventRow);
  }

  async listHolds(): Promise<GpuHold[]> {
    const rows = await this.db.selectFrom('gpu_holds').selectAll().orderBy('backend').orderBy('node').orderBy('gpu_index').execute();
    return rows.map((r) => ({ backend: r.backend, node: r.node, gpuIndex: r.gpu_index, jobId: r.job_id }));
  }

  async getMeta(key: string): Promise<string | null> {
    const row = await this.db.selectFrom('meta').select('value').where('key', '=', key).executeTakeFirst();
    return row?.value ?? null;
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.db
      .insertInto('meta')
      .values({ key, value })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
      .execute();
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}

/** The job, its first event and (when given) its idempotency key, in the caller's transaction. */
async function insertJob(trx: KyselyTx<Schema>, job: NewJob, box: SecretBox): Promise<JobRow> {
  const inserted = await trx
    .insertInto('jobs')
    .values({
      name: job.name,
      owner: job.owner,
      owner_id: job.ownerId ?? null,
      project: job.project,
      priority: job.priority,
      state: 'PENDING',
      reason: 'submitted',
      spec: JSON.stringify(job.spec),
      choices: JSON.stringify(job.choices),
      secrets: box.seal(JSON.stringify(job.secrets)),
      backend: job.backend,
      workdir_archive: job.workdirArchive,
      exit_code: null,
      signal: null,
      submitted_at: job.submittedAt,
      started_at: null,
      ended_at: null,
      cancel_requested_at: null,
      preempt_requested_at: null,
      preempt_reason: null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  await trx
    .insertInto('events')
    .values({ job_id: inserted.id, at: job.submittedAt, from_state: null, to_state: 'PENDING', reason: 'submitted' })
    .execute();
  if (job.exportedEnv && Object.keys(job.exportedEnv).length > 0) {
    await trx.insertInto('job_exported_env').values({ job_id: inserted.id, env: box.seal(JSON.stringify(job.exportedEnv)) }).execute();
  }
  if (job.idempotency) await recordIdempotencyKey(trx, job.idempotency, inserted.id, job.submittedAt);
  return toJobRow(inserted, box);
}

async function recordIdempotencyKey(trx: KyselyTx<Schema>, record: IdempotencyRecord, jobId: number, at: number): Promise<void> {
  await trx.deleteFrom('idempotency_keys').where('created_at', '<', record.expiredBefore).execute();
  await trx.insertInto('idempotency_keys').values({ user_id: record.userId, key: record.key, request_hash: record.requestHash, job_id: jobId, created_at: at }).execute();
}

async function applyTransition(trx: KyselyTx<Schema>, change: Transition): Promise<boolean> {
  const set = change.set ?? {};
  const result = await trx
    .updateTable('jobs')
    .set({
      state: change.to,
      reason: set.reason ?? change.reason,
      ...(set.backend !== undefined && { backend: set.backend }),
      ...(set.attempt !== undefined && { attempt: set.attempt }),
      ...(set.exitCode !== undefined && { exit_code: set.exitCode }),
      ...(set.signal !== undefined && { signal: set.signal }),
      ...(set.startedAt !== undefined && { started_at: set.startedAt }),
      ...(set.endedAt !== undefined && { ended_at: set.endedAt }),
      ...(set.preemptRequestedAt !== undefined && { preempt_requested_at: set.preemptRequestedAt }),
      ...(set.notBefore !== undefined && { not_before: set.notBefore }),
    })
    .where('id', '=', change.jobId)
    .where('state', '=', change.from)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) !== 1) return false;
  await trx
    .insertInto('events')
    .values({ job_id: change.jobId, at: change.at, from_state: change.from, to_state: change.to, reason: change.reason })
    .execute();
  if (change.attemptHandle) {
    const { attempt, handle, logPath } = change.attemptHandle;
    await trx
      .updateTable('attempts')
      .set({ handle: JSON.stringify(handle), log_path: logPath })
      .where('job_id', '=', change.jobId)
      .where('attempt', '=', attempt)
      .execute();
  }
  if (change.endAttempt) await endAttempt(trx, change.jobId, change.at, change.endAttempt);
  if (change.newAttempt) await insertAttempt(trx, change.newAttempt);
  if (change.hold && change.hold.length > 0) {
    await trx
      .insertInto('gpu_holds')
      .values(change.hold.map((h) => ({ backend: h.backend, node: h.node, gpu_index: h.gpuIndex, job_id: change.jobId })))
      .execute();
  }
  return true;
}

async function endAttempt(trx: KyselyTx<Schema>, jobId: number, at: number, end: NonNullable<Transition['endAttempt']>): Promise<void> {
  await trx
    .updateTable('attempts')
    .set({ ended_at: at, exit_code: end.exitCode, signal: end.signal, end_reason: end.endReason })
    .where('job_id', '=', jobId)
    .where('attempt', '=', end.attempt)
    .execute();
  await trx.deleteFrom('gpu_holds').where('job_id', '=', jobId).execute();
}

async function insertAttempt(trx: KyselyTx<Schema>, attempt: NonNullable<Transition['newAttempt']>): Promise<void> {
  await trx
    .insertInto('attempts')
    .values({
      job_id: attempt.jobId,
      attempt: attempt.attempt,
      backend: attempt.backend,
      node: attempt.node,
      gpus: JSON.stringify(attempt.gpus),
      cpus: attempt.cpus,
      memory_gb: attempt.memoryGb,
      handle: JSON.stringify(attempt.handle),
      log_path: attempt.logPath,
      started_at: attempt.startedAt,
      ended_at: null,
      exit_code: null,
      signal: null,
      end_reason: null,
    })
    .execute();
}

const SORT_COLUMNS = { id: 'id', name: 'name', owner: 'owner', project: 'project', state: 'state', submittedAt: 'submitted_at' } as const satisfies Record<JobSortKey, string>;

/** The filter's conditions (not its order, limit or offset), the same for listing and counting. */
function whereJobFilter<O>(query: SelectQueryBuilder<Schema, 'jobs', O>, filter: JobFilter): SelectQueryBuilder<Schema, 'jobs', O> {
  let q = query;
  if (filter.states) q = q.where('state', 'in', filter.states as JobState[]);
  if (filter.beforeId !== undefined) q = q.where('id', '<', filter.beforeId);
  if (filter.owner !== undefined) q = q.where('owner', '=', filter.owner);
  if (filter.project !== undefined) q = q.where('project', '=', filter.project);
  if (filter.backend !== undefined) q = q.where('backend', '=', filter.backend);
  if (filter.submittedSince !== undefined) q = q.where('submitted_at', '>=', filter.submittedSince);
  if (filter.nameContains) {
    // lower() on both sides: LIKE is case-blind in SQLite but not in PostgreSQL.
    const pattern = `%${filter.nameContains.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    q = q.where(sql<boolean>`lower(name) like ${pattern} escape '\\'`);
  }
  return q;
}
