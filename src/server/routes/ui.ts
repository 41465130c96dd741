// Serves the built web UI (dist/web, made by `npm run build`) at `/`. Invariants: no path under
// /api or /healthz is ever answered with the UI (an unknown API path stays a JSON NOT_FOUND);
// a file outside the UI folder is never served; hashed assets (/assets/*) are cached as immutable
// and index.html never is, so a new build is picked up at the next load; every UI page carries a
// Content-Security-Policy that allows nothing but this server (the UI works air-gapped and makes
// no outside request); a path that is not a file gets index.html (the app routes it); a server
// whose UI was not built answers a short page saying how to build it.

import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, normalize, resolve, sep } from 'node:path';
import { StintError } from '../../core/errors.js';

const CSP = "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'";

export interface UiOptions {
  /** The built UI folder; default: dist/web of the package this server runs from. */
  root?: string;
}

export async function registerUiRoutes(app: FastifyInstance, options: UiOptions = {}): Promise<void> {
  const root = resolve(options.root ?? defaultUiRoot());
  const built = existsSync(join(root, 'index.html'));
  if (built) await app.register(fastifyStatic, { root, serve: false });
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const path = safeDecode(request.url.split('?')[0] ?? '/');
    // Compared as a browser or proxy might read it: any case, repeated slashes collapsed.
    const api = path.replace(/\/{2,}/g, '/').toLowerCase();
    if (api.startsWith('/api/') || api === '/api' || api === '/healthz') {
      throw new StintError('NOT_FOUND', `no route ${request.method} ${path}; see /api/openapi.json`);
    }
    void reply.header('content-security-policy', CSP).header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer');
    if (!built) return reply.status(503).type('text/html; charset=utf-8').send(notBuiltPage(root));
    const file = fileUnder(root, path);
    if (file && path.startsWith('/assets/')) return reply.sendFile(file, { maxAge: 365 * 24 * 3600 * 1000, immutable: true });
    if (file) return reply.sendFile(file, { maxAge: 0 });
    // Hashed assets that do not exist are a 404, not the app (a stale page asking for an old build).
    if (path.startsWith('/assets/')) throw new StintError('NOT_FOUND', `no UI asset ${path}`);
    return reply.header('cache-control', 'no-cache').sendFile('index.html', { cacheControl: false });
  };
  app.get('/', { schema: { hide: true } }, handler);
  app.get('/*', { schema: { hide: true } }, handler);
}

/** The path relative to root of a file that exists under it, or null. */
function fileUnder(root: string, urlPath: string): string | null {
  const relative = normalize(urlPath).replace(/^([/\\])+/, '');
  if (relative === '' || relative.split(sep).includes('..')) return null;
  const full = join(root, relative);
  if (!full.startsWith(root + sep)) return null;
  try {
    return statSync(full).isFile() ? relative : null;
  } catch {
    return null;
  }
}

/** dist/web beside the nearest package.json above this module (works from src/ and from dist/). */
function defaultUiRoot(): string {
  let dir = import.meta.dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) return resolve('dist', 'web');
    dir = parent;
  }
  return join(dir, 'dist', 'web');
}

function notBuiltPage(root: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>stint: web UI not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5">
<h1>The stint web UI was not built</h1>
<p>This server looks for it in <code>${escapeHtml(root)}</code>. Build it with <code>npm run build</code>
in stint's source folder and reload this page. The API is available at <a href="/api/openapi.json">/api/openapi.json</a>.</p>
</body></html>`;
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
