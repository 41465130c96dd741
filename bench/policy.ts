// Benchmark of one scheduling pass (DESIGN.md budget: 100,000 pending jobs over 10,000 nodes in
// < 1 s). Builds a seeded cluster of 8-GPU nodes with 70% of the GPUs busy and a mixed queue,
// times `plan` over several runs and prints the median as one JSON line.

import { demand, gpus, node, pendingJob, runningJob, seededRandom } from '../src/core/policy/fixtures.js';
import { plan } from '../src/core/policy/plan.js';
import type { ClusterState, Demand, PendingJob, RunningJob } from '../src/core/policy/types.js';

const PENDING_JOBS = 100_000;
const NODES = 10_000;
const GPUS_PER_NODE = 8;
const BUSY_FRACTION = 0.7;
const RUNS = 5;
const NOW = 1_700_000_000_000;
const MINUTE = 60_000;
const TYPES = ['A100', 'H100'];

type Random = () => number;
const int = (random: Random, min: number, max: number) => min + Math.floor(random() * (max - min + 1));

function runningOn(random: Random, nodeName: string, busy: number, nextId: () => number): RunningJob[] {
  const jobs: RunningJob[] = [];
  for (let first = 0; first < busy; ) {
    const count = Math.min(busy - first, int(random, 1, 4));
    const indices = Array.from({ length: count }, (_, i) => first + i);
    const endsBy = random() < 0.05 ? null : NOW + int(random, 1, 24 * 60) * MINUTE;
    jobs.push(runningJob(nextId(), nodeName, indices, { cpus: 4 * count, memoryGb: 32 * count, endsBy }));
    first += count;
  }
  return jobs;
}

function buildCluster(random: Random): ClusterState {
  let lastId = 1_000_000;
  const nodes = [];
  const running = [];
  for (let i = 0; i < NODES; i++) {
    const name = `node-${i}`;
    nodes.push(node(name, gpus(TYPES[i % TYPES.length]!, GPUS_PER_NODE), 128, 1024));
    const busy = Math.round(GPUS_PER_NODE * BUSY_FRACTION + (random() - 0.5));
    running.push(...runningOn(random, name, busy, () => ++lastId));
  }
  return { nodes, running };
}

function randomDemand(random: Random): Demand {
  const r = random();
  if (r < 0.05) return demand({ cpus: int(random, 1, 16), memoryGb: int(random, 1, 64) });
  const gpuName = r < 0.15 ? null : TYPES[int(random, 0, TYPES.length - 1)]!;
  const count = [1, 1, 1, 2, 2, 4, 8][int(random, 0, 6)]!;
  return demand({ gpuName, gpus: count, cpus: 4 * count, memoryGb: 32 * count });
}

function buildQueue(random: Random): PendingJob[] {
  return Array.from({ length: PENDING_JOBS }, (_, i) => {
    const demands = [randomDemand(random)];
    if (random() < 0.2) demands.push(randomDemand(random));
    const runtimeLimitMs = random() < 0.2 ? null : int(random, 5, 48 * 60) * MINUTE;
    const fields = { priority: int(random, 0, 4), submittedAt: NOW - int(random, 0, 7 * 24 * 60) * MINUTE };
    return pendingJob(i + 1, demands, { ...fields, ordered: random() < 0.5, runtimeLimitMs });
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function main(): void {
  const random = seededRandom(42);
  const cluster = buildCluster(random);
  const queue = buildQueue(random);
  const times: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const started = performance.now();
    plan(queue, cluster, NOW);
    times.push(performance.now() - started);
  }
  const medianMs = Math.round(median(times) * 10) / 10;
  console.log(JSON.stringify({ bench: 'schedule_pass', pendingJobs: PENDING_JOBS, nodes: NODES, medianMs }));
}

main();
