// Image routes: import (a streamed archive), list, remove. Handlers are thin: the body is
// streamed to a 0600 file in a 0700 directory of the server's, counted against the server's image
// size cap, then handed to the image service (src/containers/images.ts), and the file is removed
// whatever happens. Invariants: a viewer's import is refused before its body is read; a declared
// Content-Length over the cap is refused before reading, a streamed body as soon as it passes the
// cap (413 naming the limit); at most MAX_IMPORTS_AT_ONCE bodies are received at once (429 with
// Retry-After beyond); the raw-body parser lives only in this route's plugin scope; podman's own
// messages reach the caller only as the service's one trimmed line.

import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { StintError } from '../../core/errors.js';
import { ErrorBodySchema } from '../../api/schemas.js';
import { ImageImportQuerySchema, ImageListSchema, ImageNameQuerySchema, ImageViewSchema } from '../../api/image-schemas.js';
import type { ImageService, ImageView } from '../../containers/images.js';
import { assertCanSubmit } from '../access.js';
import { callerOf } from '../auth.js';
import type { ServerResources } from '../resources.js';

/** What the image routes are given by the composition root. */
export interface ImageRouteDeps {
  service: ImageService;
  /** Where uploads are streamed to (made 0700 by the route). */
  uploadDir: string;
  /** The size cap of one archive, in bytes (--max-image-mb). */
  maxBytes: number;
}

const errors = { 400: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema, 409: ErrorBodySchema, 413: ErrorBodySchema, 422: ErrorBodySchema };
const RAW_TYPES = ['application/octet-stream', 'application/x-tar', 'application/gzip'];
/** Imports received at once (each may hold up to the cap on disk); more wait for a 429's Retry-After. */
const MAX_IMPORTS_AT_ONCE = 2;

export function registerImageRoutes(app: FastifyInstance, res: ServerResources): void {
  const deps = (): ImageRouteDeps => {
    if (res.images) return res.images;
    throw new StintError('UNSUPPORTED_FEATURE', 'this server was started without container image support', {});
  };
  let receiving = 0;
  void app.register(async (scope) => {
    // The body stays a stream: the handler writes it to disk under its own cap.
    scope.addContentTypeParser(RAW_TYPES, (_request, payload, done) => done(null, payload));
    scope.withTypeProvider<ZodTypeProvider>().post('/api/v1/images', {
      schema: { summary: 'Import a container image: an OCI archive, a docker/podman archive or a rootfs tarball (tar or tar.gz) as the raw body', querystring: ImageImportQuerySchema, response: { 201: ImageViewSchema, ...errors } },
      onRequest: async (request, reply) => {
        assertCanSubmit(callerOf(request));
        const declared = Number(request.headers['content-length']);
        if (Number.isFinite(declared) && declared > deps().maxBytes) return refuseRest(reply, tooLarge(deps().maxBytes, declared));
        if (receiving >= MAX_IMPORTS_AT_ONCE) {
          void reply.header('retry-after', '30');
          return refuseRest(reply, new StintError('RATE_LIMITED', `${MAX_IMPORTS_AT_ONCE} image imports are under way on this server; try again in a minute`, { limit: MAX_IMPORTS_AT_ONCE, retryAfterSeconds: 30 }));
        }
      },
    }, async (request, reply) => {
      const { service, uploadDir, maxBytes } = deps();
      receiving++;
      try {
        const file = await receive(request.body as Readable, uploadDir, maxBytes).catch((error: unknown) => {
          if (error instanceof StintError && error.code === 'BODY_TOO_LARGE') return refuseRest(reply, error);
          throw error;
        });
        if (typeof file !== 'string') return file;
        try {
          const image = await service.importFile({ file, name: request.query.name, fileName: request.query.fileName }, callerOf(request));
          void reply.status(201);
          return imageView(image);
        } finally {
          await rm(file, { force: true });
        }
      } finally {
        receiving--;
      }
    });
  });

  const api = app.withTypeProvider<ZodTypeProvider>();
  api.get('/api/v1/images', {
    schema: { summary: 'List imported container images (present: whether podman\'s storage still has each)', response: { 200: ImageListSchema, ...errors } },
  }, async () => ({ images: (await deps().service.list()).map(imageView) }));

  api.delete('/api/v1/images', {
    schema: { summary: 'Remove an imported image (its importer or an admin)', querystring: ImageNameQuerySchema, response: { 200: ImageViewSchema, ...errors } },
  }, async (request) => {
    const caller = callerOf(request);
    assertCanSubmit(caller);
    return imageView(await deps().service.remove(request.query.name, caller));
  });
}

function imageView(image: ImageView) {
  return { ...image, createdAt: new Date(image.createdAt).toISOString() };
}

/**
 * Answers now and closes the connection after the answer: the rest of the body is never read
 * (Node would otherwise read and discard all of it to keep the connection).
 */
function refuseRest(reply: FastifyReply, error: StintError): FastifyReply {
  return reply.status(error.httpStatus).header('connection', 'close').send(error.toJSON());
}

/** Streams the body into a fresh 0600 file, refusing it once it passes `maxBytes` (the body is left unread, not destroyed). */
async function receive(body: Readable, dir: string, maxBytes: number): Promise<string> {
  if (typeof body?.pipe !== 'function') throw new StintError('INVALID_REQUEST', 'send the image archive as the raw request body (Content-Type application/octet-stream)', { field: 'body' });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const path = join(dir, `import-${randomUUID()}.part`);
  let bytes = 0;
  const out = createWriteStream(path, { mode: 0o600, flags: 'wx' });
  try {
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > maxBytes) {
          body.off('data', onData);
          body.pause();
          reject(tooLarge(maxBytes));
        } else if (!out.write(chunk)) {
          body.pause();
          out.once('drain', () => body.resume());
        }
      };
      body.on('data', onData);
      body.once('end', () => out.end(() => resolve()));
      body.once('aborted', () => reject(new Error('aborted')));
      body.once('error', reject);
      out.once('error', reject);
    });
  } catch (error) {
    out.destroy();
    await rm(path, { force: true });
    if (error instanceof StintError) throw error;
    throw new StintError('INVALID_REQUEST', `the upload ended early after ${bytes} bytes; send the whole archive again`, { field: 'body', bytes }, { cause: error });
  }
  if (bytes === 0) {
    await rm(path, { force: true });
    throw new StintError('INVALID_REQUEST', 'the upload is empty; send an image archive as the body', { field: 'body' });
  }
  return path;
}

function tooLarge(limit: number, declared?: number): StintError {
  const gib = (n: number) => (n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(1)} GiB` : `${(n / (1 << 20)).toFixed(1)} MiB`);
  const size = declared === undefined ? '' : ` (${gib(declared)})`;
  return new StintError('BODY_TOO_LARGE', `body: the image archive${size} is larger than this server's limit of ${gib(limit)}; an admin raises it with \`stint server --max-image-mb N\``, { field: 'body', limit, ...(declared === undefined ? {} : { bytes: declared }) });
}
