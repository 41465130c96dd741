// The web UI's session: POST /api/v1/session exchanges an API token for the cookie stint_session
// (a new session id, never the token: auth.ts and sessions.ts; HttpOnly, SameSite=Strict, Path=/,
// Secure over https) and answers the CSRF token and the caller; DELETE /api/v1/session ends the
// cookie's session on the server and clears the cookie. Both routes are public (route-access.ts).
// Invariants: a token that does not resolve gets no cookie and counts as a failed authentication
// of the client's address (auth.ts), so guessing through this route is limited like guessing
// through a bearer header; the cookie is never readable by scripts; once DELETE has answered, the
// old cookie value is refused (401) everywhere, live log streams included.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { ErrorBodySchema } from '../../api/schemas.js';
import { SessionEndSchema, SessionRequestSchema, SessionSchema } from '../../api/session-schemas.js';
import type { Caller } from '../access.js';
import { csrfTokenFor, SESSION_COOKIE, type Authenticator } from '../auth.js';

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 429: ErrorBodySchema };

export function registerSessionRoutes(app: FastifyInstance, auth: Authenticator): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.post('/api/v1/session', {
    schema: { summary: 'Exchange an API token for the web session cookie; answers the CSRF token for changes', body: SessionRequestSchema, response: { 200: SessionSchema, ...errors } },
  }, async (request, reply) => {
    const { sessionId, caller } = await auth.startSession(request.body.token, request.ip);
    void reply.setCookie(SESSION_COOKIE, sessionId, cookieOptions(request));
    return { csrfToken: csrfTokenFor(sessionId), me: meView(caller) };
  });
  api.delete('/api/v1/session', {
    schema: { summary: "End the web session: the cookie's session is refused from now on, and the cookie is cleared", response: { 200: SessionEndSchema } },
  }, async (request, reply) => {
    const sessionId = request.cookies[SESSION_COOKIE];
    if (sessionId) await auth.endSession(sessionId);
    void reply.clearCookie(SESSION_COOKIE, cookieOptions(request));
    return { ended: true as const };
  });
}

function cookieOptions(request: FastifyRequest) {
  return { httpOnly: true, sameSite: 'strict' as const, path: '/', secure: request.protocol === 'https' };
}

/** The caller as GET /api/v1/me shows it. */
export function meView(caller: Caller) {
  return { id: caller.id, name: caller.name, role: caller.role, projects: Object.entries(caller.projects).map(([project, role]) => ({ project, role })) };
}
