// The composition root of `stint server`: prepares $STINT_HOME (database, token, uploads), chooses
// the adapters (SQLite store, local backend, system clock), makes the server's user the admin on
// an empty users table (single-user mode), starts the scheduler and the HTTP server, and writes
// server.json so the CLI on this machine finds it. Stopping is graceful; a kill -9 loses nothing,
// because every accepted job is already in the database. One server per home: an OS lock on
// <home>/server.lock (home-lock.ts), and on PostgreSQL a session advisory lock on the schema, are
// taken before anything else and held until stop; stop removes server.json only if it is its own.

import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, lstat, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import type { ServerConfig } from '../config.js';
import { systemClock } from '../core/clock.js';
import { StintError } from '../core/errors.js';
import type { Backend } from '../backends/backend.js';
import { createBackends, podmanFor } from './backends.js';
import { Scheduler } from '../scheduler/loop.js';
import { JobTransitions } from '../scheduler/transitions.js';
import { openSqliteStore } from '../store/sqlite/store.js';
import { loadSecretKey } from '../store/secret-box.js';
import type { Store } from '../store/types.js';
import { buildApp } from './app.js';
import { Observability } from '../metrics/observability.js';
import { registerObservabilityRoutes } from './routes/observability.js';
import { runAsFor } from '../scheduler/run-as.js';
import { bootstrapSingleUser } from './auth.js';
import { lockHome } from './home-lock.js';
import { setUpImages } from '../containers/image-setup.js';

export interface RunningServer {
  url: string;
  /** e.g. "GPUs: 4 × A100 (fake)" */
  gpuSummary: string;
  /** Lines the server prints at start, e.g. "limits not enforced on this host: <reason>". */
  warnings: string[];
  app: FastifyInstance;
  scheduler: Scheduler;
  store: Store;
  stop(): Promise<void>;
}

export async function startServer(config: ServerConfig): Promise<RunningServer> {
  // Before anything else touches the home or the database: one server per home, SQLite file and
  // PostgreSQL schema (a second one exits here, naming the PID that holds the lock).
  const locks = await takeServerLocks(config);
  try {
    return await startLocked(config, locks);
  } catch (error) {
    await locks.release();
    throw error;
  }
}

interface ServerLocks {
  release(): Promise<void>;
}

async function takeServerLocks(config: ServerConfig): Promise<ServerLocks> {
  const home = lockHome(config.home, config.databaseUrl === undefined);
  if (config.databaseUrl === undefined) return { release: async () => home.release() };
  const { lockSchema } = await import('../store/postgres/server-lock.js');
  const schema = await lockSchema(config.databaseUrl, config.databaseSchema).catch((error: unknown) => {
    home.release();
    throw error;
  });
  return {
    async release() {
      await schema.release();
      home.release();
    },
  };
}

async function startLocked(config: ServerConfig, locks: ServerLocks): Promise<RunningServer> {
  await prepareHome(config.home, config.databaseUrl === undefined);
  const logger = pino({ level: 'info' }, pino.destination({ dest: join(config.home, 'server.log'), sync: false, mkdir: true }));
  const token = await ensureToken(config.home);
  const store = await openStore(config);
  const bootstrap = await bootstrapSingleUser(store.users, config.owner, token, systemClock.now());
  if (bootstrap !== 'unchanged') logger.info({ user: config.owner, bootstrap }, 'the token in $STINT_HOME/token is now the admin token of the server\'s user');
  const clock = systemClock;
  // Images before backends, over the same podman: the engine resolves docker:/stint: through the
  // image service (the owner rule), and a second detect would rewrite containers.conf.
  const podman = podmanFor(config);
  const images = setUpImages({ home: config.home, store, clock, logger, maxBytes: config.maxImageBytes, podman: () => podman() });
  const unguarded = await createBackends(config, { podman, resolveImage: images.service.resolveImage }).catch(async (error: unknown) => {
    await store.close();
    throw error;
  });
  const transitions = new JobTransitions(store, clock);
  // Metrics, GPU telemetry, health drains, idle-GPU policy, alerts; the scheduler sees the backends
  // through it (drained GPUs unhealthy).
  const observability = await Observability.create({ settings: config.observability, store, backends: unguarded, clock, transitions, logger });
  const backends = observability.backends;
  const runAsPolicy = { serverIsRoot: process.getuid?.() === 0, serverUser: config.owner, allowRootJobs: config.allowRootJobs };
  const runAs = (owner: string, ownerId?: number | null) => runAsFor(owner, store.users, runAsPolicy, ownerId);
  const scheduler = new Scheduler({ runAs, prepare: images.prepare, store, backends, clock, transitions, logger, config: { killGraceMs: config.killGraceMs, pollIntervalMs: config.pollIntervalMs, preemptGraceMs: config.preemptGraceMs, preemptMinRuntimeMs: config.preemptMinRuntimeMs }, hooks: observability.hooks });
  // The HTTP side sees the backends as they are: a drained GPU is out of placement, not out of the
  // machine, so a job that needs it is still admitted and waits (drains are in /api/v1/health).
  const resources = {
    store, backends: unguarded, clock, transitions, scheduler, logger,
    uploadsDir: join(config.home, 'uploads'),
    maxUploadBytes: config.maxUploadBytes,
    runAs,
    sharedAccountInsecure: config.sharedAccountInsecure,
    images,
  };
  if (config.sharedAccountInsecure) logger.warn('started with --shared-account-insecure: users whose jobs share one Unix account can read each other\'s files and secrets');
  const app = await buildApp(resources);
  observability.attach(app, scheduler, (a, o) => registerObservabilityRoutes(a, resources, o));
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await Promise.all([...backends.map((b) => b.close()), store.close()]);
    throw listenError(error, config);
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  // Written whole and renamed, so a reader never sees a half-written file.
  const serverJson = join(config.home, 'server.json');
  await writeFile(`${serverJson}.${process.pid}.tmp`, JSON.stringify({ url, pid: process.pid }) + '\n');
  await rename(`${serverJson}.${process.pid}.tmp`, serverJson);
  scheduler.start();
  observability.start(url);
  logger.info({ url, home: config.home }, 'stint server started');
  const gpuSummary = await summarizeGpus(backends);
  const warnings = await confinementWarnings(backends);
  for (const warning of warnings) logger.warn(warning);
  return {
    url, gpuSummary, warnings, app, scheduler, store,
    async stop() {
      await app.close();
      await observability.stop();
      await scheduler.stop();
      for (const backend of backends) await backend.close();
      await store.close();
      await removeOwnServerJson(serverJson);
      await locks.release();
      logger.flush();
    },
  };
}

/** Removes server.json only if it is still this process's (another server may have written it since). */
async function removeOwnServerJson(path: string): Promise<void> {
  try {
    const { pid } = JSON.parse(await readFile(path, 'utf8')) as { pid?: unknown };
    if (pid === process.pid) await rm(path, { force: true });
  } catch {
    // Missing or not ours to judge (half-written by someone else): leave it.
  }
}

/** "GPUs: 4 × A100 (fake)", or one such part per backend when there are several. */
async function summarizeGpus(backends: readonly Backend[]): Promise<string> {
  const parts = await Promise.all(backends.map(async (backend) => {
    const gpus = (await backend.inventory()).nodes.flatMap((n) => n.gpus);
    const counts = new Map<string, number>();
    for (const gpu of gpus) counts.set(gpu.name, (counts.get(gpu.name) ?? 0) + 1);
    const listed = gpus.length === 0 ? 'no GPUs found' : `GPUs: ${[...counts].map(([n, c]) => `${c} × ${n}`).join(', ')}${gpus[0]?.vendor === 'fake' ? ' (fake)' : ''}`;
    return backends.length === 1 ? listed : `${backend.name} (${backend.kind}) ${listed}`;
  }));
  return parts.join('; ');
}

/** One line per node that runs jobs without enforcing their limits (never silent). */
async function confinementWarnings(backends: readonly Backend[]): Promise<string[]> {
  const lines: string[] = [];
  for (const backend of backends) {
    for (const node of (await backend.inventory()).nodes) {
      const c = node.confinement;
      if (c && !c.enforced) lines.push(`limits not enforced on this host: ${c.reason ?? 'unknown reason'}${backends.length > 1 ? ` (backend ${backend.name})` : ''}`);
    }
  }
  return lines;
}

/** SQLite in $STINT_HOME by default; PostgreSQL (loaded only then) when a database URL is set. */
async function openStore(config: ServerConfig): Promise<Store> {
  // Job secrets are sealed at rest with a key kept beside the token, never in the database.
  const secretKey = loadSecretKey(join(config.home, 'secrets.key'));
  if (config.databaseUrl === undefined) return openSqliteStore(join(config.home, 'stint.db'), { secretKey });
  const { openPostgresStore } = await import('../store/postgres/store.js');
  return openPostgresStore(config.databaseUrl, { schema: config.databaseSchema, secretKey });
}

function listenError(error: unknown, config: ServerConfig): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  const where = `${config.host}:${config.port}`;
  if (code === 'EADDRINUSE') {
    return new StintError('CONFLICT', `${where} is already in use (another stint server?); choose another port with --port`, { field: '--port', value: config.port });
  }
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
    return new StintError('INVALID_REQUEST', `--host ${config.host}: not an address of this machine`, { field: '--host', value: config.host });
  }
  return error;
}

/**
 * $STINT_HOME holds the database (with secrets), the token and the server's log, readable by the
 * server's user only; other accounts may only pass through it to their own job directories (jobs
 * run as their owners' accounts on a root server), so the home and jobs/ are 0711 and every file
 * the server keeps there is 0600. The home must be the server's own and writable by no one else:
 * whoever can write it could swap the token or the database under the server.
 */
async function prepareHome(home: string, sqlite: boolean): Promise<void> {
  await mkdir(join(home, 'jobs'), { recursive: true, mode: 0o711 });
  const found = await lstat(home);
  const uid = process.getuid?.() ?? found.uid;
  if (!found.isDirectory() || found.uid !== uid || (found.mode & 0o022) !== 0) {
    throw new StintError('INVALID_REQUEST', `--home ${home}: must be a directory owned by the server's account (uid ${uid}) and writable by no one else (found uid ${found.uid}, mode ${(found.mode & 0o7777).toString(8)}); choose another --home or fix its owner`, { field: '--home', value: home });
  }
  await chmod(home, 0o711);
  await chmod(join(home, 'jobs'), 0o711);
  // Created 0600 before the logger opens it for appending, so it stays 0600.
  await writeFile(join(home, 'server.log'), '', { mode: 0o600, flag: 'a' });
  await chmod(join(home, 'server.log'), 0o600);
  if (!sqlite) return;
  // Created 0600 before SQLite opens it, so its WAL and shared-memory files are made 0600 too.
  const db = join(home, 'stint.db');
  if (!existsSync(db)) await writeFile(db, '', { mode: 0o600 });
  await chmod(db, 0o600);
}

/** The admin token of the server's user, created once (0600, never through a link). */
async function ensureToken(home: string): Promise<string> {
  const path = join(home, 'token');
  if (!existsSync(path)) {
    const token = randomBytes(24).toString('base64url');
    await writeFile(path, token + '\n', { mode: 0o600, flag: 'wx' }).catch(() => undefined);
  }
  if (!(await lstat(path)).isFile()) throw new StintError('INVALID_REQUEST', `${path} is not a regular file; remove it and restart the server to make a new token`, { path });
  await chmod(path, 0o600);
  return readFileSync(path, 'utf8').trim();
}
