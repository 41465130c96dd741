// Token routes for every user: who am I, create a token (for oneself; admins for anyone), list
// tokens, revoke one. Invariants: a plain token is in the create answer only; a revoke empties
// the token cache before answering, so the revoked token is refused from the next request on;
// every create and revoke is in the audit log (id and label, never the token); a revoke that
// would leave no active token of any admin (the lab locked out until someone edits the token
// file) is refused unless the request says `force: true` (`stint admin token revoke --force`).

import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  CreateTokenRequestSchema,
  CreateTokenResponseSchema,
  MeSchema,
  RevokeTokenResponseSchema,
  TokenListQuerySchema,
  TokenListSchema,
  TokenParamsSchema,
} from '../../api/admin-schemas.js';
import { ErrorBodySchema } from '../../api/schemas.js';
import { StintError } from '../../core/errors.js';
import { assertCanManageTokens } from '../access.js';
import { tokenView } from '../admin-views.js';
import { recordAudit } from '../audit.js';
import { callerOf, hashToken, newToken, sessionFieldsOf, type Authenticator } from '../auth.js';
import type { ServerResources } from '../resources.js';

const errors = { 400: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema, 409: ErrorBodySchema };
const RevokeTokenRequestSchema = z.object({ force: z.boolean().optional().describe('revoke even the last active admin token (locks every admin out)') }).nullish();

export function registerTokenRoutes(app: FastifyInstance, res: ServerResources, auth: Authenticator): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const users = res.store.users;
  const deps = { users, clock: res.clock };

  api.get('/api/v1/me', {
    schema: { summary: 'The calling user: name, role and projects', response: { 200: MeSchema } },
  }, async (request) => {
    const { id, name, role, projects } = callerOf(request);
    return { id, name, role, projects: Object.entries(projects).map(([project, r]) => ({ project, role: r })), ...sessionFieldsOf(request) };
  });

  api.post('/api/v1/tokens', {
    schema: { summary: 'Create an API token (for yourself; admins: for any user), shown only in this answer', body: CreateTokenRequestSchema, response: { 201: CreateTokenResponseSchema, ...errors } },
  }, async (request, reply) => {
    const caller = callerOf(request);
    const name = request.body.user ?? caller.name;
    assertCanManageTokens(caller, name);
    const user = await users.getUser(name);
    if (!user || user.removedAt !== null) throw new StintError('NOT_FOUND', `user ${name} does not exist`, { user: name });
    const token = newToken();
    const info = await users.addToken(user.id, hashToken(token), request.body.label ?? null, res.clock.now());
    await recordAudit(deps, caller, 'token.create', `token/${info.id}`, { user: name, label: info.label });
    void reply.status(201);
    return { token, tokenInfo: tokenView(info) };
  });

  api.get('/api/v1/tokens', {
    schema: { summary: "List a user's tokens (yours; admins: anyone's), without their values", querystring: TokenListQuerySchema, response: { 200: TokenListSchema, ...errors } },
  }, async (request) => {
    const caller = callerOf(request);
    const name = request.query.user ?? caller.name;
    assertCanManageTokens(caller, name);
    const user = await users.getUser(name);
    if (!user) throw new StintError('NOT_FOUND', `user ${name} does not exist`, { user: name });
    return { tokens: (await users.listTokens(user.id)).map(tokenView) };
  });

  api.post('/api/v1/tokens/:id/revoke', {
    schema: { summary: 'Revoke a token (yours; admins: anyone\'s); refused from the next request on; the last active admin token only with force', params: TokenParamsSchema, body: RevokeTokenRequestSchema, response: { 200: RevokeTokenResponseSchema, ...errors } },
  }, async (request) => {
    const caller = callerOf(request);
    const token = await users.getToken(request.params.id);
    if (!token) throw new StintError('NOT_FOUND', `token ${request.params.id} does not exist`, { id: request.params.id });
    assertCanManageTokens(caller, token.userName);
    if (token.revokedAt === null && !request.body?.force && (await isLastAdminToken(users, token.id, token.userId))) {
      throw new StintError('CONFLICT', `token ${token.id} is the last active admin token: once it is revoked no one can manage users or tokens until someone with the server's account edits $STINT_HOME/token. Create another admin token first (stint admin token create), or repeat with --force to revoke it anyway`, { id: token.id, rule: 'last active admin token', accepted: 'force: true (stint admin token revoke --force)' });
    }
    const revoked = (await users.revokeToken(token.id, res.clock.now()))!;
    auth.forget();
    if (token.revokedAt === null) await recordAudit(deps, caller, 'token.revoke', `token/${token.id}`, { user: token.userName, label: token.label });
    return { tokenInfo: tokenView(revoked) };
  });
}

/** Whether revoking token `id` (of user `userId`) leaves no active token of any admin. */
async function isLastAdminToken(users: ServerResources['store']['users'], id: number, userId: number): Promise<boolean> {
  const admins = (await users.listUsers()).filter((u) => u.role === 'admin' && u.removedAt === null);
  if (!admins.some((u) => u.id === userId)) return false;
  for (const admin of admins) {
    if ((await users.listTokens(admin.id)).some((t) => t.revokedAt === null && t.id !== id)) return false;
  }
  return true;
}
