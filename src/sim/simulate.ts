// One simulation as a user asks for it: a trace, a cluster (one shared cluster, or with `isolate`
// one cluster per tenant of the quota file, as Helios replays each Philly VC alone) and a policy
// name; returns the metrics, the time series for plots and what was left out and why.
// Always: the same policy code runs in both modes; pooled results count every job exactly once.

import { StintError } from '../core/errors.js';
import { slurmPolicy, stintPolicy, type RuntimeLimits } from './core-policies.js';
import type { ClusterShape, TenantQuota } from './cluster-spec.js';
import { replay } from './engine.js';
import type { SimPolicy } from './job.js';
import { jainOfShares, jobMetrics, type Sample, type SimResult } from './metrics.js';
import { fifoPolicy, sjfPolicy, srtfPolicy } from './simple-policies.js';
import type { TraceJob } from './trace.js';

export const POLICIES = ['fifo', 'sjf', 'srtf', 'slurm', 'stint'] as const;
export type PolicyName = (typeof POLICIES)[number];

export function parsePolicy(name: string, flag = '--policy'): PolicyName {
  if ((POLICIES as readonly string[]).includes(name)) return name as PolicyName;
  throw new StintError('INVALID_REQUEST', `${flag}: "${name}" is not a policy; expected one of ${POLICIES.join(', ')}`, { field: flag, value: name });
}

export function makePolicy(name: PolicyName, guarantees: ReadonlyMap<string, number>, limits: RuntimeLimits): SimPolicy {
  switch (name) {
    case 'fifo':
      return fifoPolicy();
    case 'sjf':
      return sjfPolicy();
    case 'srtf':
      return srtfPolicy();
    case 'slurm':
      return slurmPolicy({ guarantees, limits });
    case 'stint':
      return stintPolicy({ guarantees, limits });
  }
}

export interface SimulationInput {
  jobs: readonly TraceJob[];
  shape: ClusterShape;
  quotas: readonly TenantQuota[] | null;
  /** One cluster per tenant of `quotas` (its guaranteed GPUs, in whole nodes). */
  isolate: boolean;
  limits: RuntimeLimits;
}

export interface Simulation {
  result: SimResult;
  samples: Sample[];
  capacity: number;
  /** Jobs not replayed: too large for their cluster, or of a tenant without one (isolate). */
  skipped: { id: number; reason: string }[];
}

export function simulate(input: SimulationInput, policy: PolicyName): Simulation {
  return input.isolate ? isolated(input, policy) : shared(input, policy);
}

function shared(input: SimulationInput, policy: PolicyName): Simulation {
  const guarantees = new Map((input.quotas ?? []).map((q) => [q.tenant, q.gpus]));
  const { nodes, gpusPerNode } = input.shape;
  const run = replay({ jobs: input.jobs, nodes, gpusPerNode, weights: guarantees }, makePolicy(policy, guarantees, input.limits));
  const skipped = run.tooLarge.map((j) => ({ id: j.id, reason: `needs ${j.gpus} GPUs; the cluster has ${nodes * gpusPerNode}` }));
  return { result: run.result, samples: run.recorder.samples, capacity: nodes * gpusPerNode, skipped };
}

function isolated(input: SimulationInput, policy: PolicyName): Simulation {
  if (!input.quotas) throw new StintError('INVALID_REQUEST', '--isolate needs --quotas FILE: each tenant there gets its own cluster', { field: '--isolate' });
  const G = input.shape.gpusPerNode;
  const byTenant = new Map<string, TraceJob[]>();
  for (const job of input.jobs) {
    if (!byTenant.has(job.tenant)) byTenant.set(job.tenant, []);
    byTenant.get(job.tenant)!.push(job);
  }
  const skipped: Simulation['skipped'] = [];
  const known = new Set(input.quotas.map((q) => q.tenant));
  for (const [tenant, jobs] of byTenant) if (!known.has(tenant)) for (const j of jobs) skipped.push({ id: j.id, reason: `tenant ${tenant} has no cluster in the quota file` });
  const parts = input.quotas.filter((q) => q.gpus >= G).map((q) => {
    const nodes = Math.floor(q.gpus / G);
    const guarantees = new Map([[q.tenant, nodes * G]]);
    const run = replay({ jobs: byTenant.get(q.tenant) ?? [], nodes, gpusPerNode: G }, makePolicy(policy, guarantees, input.limits));
    for (const j of run.tooLarge) skipped.push({ id: j.id, reason: `needs ${j.gpus} GPUs; tenant ${q.tenant}'s cluster has ${nodes * G}` });
    return { tenant: q.tenant, capacity: nodes * G, run };
  });
  return pool(policy, parts, skipped);
}

type Part = { tenant: string; capacity: number; run: ReturnType<typeof replay> };

function pool(policy: PolicyName, parts: Part[], skipped: Simulation['skipped']): Simulation {
  const metrics = jobMetrics(parts.flatMap((p) => p.run.jobs));
  const capacity = parts.reduce((sum, p) => sum + p.capacity, 0);
  const busy = parts.reduce((sum, p) => sum + p.run.recorder.busySeconds, 0);
  const usedTotal = parts.reduce((sum, p) => sum + p.run.recorder.busySeconds, 0);
  const tenants: SimResult['tenants'] = {};
  for (const p of parts) {
    const used = p.run.recorder.busySeconds;
    tenants[p.tenant] = { gpuSeconds: used, share: usedTotal > 0 ? used / usedTotal : 0, fairShare: p.capacity / capacity };
  }
  const sum = (key: 'preemptions' | 'passes' | 'seconds' | 'cpuSeconds') => parts.reduce((total, p) => total + p.run.result[key], 0);
  const result: SimResult = {
    policy,
    ...metrics,
    utilization: metrics.makespan > 0 ? busy / (capacity * metrics.makespan) : 0,
    jainIndex: null,
    jainIndexTotal: jainOfShares(tenants),
    tenants,
    preemptions: sum('preemptions'),
    passes: sum('passes'),
    seconds: sum('seconds'),
    cpuSeconds: sum('cpuSeconds'),
  };
  return { result, samples: mergeSamples(parts.map((p) => p.run.recorder.samples)), capacity, skipped };
}

/** The sum of several step functions, at every time any of them changes. */
export function mergeSamples(series: readonly Sample[][]): Sample[] {
  const events = series.flatMap((s, i) => s.map((sample) => ({ i, sample }))).sort((a, b) => a.sample.t - b.sample.t);
  const current = series.map(() => ({ queue: 0, busy: 0 }));
  const out: Sample[] = [];
  let queue = 0;
  let busy = 0;
  for (const { i, sample } of events) {
    queue += sample.queue - current[i]!.queue;
    busy += sample.busy - current[i]!.busy;
    current[i] = { queue: sample.queue, busy: sample.busy };
    const last = out[out.length - 1];
    if (last && last.t === sample.t) {
      last.queue = queue;
      last.busy = busy;
    } else out.push({ t: sample.t, queue, busy });
  }
  return out;
}
