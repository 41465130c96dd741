// The share tree (projects hold shares of the cluster, users hold shares of their project), the
// members' effective usage, and the fair-share report: each ranked (project, user) with its Fair
// Tree factor (rank / number ranked; the ranking itself is fair-tree.ts). Pure: usage and time
// come from the caller.
// Always: every factor is in (0, 1]; if project A's level fair share is above project B's, every
// ranked user of A gets a higher factor than every ranked user of B; equal shares and equal usage
// give equal factors; a project or user the tree does not list holds DEFAULT_SHARES.

import { StintError } from '../errors.js';
import { FairTree, type RawProject, type UserNode } from './fair-tree.js';
import { HOUR_MS, type MemberUsage, type UsageTable } from './usage.js';

export const DEFAULT_SHARES = 1;
/** A running job counts as if it had already held its allocation this long (see docs/fair-share.md). */
export const DEFAULT_IN_USE_CHARGE_MS = HOUR_MS;

export interface ShareTreeInput {
  projects: { name: string; shares?: number; users?: { name: string; shares?: number }[] }[];
}

export interface ShareTree {
  readonly projects: ReadonlyMap<string, { readonly shares: number; readonly users: ReadonlyMap<string, number> }>;
}

export interface Member {
  project: string;
  user: string;
}

export interface FairShareOptions {
  /** Effective usage = consumed GPU-hours + held rate × this (in ms). 0 = history only. */
  inUseChargeMs: number;
}

export const DEFAULT_FAIR_SHARE_OPTIONS: Readonly<FairShareOptions> = Object.freeze({ inUseChargeMs: DEFAULT_IN_USE_CHARGE_MS });

/** One ranked member, with every number `stint queue` or a share report may show. */
export interface MemberShare extends Member {
  /** Shares normalised among sibling projects / among the project's users. */
  projectShare: number;
  userShare: number;
  /** Effective usage (GPU-hours) normalised the same way; 0 when the level has no usage. */
  projectUsage: number;
  userUsage: number;
  /** Level fair share = share / usage at each level; Infinity for no usage. */
  projectLevel: number;
  userLevel: number;
  /** Effective usage in GPU-hours (consumed + in-use charge). */
  usageHours: number;
  /** 1..count; equal members share a rank. */
  rank: number;
  /** rank / count, in (0, 1]. */
  factor: number;
}

export interface FairShare {
  /** Ranked members, highest factor first. */
  readonly members: readonly MemberShare[];
  /** The factor of a ranked member; throws for a member that was not ranked. */
  factor(project: string, user: string): number;
}

function checkShares(shares: number | undefined, field: string): number {
  const value = shares ?? DEFAULT_SHARES;
  if (!Number.isFinite(value) || value <= 0) {
    throw new StintError('INVALID_REQUEST', `${field}: shares must be a positive number, got ${String(value)}`, { field, value });
  }
  return value;
}

function readUsers(users: NonNullable<ShareTreeInput['projects'][number]['users']>, field: string): Map<string, number> {
  const result = new Map<string, number>();
  users.forEach((user, i) => {
    if (result.has(user.name)) throw new StintError('INVALID_REQUEST', `${field}[${i}]: user ${user.name} is listed twice`, { field });
    result.set(user.name, checkShares(user.shares, `${field}[${i}].shares`));
  });
  return result;
}

/** Validates the configured tree once; missing shares default to DEFAULT_SHARES. */
export function buildShareTree(input: ShareTreeInput): ShareTree {
  const projects = new Map<string, { shares: number; users: Map<string, number> }>();
  input.projects.forEach((project, i) => {
    const field = `projects[${i}]`;
    if (projects.has(project.name)) throw new StintError('INVALID_REQUEST', `${field}: project ${project.name} is listed twice`, { field });
    const shares = checkShares(project.shares, `${field}.shares`);
    projects.set(project.name, { shares, users: readUsers(project.users ?? [], `${field}.users`) });
  });
  return { projects };
}

export function projectShares(tree: ShareTree, project: string): number {
  return tree.projects.get(project)?.shares ?? DEFAULT_SHARES;
}

export function userShares(tree: ShareTree, project: string, user: string): number {
  return tree.projects.get(project)?.users.get(user) ?? DEFAULT_SHARES;
}

export function effectiveUsage(usage: MemberUsage | undefined, options: FairShareOptions): number {
  if (usage === undefined) return 0;
  return usage.consumed + (usage.heldRate * options.inUseChargeMs) / HOUR_MS;
}

/** Effective usage (GPU-hours, in-use charge included) summed per project and per user across projects. */
export function usageTotals(usage: UsageTable, options: FairShareOptions = DEFAULT_FAIR_SHARE_OPTIONS): { projects: Map<string, number>; users: Map<string, number> } {
  const projects = new Map<string, number>();
  const users = new Map<string, number>();
  for (const [project, members] of usage) {
    for (const [user, used] of members) {
      const hours = effectiveUsage(used, options);
      projects.set(project, (projects.get(project) ?? 0) + hours);
      users.set(user, (users.get(user) ?? 0) + hours);
    }
  }
  return { projects, users };
}

/** Every project and user known — listed in the tree, with usage, or a member — with their raw shares. */
export function rawProjects(tree: ShareTree, usage: UsageTable, members: Iterable<Member> | undefined): RawProject[] {
  const known = new Map<string, Map<string, boolean>>();
  const add = (project: string, user: string | undefined, member: boolean) => {
    let users = known.get(project);
    if (users === undefined) known.set(project, (users = new Map()));
    if (user !== undefined) users.set(user, member || (users.get(user) ?? false));
  };
  const everyone = members === undefined;
  for (const [project, { users }] of tree.projects) {
    add(project, undefined, false);
    for (const user of users.keys()) add(project, user, everyone);
  }
  for (const [project, users] of usage) for (const user of users.keys()) add(project, user, everyone);
  for (const { project, user } of members ?? []) add(project, user, true);
  return [...known].map(([project, users]) => ({
    name: project,
    shares: projectShares(tree, project),
    users: [...users].map(([user, member]) => ({ name: user, shares: userShares(tree, project, user), member })),
  }));
}

function toShare(node: UserNode, totalUsage: number, count: number): MemberShare {
  const project = node.project;
  return {
    project: project.name,
    user: node.name,
    projectShare: project.share,
    userShare: node.share,
    projectUsage: totalUsage > 0 ? project.usage / totalUsage : 0,
    userUsage: project.usage > 0 ? node.usage / project.usage : 0,
    projectLevel: project.usage > 0 ? project.key * totalUsage : Infinity,
    userLevel: node.level,
    usageHours: node.usage,
    rank: node.rank,
    factor: node.rank / count,
  };
}

/** The factor lookup and the report of a ranked FairTree. */
export function rankedShares(model: FairTree): FairShare {
  const ordered = model.rank();
  const count = ordered.length;
  const totalUsage = model.totalUsage();
  const factor = (project: string, user: string): number => {
    const node = model.node(project, user);
    if (node === undefined || !node.member) throw new RangeError(`member ${user} of project ${project} was not ranked; pass it in members`);
    return node.rank / count;
  };
  return { members: ordered.map((node) => toShare(node, totalUsage, count)), factor };
}

/**
 * Fair-share factors by Fair Tree. `members` are the (project, user) pairs to rank — the scheduler
 * passes those with pending jobs; omitted, every member the tree or the usage knows is ranked.
 * Usage of members not ranked still counts in their project's usage.
 */
export function fairShare(tree: ShareTree, usage: UsageTable, options: FairShareOptions = DEFAULT_FAIR_SHARE_OPTIONS, members?: Iterable<Member>): FairShare {
  return rankedShares(new FairTree(rawProjects(tree, usage, members), usage, options.inUseChargeMs));
}
