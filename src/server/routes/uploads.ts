// Upload route: a workdir snapshot (gzipped tar) stored under its SHA-256, so a job can refer to it
// and identical snapshots are kept once. Only users who may submit may upload (not viewers).

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { StintError } from '../../core/errors.js';
import { ErrorBodySchema, UploadResponseSchema } from '../../api/schemas.js';
import { assertCanSubmit } from '../access.js';
import { callerOf } from '../auth.js';
import type { ServerResources } from '../resources.js';

export function registerUploadRoutes(app: FastifyInstance, res: ServerResources): void {
  app.addContentTypeParser(['application/gzip', 'application/octet-stream'], { parseAs: 'buffer', bodyLimit: res.maxUploadBytes }, (_req, body, done) => done(null, body));
  app.withTypeProvider<ZodTypeProvider>().post('/api/v1/uploads', {
    bodyLimit: res.maxUploadBytes,
    schema: { summary: 'Upload a workdir snapshot (application/gzip tar)', response: { 201: UploadResponseSchema, 400: ErrorBodySchema, 403: ErrorBodySchema, 413: ErrorBodySchema } },
    // Refused before the body is read: a viewer's upload is not received at all.
    onRequest: async (request) => assertCanSubmit(callerOf(request)),
  }, async (request, reply) => {
    const body = request.body;
    if (!Buffer.isBuffer(body) || body.length < 2 || body[0] !== 0x1f || body[1] !== 0x8b) {
      throw new StintError('INVALID_REQUEST', 'the upload must be a gzipped tar archive sent as application/gzip', { field: 'body' });
    }
    const id = createHash('sha256').update(body).digest('hex');
    const path = join(res.uploadsDir, `${id}.tar.gz`);
    if (!existsSync(path)) {
      await mkdir(res.uploadsDir, { recursive: true });
      const temp = `${path}.${process.pid}.tmp`;
      await writeFile(temp, body);
      await rename(temp, path);
    }
    void reply.status(201);
    return { id, bytes: body.length };
  });
}
