// The embedded SQLite store (better-sqlite3 behind Kysely). WAL mode with synchronous=NORMAL: a
// committed transaction survives a crash of the server process (it is in the WAL before the call
// returns); only a power loss may drop the last transactions. Owns the SQLite dialect details.

import Database from 'better-sqlite3';
import { Kysely, SqliteDialect, sql, type Transaction as KyselyTx } from 'kysely';
import { StintError } from '../../core/errors.js';
import type { JobState } from '../../core/job-state.js';
import { MIGRATIONS } from '../migrations/index.js';
import type { AttemptRow, EventRow, GpuHold, JobFilter, JobRow, NewJob, Store, Transition } from '../types.js';
import type { Database as Schema } from './schema.js';
import { toAttemptRow, toEventRow, toJobRow } from './rows.js';

export async function openSqliteStore(path: string): Promise<Store> {
  const raw = new Database(path);
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  raw.pragma('foreign_keys = ON');
  raw.pragma('busy_timeout = 5000');
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: withStatementCache(raw) }) });
  await migrate(db);
  return new SqliteStore(db);
}

/**
 * Kysely prepares every query anew; preparing costs more than running our small queries, so
 * statements are kept by SQL text (bounded: queries with IN lists vary in length).
 */
function withStatementCache(raw: Database.Database): { close(): void; prepare(sql: string): Database.Statement } {
  const cache = new Map<string, Database.Statement>();
  return {
    close: () => raw.close(),
    prepare(text: string) {
      let statement = cache.get(text);
      if (!statement) {
        statement = raw.prepare(text);
        if (cache.size >= 256) cache.delete(cache.keys().next().value!);
        cache.set(text, statement);
      }
      return statement;
    },
  };
}

async function migrate(db: Kysely<Schema>): Promise<void> {
  await sql`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`.execute(db);
  const applied = new Set((await db.selectFrom('schema_migrations').select('version').execute()).map((r) => r.version));
  for (const migration of MIGRATIONS) {
    if (applied.has(migration.version)) continue;
    await db.transaction().execute(async (trx) => {
      for (const statement of migration.statements) await sql.raw(statement).execute(trx);
      await trx
        .insertInto('schema_migrations')
        .values({ version: migration.version, name: migration.name, applied_at: Date.now() })
        .execute();
    });
  }
}

class SqliteStore implements Store {
  constructor(private readonly db: Kysely<Schema>) {}

  async submitJob(job: NewJob): Promise<JobRow> {
    return this.db.transaction().execute(async (trx) => {
      const inserted = await trx
        .insertInto('jobs')
        .values({
          name: job.name,
          owner: job.owner,
          project: job.project,
          priority: job.priority,
          state: 'PENDING',
          reason: 'submitted',
          spec: JSON.stringify(job.spec),
          choices: JSON.stringify(job.choices),
          secrets: JSON.stringify(job.secrets),
          backend: job.backend,
          workdir_archive: job.workdirArchive,
          exit_code: null,
          signal: null,
          submitted_at: job.submittedAt,
          started_at: null,
          ended_at: null,
          cancel_requested_at: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await trx
        .insertInto('events')
        .values({ job_id: inserted.id, at: job.submittedAt, from_state: null, to_state: 'PENDING', reason: 'submitted' })
        .execute();
      return toJobRow(inserted);
    });
  }

  async getJob(id: number): Promise<JobRow | null> {
    const row = await this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toJobRow(row) : null;
  }

  async listJobs(filter: JobFilter = {}): Promise<JobRow[]> {
    let query = this.db.selectFrom('jobs').selectAll().orderBy('id', 'desc');
    if (filter.states) query = query.where('state', 'in', filter.states as JobState[]);
    if (filter.beforeId !== undefined) query = query.where('id', '<', filter.beforeId);
    if (filter.limit !== undefined) query = query.limit(filter.limit);
    return (await query.execute()).map(toJobRow);
  }

  async countJobs(): Promise<number> {
    const row = await this.db.selectFrom('jobs').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async transition(change: Transition): Promise<boolean> {
    try {
      return await this.db.transaction().execute((trx) => applyTransition(trx, change));
    } catch (error) {
      if (isUniqueViolation(error)) {
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

  async requestCancel(jobId: number, at: number): Promise<void> {
    await this.db
      .updateTable('jobs')
      .set({ cancel_requested_at: at })
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

  async listOpenAttempts(): Promise<AttemptRow[]> {
    const rows = await this.db.selectFrom('attempts').selectAll().where('ended_at', 'is', null).execute();
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
    const rows = await this.db.selectFrom('gpu_holds').selectAll().execute();
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

function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}
