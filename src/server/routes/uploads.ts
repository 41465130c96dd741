// Upload route: a workdir snapshot (gzipped tar) stored under its SHA-256, so a job can refer to it
// and identical snapshots are kept once. Only users who may submit may upload (not viewers).
// Invariants: the gzip/octet-stream body parser and its maxUploadBytes limit exist only in this
// route's own plugin scope, so every other route refuses such a body before reading it; an archive
// is streamed through checkArchive (caps on unpacked bytes, entries and depth; every entry's path,
// type and link target) before it is stored, so a hostile or fake archive is refused at upload with
// the entry and the reason, never at launch after GPUs are taken; uploads are 0600 files in a 0700
// `uploads/` directory created by the server. An upload neither sent again nor used by a pending
// or running job for UPLOAD_TTL_MS is deleted (checked at each upload), so uploads/ cannot grow
// without end.

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { StintError } from '../../core/errors.js';
import { ErrorBodySchema, UploadResponseSchema } from '../../api/schemas.js';
import { checkArchive } from '../../workdir/unpack.js';
import { assertCanSubmit } from '../access.js';
import { callerOf } from '../auth.js';
import type { ServerResources } from '../resources.js';

const NOT_GZIP = 'the upload must be a gzipped tar archive sent as application/gzip';
/** A week: the CLI uploads right before it submits, and a queued job keeps its upload alive. */
export const UPLOAD_TTL_MS = 7 * 86400 * 1000;

export function registerUploadRoutes(app: FastifyInstance, res: ServerResources): void {
  // A plugin of its own: the parser below does not leak to the JSON routes.
  void app.register(async (scope) => {
    scope.addContentTypeParser(['application/gzip', 'application/octet-stream'], { parseAs: 'buffer', bodyLimit: res.maxUploadBytes }, (_req, body, done) => done(null, body));
    scope.withTypeProvider<ZodTypeProvider>().post('/api/v1/uploads', {
      bodyLimit: res.maxUploadBytes,
      schema: { summary: 'Upload a workdir snapshot (application/gzip tar)', response: { 201: UploadResponseSchema, 400: ErrorBodySchema, 403: ErrorBodySchema, 413: ErrorBodySchema } },
      // Refused before the body is read: a viewer's upload is not received at all.
      onRequest: async (request) => assertCanSubmit(callerOf(request)),
    }, async (request, reply) => {
      const body = request.body;
      if (!Buffer.isBuffer(body) || body.length < 2 || body[0] !== 0x1f || body[1] !== 0x8b) {
        throw new StintError('INVALID_REQUEST', NOT_GZIP, { field: 'body' });
      }
      await checkArchive(body);
      const id = createHash('sha256').update(body).digest('hex');
      await store(res.uploadsDir, id, body);
      await pruneUploads(res).catch((error: unknown) => res.logger.warn({ err: error }, 'could not prune old uploads'));
      void reply.status(201);
      return { id, bytes: body.length };
    });
  });
}

/** Writes the archive 0600 into a 0700 directory, atomically; an existing copy is kept (same hash). */
async function store(dir: string, id: string, body: Buffer): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const path = join(dir, `${id}.tar.gz`);
  if (existsSync(path)) {
    const now = new Date();
    await utimes(path, now, now);
    return chmod(path, 0o600);
  }
  const temp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(temp, body, { mode: 0o600, flag: 'wx' });
  await rename(temp, path);
}

/** Deletes uploads older than UPLOAD_TTL_MS that no pending, starting or running job uses. */
async function pruneUploads(res: ServerResources): Promise<void> {
  const cutoff = res.clock.now() - UPLOAD_TTL_MS;
  const names = (await readdir(res.uploadsDir)).filter((name) => name.endsWith('.tar.gz'));
  const old: string[] = [];
  for (const name of names) {
    const info = await stat(join(res.uploadsDir, name)).catch(() => null);
    if (info && info.mtimeMs < cutoff) old.push(name);
  }
  if (old.length === 0) return;
  const active = await res.store.listJobs({ states: ['PENDING', 'STARTING', 'RUNNING'] });
  const inUse = new Set(active.map((job) => (job.workdirArchive ? basename(job.workdirArchive) : '')));
  for (const name of old) if (!inUse.has(name)) await rm(join(res.uploadsDir, name), { force: true });
}
