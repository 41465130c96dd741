// Which running jobs to preempt so that the head of the queue can start: `choosePreemptions`.
// Two reasons, tried in this order (Kueue: reclaimWithinCohort, then priority preemption):
//  - reclaim: the head fits within its project's guarantee, so it may take GPUs back from jobs
//    of other projects that run on borrowed capacity, whatever their priority;
//  - priority: the head may preempt borrowing jobs (of any project) of strictly lower priority.
// Pure: no I/O; `now` comes from the caller.
// Always: a victim is running, not already terminating, preemptible, borrowing, has run at least
// `minRuntimeMs`, and did not start by preempting a job of the head's (project, priority) class;
// a within-guarantee job is never a victim. All victims are on one node and free, with that node's
// free GPUs, enough GPUs of the head's type there; the set is the smallest that does so, ties going
// to the set that has run the least (youngest). No choice is made when the head could start now or
// once already-terminating jobs end, or when its quota (caps, `preemptible: false`) refuses it.

import type { Node } from '../inventory.js';
import { classifyRunning, QuotaLedger } from './borrowing.js';
import {
  DEFAULT_MIN_RUNTIME_MS,
  type PreemptionChoice,
  type PreemptionKind,
  type PreemptionOptions,
  type QuotaConfig,
  type QuotaPendingJob,
  type QuotaRunningJob,
  type QuotaStanding,
} from './types.js';

/** Beyond this many candidates on one node, victims are picked greedily instead of exactly. */
const EXACT_SEARCH_LIMIT = 20;

interface NodeRoom {
  name: string;
  /** Healthy GPUs of the head's type. */
  healthy: number;
  /** Of those, held by jobs that are not terminating. */
  busy: number;
}

interface VictimSet {
  node: string;
  jobs: QuotaRunningJob[];
  /** Total time the victims have run (ms): the work preemption would throw away. */
  lost: number;
}

export function choosePreemptions(
  head: QuotaPendingJob,
  running: readonly QuotaRunningJob[],
  config: QuotaConfig,
  capacity: readonly Node[],
  now: number,
  options: PreemptionOptions = {},
): PreemptionChoice | null {
  if (head.gpus <= 0) return null;
  const verdict = new QuotaLedger(config, running).check(head);
  if (!verdict.allowed) return null;
  const rooms = nodeRooms(capacity, running, head.gpuType);
  if (rooms.some((room) => room.healthy - room.busy >= head.gpus)) return null;
  const standing = classifyRunning(running, config);
  const minRuntimeMs = options.minRuntimeMs ?? DEFAULT_MIN_RUNTIME_MS;
  const eligible = running.filter((job) => isEligible(job, head, standing, now, minRuntimeMs));
  if (options.reclaim !== false && !verdict.borrowing) {
    const set = bestVictims(head, eligible.filter((job) => job.project !== head.project), rooms, now);
    if (set !== null) return choice(head, set, 'reclaim');
  }
  if (options.priority !== false) {
    const set = bestVictims(head, eligible.filter((job) => job.priority < head.priority), rooms, now);
    if (set !== null) return choice(head, set, 'priority');
  }
  return null;
}

function sameType(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function nodeRooms(capacity: readonly Node[], running: readonly QuotaRunningJob[], gpuType: string): NodeRoom[] {
  const busy = new Map<string, number>();
  for (const job of running) {
    if (job.terminating === true || !sameType(job.gpuType, gpuType)) continue;
    busy.set(job.node, (busy.get(job.node) ?? 0) + job.gpus);
  }
  return capacity.map((node) => ({
    name: node.name,
    healthy: node.gpus.filter((gpu) => gpu.healthy && sameType(gpu.name, gpuType)).length,
    busy: busy.get(node.name) ?? 0,
  }));
}

/** Did `job` start by preempting a job of the head's class (same project and priority, or the head itself)? */
export function startedByPreemptingClassOf(job: QuotaRunningJob, head: QuotaPendingJob): boolean {
  const refs = job.startedByPreempting ?? [];
  return refs.some((ref) => ref.id === head.id || (ref.project === head.project && ref.priority === head.priority));
}

function isEligible(
  job: QuotaRunningJob,
  head: QuotaPendingJob,
  standing: ReadonlyMap<number, QuotaStanding>,
  now: number,
  minRuntimeMs: number,
): boolean {
  return (
    job.terminating !== true &&
    job.gpus > 0 &&
    job.preemptible &&
    sameType(job.gpuType, head.gpuType) &&
    standing.get(job.id) === 'borrowing' &&
    now - job.startedAt >= minRuntimeMs &&
    !startedByPreemptingClassOf(job, head)
  );
}

/** The best victim set over all nodes: fewest jobs, then least work lost, then node name. */
function bestVictims(head: QuotaPendingJob, candidates: readonly QuotaRunningJob[], rooms: readonly NodeRoom[], now: number): VictimSet | null {
  let best: VictimSet | null = null;
  for (const room of rooms) {
    if (room.healthy < head.gpus) continue;
    const onNode = candidates.filter((job) => job.node === room.name);
    const jobs = fewestFreeing(onNode, head.gpus - (room.healthy - room.busy), now);
    if (jobs === null) continue;
    const set: VictimSet = { node: room.name, jobs, lost: workLost(jobs, now) };
    if (best === null || compareSets(set, best) < 0) best = set;
  }
  return best;
}

function workLost(jobs: readonly QuotaRunningJob[], now: number): number {
  return jobs.reduce((sum, job) => sum + (now - job.startedAt), 0);
}

function sortedIds(jobs: readonly QuotaRunningJob[]): number[] {
  return jobs.map((job) => job.id).sort((a, b) => a - b);
}

function compareSets(a: VictimSet, b: VictimSet): number {
  if (a.jobs.length !== b.jobs.length) return a.jobs.length - b.jobs.length;
  if (a.lost !== b.lost) return a.lost - b.lost;
  const [idsA, idsB] = [sortedIds(a.jobs), sortedIds(b.jobs)];
  for (let i = 0; i < idsA.length; i++) if (idsA[i] !== idsB[i]) return idsA[i]! - idsB[i]!;
  return a.node < b.node ? -1 : a.node > b.node ? 1 : 0;
}

/** The smallest set of jobs holding at least `needed` GPUs, the youngest such set; null if none. */
export function fewestFreeing(candidates: readonly QuotaRunningJob[], needed: number, now: number): QuotaRunningJob[] | null {
  const bySize = [...candidates].sort((a, b) => b.gpus - a.gpus || b.startedAt - a.startedAt || a.id - b.id);
  let count = 0;
  for (let sum = 0; count < bySize.length && sum < needed; count++) sum += bySize[count]!.gpus;
  if (bySize.slice(0, count).reduce((sum, job) => sum + job.gpus, 0) < needed) return null;
  if (candidates.length > EXACT_SEARCH_LIMIT) return bySize.slice(0, count);
  return youngestOfSize(candidates, count, needed, now);
}

/** Among sets of exactly `size` jobs freeing `needed` GPUs, the one with the least work lost. */
function youngestOfSize(candidates: readonly QuotaRunningJob[], size: number, needed: number, now: number): QuotaRunningJob[] {
  let best: VictimSet | null = null;
  const picked: QuotaRunningJob[] = [];
  const visit = (from: number, gpus: number): void => {
    if (picked.length === size) {
      if (gpus < needed) return;
      const set: VictimSet = { node: '', jobs: [...picked], lost: workLost(picked, now) };
      if (best === null || compareSets(set, best) < 0) best = set;
      return;
    }
    for (let i = from; i <= candidates.length - (size - picked.length); i++) {
      picked.push(candidates[i]!);
      visit(i + 1, gpus + candidates[i]!.gpus);
      picked.pop();
    }
  };
  visit(0, 0);
  return (best as VictimSet | null)?.jobs ?? [];
}

function choice(head: QuotaPendingJob, set: VictimSet, kind: PreemptionKind): PreemptionChoice {
  const victims = set.jobs.map((job) => job.id).sort((a, b) => a - b);
  const list = set.jobs.map((job) => `${job.id} (${job.project}, ${job.gpus} GPU)`).join(', ');
  const why =
    kind === 'reclaim'
      ? `project ${head.project} takes back its guaranteed ${head.gpuType} GPUs from borrowing jobs`
      : `job ${head.id} (priority ${head.priority}) outranks borrowing jobs of lower priority`;
  const reason = `${why}: preempting ${list} on ${set.node} so that job ${head.id} can start with ${head.gpus} × ${head.gpuType}`;
  return { victims, for: head.id, node: set.node, kind, reason };
}
