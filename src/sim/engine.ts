// The event-driven replay: a virtual clock that jumps from one instant with news (arrivals,
// completions) to the next; at each such instant every completion is applied, then every arrival,
// then the policy makes one pass. Jobs that can never fit the cluster are left out and reported.
// Always: time never goes back; a job starts only on GPUs that are free; every job that fits the
// cluster ends (the loop stops only when nothing is pending, running or still to arrive).

import { SimCluster, type Allocation } from './cluster.js';
import { newSimJob, type PassContext, type SimJob, type SimPolicy } from './job.js';
import { Recorder, type SimResult } from './metrics.js';
import type { TraceJob } from './trace.js';

export interface ReplayInput {
  jobs: readonly TraceJob[];
  nodes: number;
  gpusPerNode: number;
  /** Tenant -> weight for fairness (guaranteed GPUs); tenants absent get the mean weight (1 if none). */
  weights?: ReadonlyMap<string, number>;
}

export interface Replay {
  result: SimResult;
  jobs: SimJob[];
  recorder: Recorder;
  /** Jobs left out because they need more GPUs than the cluster has. */
  tooLarge: TraceJob[];
}

interface Completion {
  at: number;
  job: SimJob;
  run: number;
}

/** Binary min-heap of completions by time, then job id. */
class CompletionHeap {
  private readonly items: Completion[] = [];
  get size(): number {
    return this.items.length;
  }
  peek(): Completion | undefined {
    return this.items[0];
  }
  push(item: Completion): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(a[i]!, a[parent]!)) break;
      [a[i], a[parent]] = [a[parent]!, a[i]!];
      i = parent;
    }
  }
  pop(): Completion | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l]!, a[m]!)) m = l;
        if (r < a.length && this.less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
  private less(a: Completion, b: Completion): boolean {
    return a.at !== b.at ? a.at < b.at : a.job.trace.id < b.job.trace.id;
  }
}

function tenantWeights(tenants: readonly string[], weights?: ReadonlyMap<string, number>): number[] {
  if (!weights || weights.size === 0) return tenants.map(() => 1);
  const known = [...weights.values()];
  const fallback = known.reduce((a, b) => a + b, 0) / known.length || 1;
  return tenants.map((t) => weights.get(t) ?? fallback);
}

export function replay(input: ReplayInput, policy: SimPolicy): Replay {
  const began = performance.now();
  const cpuBegan = process.cpuUsage();
  const cluster = new SimCluster(input.nodes, input.gpusPerNode);
  const tooLarge = input.jobs.filter((j) => !cluster.canEverHold(j.gpus));
  const jobs = input.jobs.filter((j) => cluster.canEverHold(j.gpus)).map(newSimJob);
  const tenants = [...new Set(jobs.map((j) => j.trace.tenant))].sort();
  const tenantIndex = new Map(tenants.map((t, i) => [t, i]));
  const recorder = new Recorder(tenants, tenantWeights(tenants, input.weights), cluster.totalGpus);
  const completions = new CompletionHeap();
  const running = new Set<SimJob>();
  const byId = new Map<number, SimJob>();
  let preemptions = 0;
  let passes = 0;
  let now = 0;
  let freed = false;
  const tenantOf = (job: SimJob) => tenantIndex.get(job.trace.tenant)!;

  const ctx: PassContext = {
    get now() {
      return now;
    },
    cluster,
    running,
    runningById: byId,
    start(job: SimJob, allocation: Allocation) {
      if (job.state !== 'pending') throw new Error(`simulator invariant broken: job ${job.trace.id} started while ${job.state}`);
      cluster.take(allocation, job.trace.id);
      job.state = 'running';
      job.allocation = allocation;
      job.queued += now - job.pendingSince;
      job.startedAt = now;
      running.add(job);
      byId.set(job.trace.id, job);
      recorder.change(tenantOf(job), 0, job.trace.gpus);
      completions.push({ at: now + job.remaining, job, run: job.run });
    },
    stop(job: SimJob, resume: boolean) {
      if (job.state !== 'running') throw new Error(`simulator invariant broken: job ${job.trace.id} stopped while ${job.state}`);
      cluster.release(job.allocation!, job.trace.id);
      freed = true;
      running.delete(job);
      byId.delete(job.trace.id);
      job.gpuSeconds += (now - job.startedAt) * job.trace.gpus;
      job.remaining = resume ? job.remaining - (now - job.startedAt) : job.trace.duration;
      job.state = 'pending';
      job.pendingSince = now;
      job.allocation = null;
      job.preemptions++;
      job.run++;
      preemptions++;
      recorder.change(tenantOf(job), 0, -job.trace.gpus);
      policy.enqueue(job, now);
    },
  };

  let next = 0;
  while (next < jobs.length || completions.size > 0) {
    const arrival = next < jobs.length ? jobs[next]!.trace.submit : Infinity;
    const completion = completions.peek()?.at ?? Infinity;
    now = Math.min(arrival, completion);
    recorder.advance(now);
    freed = false;
    while ((completions.peek()?.at ?? Infinity) <= now) {
      const { job, run } = completions.pop()!;
      if (run !== job.run || job.state !== 'running') continue;
      cluster.release(job.allocation!, job.trace.id);
      freed = true;
      running.delete(job);
      byId.delete(job.trace.id);
      job.state = 'done';
      job.end = now;
      job.gpuSeconds += (now - job.startedAt) * job.trace.gpus;
      job.allocation = null;
      recorder.change(tenantOf(job), -job.trace.gpus, -job.trace.gpus);
      policy.finished(job, now);
    }
    let arrived = false;
    while (next < jobs.length && jobs[next]!.trace.submit <= now) {
      const job = jobs[next++]!;
      job.state = 'pending';
      job.pendingSince = now;
      recorder.change(tenantOf(job), job.trace.gpus, 0);
      policy.enqueue(job, now);
      arrived = true;
    }
    if (policy.pendingCount() > 0 && (freed || arrived)) {
      // A pass that stopped jobs (preemption) is followed by one more, so the freed GPUs are used now.
      for (let round = 0; round < 2; round++) {
        const before = preemptions;
        passes++;
        policy.pass(ctx, { freed, arrived });
        if (preemptions === before) break;
      }
    }
    recorder.sample(now, policy.pendingCount());
  }
  const seconds = (performance.now() - began) / 1000;
  const cpu = process.cpuUsage(cpuBegan);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return { result: recorder.result(policy.name, jobs, { preemptions, passes, seconds, cpuSeconds }), jobs, recorder, tooLarge };
}
