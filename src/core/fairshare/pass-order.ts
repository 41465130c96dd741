// The order of one scheduling pass under fair share: yields pending jobs highest multifactor
// priority first, and when the caller reports a job placed, charges that job's allocation to its
// member as in-use usage and re-ranks fair share before yielding the next job. Without this, one
// pass would hand every free GPU to whichever user happened to sort first.
// Always: each job is yielded exactly once; between placements the order is (priority desc,
// submittedAt asc, id asc) with priority = multifactorPriority at that moment; the caller's
// usage table is never mutated.

import { FairTree, type UserNode } from './fair-tree.js';
import { ageFactor, explicitFactor, multifactorPriority, sizeFactor, staticPriority, type JobPriority, type PriorityConfig, type PriorityFactors, type PriorityJob } from './priority.js';
import { rankedShares, rawProjects, type FairShare, type FairShareOptions, type ShareTree } from './tree.js';
import { billingRate, type Allocation, type UsageConfig, type UsageTable } from './usage.js';

export interface PassJob extends PriorityJob {
  id: number;
  /** What the job holds once placed (its largest alternative, or the one the caller will place). */
  allocation: Allocation;
}

export interface PassInput {
  tree: ShareTree;
  /** Usage at `now` (usageAt), including running attempts. */
  usage: UsageTable;
  now: number;
  clusterGpus: number;
  usageConfig: UsageConfig;
  fairShare: FairShareOptions;
  priority: PriorityConfig;
}

interface Group<J extends PassJob> {
  project: string;
  user: string;
  node: UserNode | null;
  /** Priority of the group's next job (fair share at the last re-rank + its base). */
  score: number;
  /** Sorted best first by the priority without fair share. */
  jobs: { job: J; base: number }[];
  next: number;
}

function byBase(a: { job: PassJob; base: number }, b: { job: PassJob; base: number }): number {
  return b.base - a.base || a.job.submittedAt - b.job.submittedAt || a.job.id - b.job.id;
}

export class FairPassOrder<J extends PassJob> {
  private readonly model: FairTree;
  private readonly groups: Group<J>[];
  private heap: Group<J>[] = [];
  private count = 0;

  constructor(
    jobs: readonly J[],
    private readonly input: PassInput,
  ) {
    this.groups = this.group(jobs);
    const { tree, usage, fairShare: options } = input;
    this.model = new FairTree(rawProjects(tree, usage, this.groups), usage, options.inUseChargeMs);
    for (const group of this.groups) group.node = this.model.node(group.project, group.user)!;
    this.rerank();
  }

  /** The next job in priority order, or undefined when every job was yielded. */
  next(): J | undefined {
    const group = this.heap[0];
    if (group === undefined) return undefined;
    const { job } = group.jobs[group.next++]!;
    if (group.next < group.jobs.length) {
      group.score = this.score(group);
      siftDown(this.heap, 0, this.before);
    }
    else popTop(this.heap, this.before);
    return job;
  }

  /** Reports a yielded job placed: its member now holds its allocation, and fair share is re-ranked. */
  placed(job: J): void {
    this.model.hold(job.project, job.user, billingRate(job.allocation, this.input.usageConfig.billing));
    this.rerank();
  }

  /** The fair-share ranking as it stands (after the placements reported so far). */
  fairShare(): FairShare {
    return rankedShares(this.model);
  }

  private group(jobs: readonly J[]): Group<J>[] {
    const byProject = new Map<string, Map<string, Group<J>>>();
    const groups: Group<J>[] = [];
    const { now, clusterGpus, priority } = this.input;
    for (const job of jobs) {
      let users = byProject.get(job.project);
      if (users === undefined) byProject.set(job.project, (users = new Map()));
      let group = users.get(job.user);
      if (group === undefined) {
        users.set(job.user, (group = { project: job.project, user: job.user, node: null, score: 0, jobs: [], next: 0 }));
        groups.push(group);
      }
      const factors: Omit<PriorityFactors, 'fairShare'> = {
        age: ageFactor(job.submittedAt, now, priority.maxAgeMs),
        explicit: explicitFactor(job.priority),
        size: sizeFactor(job.gpus, clusterGpus, priority.favorSmall),
      };
      group.jobs.push({ job, base: staticPriority(factors, priority.weights) });
    }
    for (const group of groups) group.jobs.sort(byBase);
    return groups;
  }

  private rerank(): void {
    this.count = this.model.rank().length;
    this.heap = this.groups.filter((g) => g.next < g.jobs.length);
    for (const group of this.heap) group.score = this.score(group);
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) siftDown(this.heap, i, this.before);
  }

  private score(group: Group<J>): number {
    const factor = group.node!.rank / this.count;
    return this.input.priority.weights.fairShare * factor + group.jobs[group.next]!.base;
  }

  /** true when group a's next job goes before group b's. */
  private readonly before = (a: Group<J>, b: Group<J>): boolean => {
    if (a.score !== b.score) return a.score > b.score;
    const ja = a.jobs[a.next]!.job;
    const jb = b.jobs[b.next]!.job;
    return ja.submittedAt !== jb.submittedAt ? ja.submittedAt < jb.submittedAt : ja.id < jb.id;
  };
}

/** The priority a job has at the start of a pass (what `stint queue` shows), given a ranking. */
export function passPriority(job: PriorityJob, shares: FairShare, input: Pick<PassInput, 'now' | 'clusterGpus' | 'priority'>): JobPriority {
  return multifactorPriority(job, { now: input.now, clusterGpus: input.clusterGpus, fairShare: shares.factor }, input.priority);
}

function siftDown<T>(heap: T[], start: number, before: (a: T, b: T) => boolean): void {
  let i = start;
  for (;;) {
    const left = 2 * i + 1;
    if (left >= heap.length) return;
    const right = left + 1;
    const child = right < heap.length && before(heap[right]!, heap[left]!) ? right : left;
    if (!before(heap[child]!, heap[i]!)) return;
    [heap[i], heap[child]] = [heap[child]!, heap[i]!];
    i = child;
  }
}

function popTop<T>(heap: T[], before: (a: T, b: T) => boolean): void {
  const last = heap.pop()!;
  if (heap.length === 0) return;
  heap[0] = last;
  siftDown(heap, 0, before);
}
