// Turns user-store rows into the wire format of src/api/admin-schemas.ts: the one place that
// decides what a client sees of users, tokens, projects and audit entries. Invariant: no token
// and no token hash ever passes through here (the store rows carry neither).

import type { AuditEntryView, ProjectView, TokenView, UserView } from '../api/admin-schemas.js';
import type { AuditRow, Membership, ProjectRow, TokenRow, UserRow } from '../store/users.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function userView(user: UserRow, projects: readonly Membership[]): UserView {
  return { id: user.id, name: user.name, role: user.role, createdAt: iso(user.createdAt)!, removedAt: iso(user.removedAt), unixUser: user.unixUser, projects: [...projects] };
}

/** Each user's memberships, from the project list (one query for all users). */
export function membershipsByUser(projects: readonly ProjectRow[]): Map<number, Membership[]> {
  const byUser = new Map<number, Membership[]>();
  for (const project of projects) {
    for (const member of project.members) {
      const list = byUser.get(member.userId) ?? [];
      list.push({ project: project.name, role: member.role });
      byUser.set(member.userId, list);
    }
  }
  return byUser;
}

export function tokenView(token: TokenRow): TokenView {
  return {
    id: token.id,
    user: token.userName,
    label: token.label,
    createdAt: iso(token.createdAt)!,
    revokedAt: iso(token.revokedAt),
    lastUsedAt: iso(token.lastUsedAt),
  };
}

export function projectView(project: ProjectRow): ProjectView {
  return { name: project.name, createdAt: iso(project.createdAt)!, members: project.members.map((m) => ({ user: m.userName, role: m.role })) };
}

export function auditView(entry: AuditRow): AuditEntryView {
  return { id: entry.id, at: iso(entry.at)!, actor: entry.actor, action: entry.action, target: entry.target, details: entry.details };
}
