// Who may do what: pure functions of the caller (user, role, project roles) and the job, used by
// every route. Invariants: every refusal is StintError FORBIDDEN naming its rule in the message
// and in details.rule (stable names, listed in RULES); an admin is never refused; a viewer only
// reads the queue, the GPUs and its own tokens; project-admin rights count only for members.
//
//   rule                                      who passes
//   submit.member-or-admin                    admin, member (viewers cannot submit or upload)
//   job.details.owner-or-project-admin        admin, the job's owner, an admin of its project
//   logs.owner-or-project-admin               same
//   telemetry.owner-or-project-admin          same
//   cancel.owner-or-project-admin             same
//   admin.admin-only                          admin (users, projects, audit)
//   tokens.self-or-admin                      the token's user, admin
//   projects.members.admin-or-project-admin   admin, an admin of that project
//
// Everyone who holds a valid token reads the queue (owner, project, resources, state) and the GPUs.
// Ownership is the owner's user id (job.ownerId === caller.id), never the name: a new user who
// takes a removed user's name is another id and gets nothing of the old one's jobs.

import { StintError } from '../core/errors.js';
import type { ProjectRole, UserRole } from '../store/users.js';

export interface Caller {
  id: number;
  name: string;
  role: UserRole;
  /** The caller's role in each project it belongs to. */
  projects: Readonly<Record<string, ProjectRole>>;
}

/** What the rules need to know of a job. */
export interface JobOwnership {
  id: number;
  /** The owner's name, for messages only. */
  owner: string;
  /** The owner's user id: ownership is this id, never the name (a removed user's name may be reused). */
  ownerId: number | null;
  project: string | null;
}

/** Why a caller may touch a job's private parts. */
export type Grant = 'admin' | 'owner' | 'project-admin';

export const RULES = {
  submit: 'submit.member-or-admin',
  jobDetails: 'job.details.owner-or-project-admin',
  logs: 'logs.owner-or-project-admin',
  telemetry: 'telemetry.owner-or-project-admin',
  cancel: 'cancel.owner-or-project-admin',
  admin: 'admin.admin-only',
  tokens: 'tokens.self-or-admin',
  members: 'projects.members.admin-or-project-admin',
} as const;
export type Rule = (typeof RULES)[keyof typeof RULES];

/** The caller's standing towards a job's spec, events, logs and cancellation; null: none. */
export function jobGrant(caller: Caller, job: JobOwnership): Grant | null {
  if (caller.role === 'admin') return 'admin';
  if (caller.role !== 'member') return null;
  if (job.ownerId !== null && job.ownerId === caller.id) return 'owner';
  if (job.project !== null && caller.projects[job.project] === 'admin') return 'project-admin';
  return null;
}

export function assertCanSubmit(caller: Caller): void {
  if (caller.role === 'admin' || caller.role === 'member') return;
  throw forbidden(RULES.submit, `${caller.name} is a viewer: viewers read the queue and GPUs but cannot submit jobs or upload workdirs`, caller);
}

export function canSeeJobDetails(caller: Caller, job: JobOwnership): boolean {
  return jobGrant(caller, job) !== null;
}

export function assertCanReadLogs(caller: Caller, job: JobOwnership): Grant {
  return assertJobGrant(caller, job, RULES.logs, 'read the logs of');
}

export function assertCanReadTelemetry(caller: Caller, job: JobOwnership): Grant {
  return assertJobGrant(caller, job, RULES.telemetry, 'read the GPU telemetry of');
}

export function assertCanCancel(caller: Caller, job: JobOwnership): Grant {
  return assertJobGrant(caller, job, RULES.cancel, 'cancel');
}

export function assertAdmin(caller: Caller, what: string): void {
  if (caller.role === 'admin') return;
  throw forbidden(RULES.admin, `only admins may ${what}; ${caller.name} is a ${caller.role}`, caller);
}

/** Creating, listing or revoking tokens of `userName`. */
export function assertCanManageTokens(caller: Caller, userName: string): void {
  if (caller.role === 'admin' || caller.name === userName) return;
  throw forbidden(RULES.tokens, `only ${userName} and admins may manage ${userName}'s tokens`, caller, { user: userName });
}

/** Adding, changing or removing members of `project`. */
export function assertCanManageMembers(caller: Caller, project: string): void {
  if (caller.role === 'admin') return;
  if (caller.role === 'member' && caller.projects[project] === 'admin') return;
  throw forbidden(RULES.members, `only admins and admins of project ${project} may change its members`, caller, { project });
}

function assertJobGrant(caller: Caller, job: JobOwnership, rule: Rule, verb: string): Grant {
  const grant = jobGrant(caller, job);
  if (grant) return grant;
  const who = caller.role === 'viewer' ? `${caller.name} is a viewer, and viewers may only read the queue and GPUs` : `it belongs to ${job.owner}`;
  const project = job.project === null ? '' : ` (project ${job.project})`;
  throw forbidden(rule, `${caller.name} may not ${verb} job ${job.id}${project}: ${who}; only its owner, admins of its project and admins may`, caller, { job: job.id, owner: job.owner, project: job.project });
}

function forbidden(rule: Rule, message: string, caller: Caller, details: Record<string, unknown> = {}): StintError {
  return new StintError('FORBIDDEN', `${message} (rule ${rule})`, { rule, caller: caller.name, role: caller.role, ...details });
}
