// Slurm's Fair Tree ranking over stint's two levels (projects, then users in a project), kept as a
// small mutable model so that one scheduling pass can charge a placement to a member and re-rank in
// O(projects · log projects + members) instead of rebuilding everything.
// Order: sibling projects by level fair share (normalised shares / normalised usage, Infinity for
// no usage), highest first; inside a project its members the same way; projects with equal level
// are one group whose members are ordered together. Ranks count down from the number of members;
// equal members share a rank. Always: after rank(), every member has 1 ≤ rank ≤ count.

import type { MemberUsage, UsageTable } from './usage.js';
import { HOUR_MS } from './usage.js';

export interface UserNode {
  readonly name: string;
  readonly project: ProjectNode;
  /** Shares normalised among the project's users. */
  readonly share: number;
  consumed: number;
  heldRate: number;
  /** Effective usage: consumed + heldRate × in-use charge, in GPU-hours. */
  usage: number;
  /** Level fair share within the project; Infinity for no usage. */
  level: number;
  readonly member: boolean;
  rank: number;
}

export interface ProjectNode {
  readonly name: string;
  /** Shares normalised among all projects. */
  readonly share: number;
  usage: number;
  /** share / usage: orders projects as their level fair share does (they differ by a common factor). */
  key: number;
  readonly users: UserNode[];
  readonly byName: Map<string, UserNode>;
  /** Members only, best first. */
  members: UserNode[];
  dirty: boolean;
}

export interface RawProject {
  name: string;
  shares: number;
  users: { name: string; shares: number; member: boolean }[];
}

function byLevel(a: UserNode, b: UserNode): number {
  if (a.level !== b.level) return a.level > b.level ? -1 : 1;
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.project.name < b.project.name ? -1 : a.project.name > b.project.name ? 1 : 0;
}

function byKey(a: ProjectNode, b: ProjectNode): number {
  if (a.key !== b.key) return a.key > b.key ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export class FairTree {
  readonly projects: ProjectNode[];
  private readonly byName = new Map<string, ProjectNode>();
  private readonly inUseHours: number;
  private ordered: UserNode[] = [];

  constructor(raw: readonly RawProject[], usage: UsageTable, inUseChargeMs: number) {
    this.inUseHours = inUseChargeMs / HOUR_MS;
    const totalShares = raw.reduce((sum, p) => sum + p.shares, 0);
    this.projects = raw.map((p) => this.project(p, p.shares / totalShares, usage.get(p.name)));
    for (const project of this.projects) this.byName.set(project.name, project);
  }

  node(project: string, user: string): UserNode | undefined {
    return this.byName.get(project)?.byName.get(user);
  }

  /** Sum of every project's effective usage (GPU-hours). */
  totalUsage(): number {
    return this.projects.reduce((sum, p) => sum + p.usage, 0);
  }

  /** A placement: the member now also holds `rate` GPU-equivalents. */
  hold(project: string, user: string, rate: number): void {
    const node = this.node(project, user);
    if (node === undefined) throw new RangeError(`member ${user} of project ${project} is not in the tree`);
    node.heldRate += rate;
    this.refresh(node);
    this.refreshProject(node.project);
  }

  /** Members in rank order, best first, with `rank` set. */
  rank(): readonly UserNode[] {
    for (const project of this.projects) if (project.dirty) this.sortMembers(project);
    const ordered: UserNode[] = [];
    for (const group of this.groups()) {
      if (group.length === 1) ordered.push(...group[0]!.members);
      else ordered.push(...group.flatMap((p) => p.members).sort(byLevel));
    }
    const count = ordered.length;
    ordered.forEach((node, i) => {
      const previous = ordered[i - 1];
      node.rank = previous !== undefined && previous.project.key === node.project.key && previous.level === node.level ? previous.rank : count - i;
    });
    this.ordered = ordered;
    return ordered;
  }

  count(): number {
    return this.ordered.length;
  }

  private project(raw: RawProject, share: number, usage: Map<string, MemberUsage> | undefined): ProjectNode {
    const project: ProjectNode = { name: raw.name, share, usage: 0, key: Infinity, users: [], byName: new Map(), members: [], dirty: true };
    const totalShares = raw.users.reduce((sum, u) => sum + u.shares, 0);
    for (const u of raw.users) {
      const used = usage?.get(u.name);
      const node: UserNode = { name: u.name, project, share: u.shares / totalShares, consumed: used?.consumed ?? 0, heldRate: used?.heldRate ?? 0, usage: 0, level: Infinity, member: u.member, rank: 0 };
      this.refresh(node);
      project.users.push(node);
      project.byName.set(u.name, node);
    }
    project.members = project.users.filter((u) => u.member);
    this.refreshProject(project);
    return project;
  }

  private refresh(node: UserNode): void {
    node.usage = node.consumed + node.heldRate * this.inUseHours;
  }

  private refreshProject(project: ProjectNode): void {
    project.usage = project.users.reduce((sum, u) => sum + u.usage, 0);
    project.key = project.usage > 0 ? project.share / project.usage : Infinity;
    project.dirty = true;
  }

  private sortMembers(project: ProjectNode): void {
    for (const user of project.members) user.level = user.usage > 0 ? (user.share * project.usage) / user.usage : Infinity;
    project.members.sort(byLevel);
    project.dirty = false;
  }

  /** Projects in order, those with equal keys grouped. */
  private groups(): ProjectNode[][] {
    const groups: ProjectNode[][] = [];
    for (const project of [...this.projects].sort(byKey)) {
      const last = groups[groups.length - 1];
      if (last !== undefined && last[0]!.key === project.key) last.push(project);
      else groups.push([project]);
    }
    return groups;
  }
}
