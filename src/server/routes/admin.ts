// Admin routes: users (add, list, remove), projects (add, list, members) and the audit log.
// Handlers are thin: check the rule (access.ts), call the user store, record the action, answer.
// Invariants: a new user's token is in the add answer only; removing a user revokes its tokens
// and empties the token cache before answering; the last admin cannot be removed; every change
// here is in the audit log.

import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  AddProjectRequestSchema,
  AddUserRequestSchema,
  AddUserResponseSchema,
  AuditListSchema,
  AuditQuerySchema,
  MemberParamsSchema,
  ProjectListSchema,
  ProjectViewSchema,
  RemoveUserResponseSchema,
  SetMemberRequestSchema,
  UserListQuerySchema,
  UserListSchema,
  UserParamsSchema,
  ProjectQuotaSchema,
  SetUnixUserRequestSchema,
  SetUserCapsRequestSchema,
  UserCapsSchema,
  UserViewSchema,
  QuotaListSchema,
  SetQuotaRequestSchema,
} from '../../api/admin-schemas.js';
import { ErrorBodySchema } from '../../api/schemas.js';
import { StintError } from '../../core/errors.js';
import type { ProjectRow, UserRow, UserStore } from '../../store/users.js';
import { assertAdmin, assertCanManageMembers } from '../access.js';
import { auditView, membershipsByUser, projectView, tokenView, userView } from '../admin-views.js';
import { recordAudit } from '../audit.js';
import { unixAccount } from '../../scheduler/run-as.js';
import { callerOf, hashToken, newToken, type Authenticator } from '../auth.js';
import type { ServerResources } from '../resources.js';
import { assertAccountNotShared, assertOwnIdentity } from '../shared-account.js';

const errors = { 400: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema, 409: ErrorBodySchema };

export function registerAdminRoutes(app: FastifyInstance, res: ServerResources, auth: Authenticator): void {
  registerUserRoutes(app, res, auth);
  registerProjectRoutes(app, res, auth);
  app.withTypeProvider<ZodTypeProvider>().get('/api/v1/admin/audit', {
    schema: { summary: 'The audit log, newest first (admins)', querystring: AuditQuerySchema, response: { 200: AuditListSchema, ...errors } },
  }, async (request) => {
    assertAdmin(callerOf(request), 'read the audit log');
    const entries = await res.store.users.listAudit({ limit: request.query.limit ?? 1000, beforeId: request.query.before });
    return { entries: entries.map(auditView) };
  });
}

function registerUserRoutes(app: FastifyInstance, res: ServerResources, auth: Authenticator): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const users = res.store.users;
  const deps = { users, clock: res.clock };

  api.post('/api/v1/admin/users', {
    schema: { summary: 'Add a user (admins); the answer carries its token, shown only this once', body: AddUserRequestSchema, response: { 201: AddUserResponseSchema, ...errors } },
  }, async (request, reply) => {
    const caller = callerOf(request);
    assertAdmin(caller, 'add users');
    await assertOwnIdentity({ users, backends: res.backends, sharedAccountInsecure: res.sharedAccountInsecure }, request.body.name, request.body.role);
    const now = res.clock.now();
    const user = await users.addUser(request.body.name, request.body.role, now);
    const token = newToken();
    const info = await users.addToken(user.id, hashToken(token), 'created with the user', now);
    await recordAudit(deps, caller, 'user.add', `user/${user.name}`, { role: user.role, tokenId: info.id });
    void reply.status(201);
    return { user: userView(user, []), token, tokenInfo: tokenView(info) };
  });

  api.get('/api/v1/admin/users', {
    schema: { summary: 'List users with their projects (admins)', querystring: UserListQuerySchema, response: { 200: UserListSchema, ...errors } },
  }, async (request) => {
    assertAdmin(callerOf(request), 'list users');
    const [rows, projects] = await Promise.all([users.listUsers({ includeRemoved: request.query.all === 'true' }), users.listProjects()]);
    const memberships = membershipsByUser(projects);
    return { users: rows.map((u) => userView(u, memberships.get(u.id) ?? [])) };
  });

  api.put('/api/v1/admin/users/:name/unix-user', {
    schema: { summary: "Map a user to the Unix account its jobs run as on a root server (admins); null removes it", params: UserParamsSchema, body: SetUnixUserRequestSchema, response: { 200: UserViewSchema, ...errors } },
  }, async (request) => {
    const caller = callerOf(request);
    assertAdmin(caller, 'map users to Unix accounts');
    const user = await activeUser(users, request.params.name);
    const unixUser = request.body.unixUser;
    if (unixUser !== null) {
      const account = unixAccount(unixUser);
      const shared = { users, backends: res.backends, sharedAccountInsecure: res.sharedAccountInsecure, uidOf: (u: string) => unixAccount(u).uid };
      await assertAccountNotShared(shared, user.name, unixUser, account.uid);
    }
    const updated = await users.setUnixUser(user.name, unixUser);
    if (!updated) throw noSuchUser(user.name);
    auth.forget();
    await recordAudit(deps, caller, 'user.unix-user.set', `user/${user.name}`, { unixUser });
    return userView(updated, []);
  });

  api.put('/api/v1/admin/users/:name/caps', {
    schema: { summary: 'Set how many GPUs a user may hold at once and how many jobs it may queue (admins)', params: UserParamsSchema, body: SetUserCapsRequestSchema, response: { 200: UserCapsSchema, ...errors } },
  }, async (request) => {
    const caller = callerOf(request);
    assertAdmin(caller, 'set user caps');
    const user = await activeUser(users, request.params.name);
    const caps = { user: user.name, ...request.body };
    await res.store.setUserCaps(caps);
    res.scheduler.quotas.invalidate();
    res.scheduler.wake();
    await recordAudit(deps, caller, 'user.caps.set', `user/${user.name}`, request.body);
    return caps;
  });

  api.delete('/api/v1/admin/users/:name', {
    schema: { summary: 'Remove a user (admins): revokes all its tokens; its jobs are left as they are', params: UserParamsSchema, response: { 200: RemoveUserResponseSchema, ...errors } },
  }, async (request) => {
    const caller = callerOf(request);
    assertAdmin(caller, 'remove users');
    const user = await activeUser(users, request.params.name);
    await refuseLastAdmin(users, user);
    const revokedTokens = (await users.listTokens(user.id)).filter((t) => t.revokedAt === null).length;
    const removed = await users.removeUser(user.name, res.clock.now());
    if (!removed) throw noSuchUser(user.name);
    auth.forget();
    await recordAudit(deps, caller, 'user.remove', `user/${user.name}`, { role: user.role, revokedTokens });
    return { user: userView(removed, []), revokedTokens };
  });
}

function registerProjectRoutes(app: FastifyInstance, res: ServerResources, auth: Authenticator): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const users = res.store.users;
  const deps = { users, clock: res.clock };

  api.post('/api/v1/admin/projects', {
    schema: { summary: 'Add a project (admins)', body: AddProjectRequestSchema, response: { 201: ProjectViewSchema, ...errors } },
  }, async (request, reply) => {
    const caller = callerOf(request);
    assertAdmin(caller, 'add projects');
    const project = await users.addProject(request.body.name, res.clock.now());
    await recordAudit(deps, caller, 'project.add', `project/${project.name}`);
    void reply.status(201);
    return projectView(project);
  });

  api.put('/api/v1/admin/projects/:name/quota', {
    schema: { summary: "Set a project's guaranteed GPUs and caps (admins)", params: z.object({ name: z.string() }), body: SetQuotaRequestSchema, response: { 200: ProjectQuotaSchema, ...errors } },
  }, async (request) => {
    const caller = callerOf(request);
    assertAdmin(caller, 'set quotas');
    const project = await existingProject(users, request.params.name);
    const quota = { project: project.name, ...request.body };
    await res.store.setProjectQuota(quota);
    res.scheduler.quotas.invalidate();
    res.scheduler.wake();
    await recordAudit(deps, caller, 'project.quota.set', `project/${project.name}`, request.body);
    return quota;
  });

  api.get('/api/v1/admin/quotas', {
    schema: { summary: 'Every project quota (admins)', response: { 200: QuotaListSchema, ...errors } },
  }, async (request) => {
    assertAdmin(callerOf(request), 'list quotas');
    return { quotas: await res.store.listProjectQuotas() };
  });

  api.get('/api/v1/admin/projects', {
    schema: { summary: 'List projects with their members (admins)', response: { 200: ProjectListSchema, ...errors } },
  }, async (request) => {
    assertAdmin(callerOf(request), 'list projects');
    return { projects: (await users.listProjects()).map(projectView) };
  });

  api.put('/api/v1/admin/projects/:name/members/:user', {
    schema: { summary: "Add a member to a project or change its role (admins, the project's admins)", params: MemberParamsSchema, body: SetMemberRequestSchema, response: { 200: ProjectViewSchema, ...errors } },
  }, async (request) => {
    const caller = callerOf(request);
    const { name, user: userName } = request.params;
    assertCanManageMembers(caller, name);
    const user = await activeUser(users, userName);
    await users.setMember(name, user.id, request.body.role);
    auth.forget();
    await recordAudit(deps, caller, 'project.member.set', `project/${name}`, { user: user.name, role: request.body.role });
    return projectView(await existingProject(users, name));
  });

  api.delete('/api/v1/admin/projects/:name/members/:user', {
    schema: { summary: "Remove a member from a project (admins, the project's admins)", params: MemberParamsSchema, response: { 200: ProjectViewSchema, ...errors } },
  }, async (request) => {
    const caller = callerOf(request);
    const { name, user: userName } = request.params;
    assertCanManageMembers(caller, name);
    await existingProject(users, name);
    const user = await users.getUser(userName);
    if (!user || !(await users.removeMember(name, user.id))) {
      throw new StintError('NOT_FOUND', `${userName} is not a member of project ${name}`, { project: name, user: userName });
    }
    auth.forget();
    await recordAudit(deps, caller, 'project.member.remove', `project/${name}`, { user: userName });
    return projectView(await existingProject(users, name));
  });
}

async function activeUser(users: UserStore, name: string): Promise<UserRow> {
  const user = await users.getUser(name);
  if (!user || user.removedAt !== null) throw noSuchUser(name);
  return user;
}

function noSuchUser(name: string): StintError {
  return new StintError('NOT_FOUND', `user ${name} does not exist (see \`stint admin user list\`)`, { user: name });
}

async function existingProject(users: UserStore, name: string): Promise<ProjectRow> {
  const project = await users.getProject(name);
  if (!project) throw new StintError('NOT_FOUND', `project ${name} does not exist; add it with \`stint admin project add ${name}\``, { project: name });
  return project;
}

async function refuseLastAdmin(users: UserStore, user: UserRow): Promise<void> {
  if (user.role !== 'admin') return;
  const admins = (await users.listUsers()).filter((u) => u.role === 'admin');
  if (admins.length <= 1) {
    throw new StintError('CONFLICT', `${user.name} is the last admin; add another admin (stint admin user add NAME --admin) before removing it`, { user: user.name });
  }
}
