// The wire format of users, tokens, projects and the audit log, shared by the server (validation,
// OpenAPI) and the CLI. Times are ISO 8601 strings. Invariants: a plain token appears only in the
// answer that creates it (`token` of AddUserResponse and CreateTokenResponse), never in a list,
// an audit entry or an error; a token's hash never appears at all.

import { z } from 'zod';

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}$/;
const nameOf = (what: string) =>
  z.string().regex(NAME, `a ${what} name is 1-64 letters, digits and _ . @ -, not starting with . @ or -`);

export const UserNameSchema = nameOf('user');
export const ProjectNameSchema = nameOf('project');
export const UserRoleSchema = z.enum(['admin', 'member', 'viewer']);
export const ProjectRoleSchema = z.enum(['admin', 'member']);

export const MembershipSchema = z.object({ project: z.string(), role: ProjectRoleSchema });

export const UserViewSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  role: UserRoleSchema,
  createdAt: z.string(),
  removedAt: z.string().nullable(),
  unixUser: z.string().nullable().describe('the Unix account this user\'s jobs run as on a root server'),
  projects: z.array(MembershipSchema),
});
export type UserView = z.infer<typeof UserViewSchema>;

export const MeSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  role: UserRoleSchema,
  projects: z.array(MembershipSchema),
  csrfToken: z.string().optional().describe('only when called with the web session cookie: the X-CSRF-Token for changes (src/api/session-schemas.ts)'),
});
export type MeView = z.infer<typeof MeSchema>;

export const AddUserRequestSchema = z.object({ name: UserNameSchema, role: UserRoleSchema.default('member') });

export const TokenViewSchema = z.object({
  id: z.number().int(),
  user: z.string(),
  label: z.string().nullable(),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
  lastUsedAt: z.string().nullable().describe('when the token was last accepted (to within a few seconds)'),
});
export type TokenView = z.infer<typeof TokenViewSchema>;

export const AddUserResponseSchema = z.object({
  user: UserViewSchema,
  token: z.string().describe('the new user\'s API token; shown only in this answer'),
  tokenInfo: TokenViewSchema,
});

export const UserListQuerySchema = z.object({ all: z.enum(['true', 'false']).optional().describe('include removed users') });
export const UserListSchema = z.object({ users: z.array(UserViewSchema) });
export const UserParamsSchema = z.object({ name: z.string() });
export const RemoveUserResponseSchema = z.object({ user: UserViewSchema, revokedTokens: z.number().int() });

export const CreateTokenRequestSchema = z.object({
  user: UserNameSchema.optional().describe('whose token (admins only for another user); default: the caller'),
  label: z.string().max(100).optional(),
});
export const CreateTokenResponseSchema = z.object({
  token: z.string().describe('the API token; shown only in this answer'),
  tokenInfo: TokenViewSchema,
});
export const TokenListQuerySchema = z.object({ user: z.string().optional().describe('whose tokens (admins only for another user)') });
export const TokenListSchema = z.object({ tokens: z.array(TokenViewSchema) });
export const TokenParamsSchema = z.object({ id: z.coerce.number().int().positive() });
export const RevokeTokenResponseSchema = z.object({ tokenInfo: TokenViewSchema });

export const ProjectMemberSchema = z.object({ user: z.string(), role: ProjectRoleSchema });
export const ProjectViewSchema = z.object({ name: z.string(), createdAt: z.string(), members: z.array(ProjectMemberSchema) });
export type ProjectView = z.infer<typeof ProjectViewSchema>;
export const AddProjectRequestSchema = z.object({ name: ProjectNameSchema });
export const ProjectListSchema = z.object({ projects: z.array(ProjectViewSchema) });
export const ProjectParamsSchema = z.object({ name: z.string() });
export const MemberParamsSchema = z.object({ name: z.string(), user: z.string() });
export const SetMemberRequestSchema = z.object({ role: ProjectRoleSchema.default('member') });

export const AuditEntrySchema = z.object({
  id: z.number().int(),
  at: z.string(),
  actor: z.string(),
  action: z.string().describe('e.g. user.add, user.remove, token.create, token.revoke, project.add, project.member.set, project.member.remove, job.cancel'),
  target: z.string().describe('e.g. user/alice, token/7, project/vision, job/12'),
  details: z.record(z.string(), z.unknown()),
});
export type AuditEntryView = z.infer<typeof AuditEntrySchema>;
export const AuditQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
  before: z.coerce.number().int().optional().describe('only entries with a smaller id (paging back)'),
});
export const AuditListSchema = z.object({ entries: z.array(AuditEntrySchema) });

export const ProjectQuotaSchema = z.object({
  project: z.string(),
  guaranteed: z.record(z.string(), z.number().int().min(0)).describe('GPUs guaranteed per GPU type, e.g. {"A100": 2}'),
  maxGpus: z.number().int().min(0).optional().describe('most GPUs the project may hold at once'),
  maxQueued: z.number().int().min(0).optional().describe('most jobs the project may have queued'),
});
export const SetQuotaRequestSchema = ProjectQuotaSchema.omit({ project: true });
export const QuotaListSchema = z.object({ quotas: z.array(ProjectQuotaSchema) });

export const SetUnixUserRequestSchema = z.object({
  unixUser: z.string().regex(/^[a-z_][a-z0-9_.-]*\$?$/i).nullable().describe('an account on the server machine, or null to remove the mapping'),
});

export const UserCapsSchema = z.object({
  user: z.string(),
  maxGpus: z.number().int().min(0).optional().describe('most GPUs the user may hold at once'),
  maxQueued: z.number().int().min(0).optional().describe('most jobs the user may have queued'),
});
export const SetUserCapsRequestSchema = UserCapsSchema.omit({ user: true });
