// Who may call a route, decided on the route the router matched (after it decoded the path), never
// on the raw URL: `/%61pi/v1/jobs` is the route /api/v1/jobs and needs a caller like it (review
// finding M1). Deny by default: every route needs an authenticated caller unless it is in
// PUBLIC_ROUTES, so a new route is never public by accident; the list is checked against the
// registered routes by test/security/http-auth.test.ts. The role rules that follow from a route
// alone are also decided here, before the body is read: /api/v1/admin/* needs an admin (a
// project's members routes: an admin or an admin of that project), submitting and uploading need
// a member or admin; handlers check again (access.ts), this is the floor. Invariants: a
// non-public route's handler runs only with request.user set; a cookie-authenticated change
// carries its CSRF token; a request no route matched is answered 404 by the not-found handler
// without authentication.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { StintError } from '../core/errors.js';
import { assertAdmin, assertCanManageMembers, assertCanSubmit, type Caller } from './access.js';
import { assertCsrf, credentialOf, MISSING_TOKEN_MESSAGE, type Authenticator } from './auth.js';

export interface RouteKey {
  method: string;
  /** The route's pattern as registered, e.g. /api/v1/jobs/:id. */
  url: string;
}

/** The routes anyone may call, each with why. */
export const PUBLIC_ROUTES: ReadonlyArray<RouteKey & { why: string }> = [
  { method: 'GET', url: '/healthz', why: 'liveness probe' },
  { method: 'GET', url: '/api/openapi.json', why: 'the API description' },
  { method: 'GET', url: '/metrics', why: 'checks its own --metrics-token (src/metrics/route.ts)' },
  { method: 'GET', url: '/', why: 'the web UI page' },
  { method: 'GET', url: '/*', why: "the web UI's static files (never an /api path: routes/ui.ts)" },
  { method: 'POST', url: '/api/v1/session', why: 'exchanges a token for the session cookie; failures count like bad tokens' },
  { method: 'DELETE', url: '/api/v1/session', why: "ends the cookie's session (if any) and clears the cookie" },
];

const publicKeys = new Set(PUBLIC_ROUTES.map((r) => `${r.method} ${r.url}`));
const registered = new WeakMap<FastifyInstance, Array<RouteKey & { public: boolean }>>();

function isPublic(method: string, url: string): boolean {
  return publicKeys.has(`${method === 'HEAD' ? 'GET' : method} ${url}`);
}

/** Every route registered on the app so far, with whether it is public (for tests). */
export function registeredRoutes(app: FastifyInstance): ReadonlyArray<RouteKey & { public: boolean }> {
  return registered.get(app) ?? [];
}

/** Installs the route table and the onRequest hook that authenticates every non-public route. */
export function guardRoutes(app: FastifyInstance, auth: Authenticator): void {
  const routes: Array<RouteKey & { public: boolean }> = [];
  registered.set(app, routes);
  app.addHook('onRoute', (route) => {
    for (const method of ([] as string[]).concat(route.method)) routes.push({ method, url: route.url, public: isPublic(method, route.url) });
  });
  app.decorateRequest('user', null);
  app.decorateRequest('credential', null);
  app.addHook('onRequest', async (request: FastifyRequest) => {
    const url = request.routeOptions.url;
    if (url === undefined || isPublic(request.method, url)) return;
    const credential = credentialOf(request);
    if (!credential) throw new StintError('UNAUTHORIZED', MISSING_TOKEN_MESSAGE);
    request.user = await auth.authenticate(credential, request.ip);
    request.credential = credential;
    assertCsrf(request, credential);
    assertRouteRole(request, request.user, url);
  });
}

const MEMBERS_ROUTE = '/api/v1/admin/projects/:name/members/:user';
const SUBMIT_ROUTES = new Set(['POST /api/v1/jobs', 'POST /api/v1/uploads']);

function assertRouteRole(request: FastifyRequest, caller: Caller, url: string): void {
  if (url === MEMBERS_ROUTE) return assertCanManageMembers(caller, (request.params as { name?: string }).name ?? '');
  if (url.startsWith('/api/v1/admin/')) return assertAdmin(caller, `call ${request.method} ${url}`);
  if (SUBMIT_ROUTES.has(`${request.method} ${url}`)) assertCanSubmit(caller);
}
