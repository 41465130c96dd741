// Random clusters and queues (seeded, so any failure replays): whatever the input, no GPU is given
// twice, no node is over-committed, every job is placed or explained, no job waits while it fits
// (unless held for the head), and backfill never pushes the head's start later than its
// reservation said.

import { describe, expect, it } from 'vitest';
import type { Node } from '../inventory.js';
import { demand, gpus, node, pendingJob, runningJob, seededRandom } from './fixtures.js';
import { plan } from './plan.js';
import type { ClusterState, Demand, PendingJob, Plan, RunningJob } from './types.js';

const NOW = 1_700_000_000_000;
const MINUTE = 60_000;
const TYPES = ['A100', 'H100', 'V100'];

type Random = () => number;
const int = (random: Random, min: number, max: number) => min + Math.floor(random() * (max - min + 1));
const pick = <T>(random: Random, items: readonly T[]): T => items[int(random, 0, items.length - 1)]!;

function randomNode(random: Random, i: number): Node {
  const parts = int(random, 0, 2);
  const all = [];
  for (let p = 0; p < parts; p++) {
    const count = int(random, 1, 8);
    const unhealthy = Array.from({ length: count }, (_, j) => all.length + j).filter(() => random() < 0.1);
    all.push(...gpus(pick(random, TYPES), count, unhealthy, all.length));
  }
  return node(`n${i}`, all, int(random, 4, 64), int(random, 16, 512));
}

function randomEnd(random: Random): number | null {
  const r = random();
  if (r < 0.2) return null;
  if (r < 0.3) return NOW - int(random, 0, 10) * MINUTE;
  return NOW + int(random, 1, 300) * MINUTE;
}

/** Running jobs that fit their nodes (healthy or not, as a drained GPU may still be busy). */
function randomRunning(random: Random, nodes: readonly Node[]): RunningJob[] {
  const running: RunningJob[] = [];
  for (const n of nodes) {
    let free = n.gpus.map((g) => g.index).filter(() => random() < 0.6);
    let cpus = n.cpus;
    let memoryGb = n.memoryGb;
    while (random() < 0.6) {
      const take = free.slice(0, int(random, 0, Math.min(4, free.length)));
      free = free.slice(take.length);
      const used = { cpus: int(random, 0, cpus), memoryGb: int(random, 0, memoryGb) };
      cpus -= used.cpus;
      memoryGb -= used.memoryGb;
      running.push(runningJob(10_000 + running.length, n.name, take, { ...used, endsBy: randomEnd(random) }));
    }
  }
  return running;
}

function randomDemand(random: Random): Demand {
  const gpuName = random() < 0.2 ? null : pick(random, [...TYPES, 'a100', 'TPU']);
  const gpuCount = random() < 0.15 ? 0 : int(random, 1, 10);
  return demand({ gpuName, gpus: gpuCount, cpus: int(random, 0, 32), memoryGb: int(random, 0, 256) });
}

function randomQueue(random: Random, maxJobs: number): PendingJob[] {
  return Array.from({ length: int(random, 0, maxJobs) }, (_, i) =>
    pendingJob(i + 1, Array.from({ length: int(random, 1, 2) }, () => randomDemand(random)), {
      priority: int(random, 0, 3),
      submittedAt: int(random, 0, 100),
      ordered: random() < 0.5,
      runtimeLimitMs: random() < 0.3 ? null : int(random, 1, 240) * MINUTE,
    }),
  );
}

function randomCase(seed: number, maxNodes: number, maxJobs: number): { queue: PendingJob[]; cluster: ClusterState } {
  const random = seededRandom(seed);
  const nodes = Array.from({ length: int(random, 1, maxNodes) }, (_, i) => randomNode(random, i));
  return { queue: randomQueue(random, maxJobs), cluster: { nodes, running: randomRunning(random, nodes) } };
}

function checkAll(queue: readonly PendingJob[], cluster: ClusterState): void {
  const result = plan(queue, cluster, NOW);
  checkNoOvercommit(cluster, queue, result);
  checkEveryJobAccounted(queue, result);
  checkHeadNotDelayed(queue, cluster, result);
  checkNothingLeftBehind(queue, cluster, result);
  expect(plan(queue, cluster, NOW)).toEqual(result);
}

function checkNoOvercommit(cluster: ClusterState, queue: readonly PendingJob[], result: Plan): void {
  const jobs = new Map(queue.map((j) => [j.id, j]));
  for (const n of cluster.nodes) {
    const onNode = [...cluster.running.filter((r) => r.node === n.name), ...result.placements.filter((p) => p.node === n.name)];
    const indices = onNode.flatMap((h) => h.gpuIndices);
    expect(new Set(indices).size).toBe(indices.length);
    expect(onNode.reduce((sum, h) => sum + h.cpus, 0)).toBeLessThanOrEqual(n.cpus);
    expect(onNode.reduce((sum, h) => sum + h.memoryGb, 0)).toBeLessThanOrEqual(n.memoryGb);
  }
  for (const p of result.placements) {
    const wanted = jobs.get(p.jobId)!.demands[p.demandIndex]!;
    const given = p.gpuIndices.map((i) => cluster.nodes.find((n) => n.name === p.node)!.gpus.find((g) => g.index === i)!);
    expect(given.length).toBe(wanted.gpus);
    expect(given.every((g) => g.healthy)).toBe(true);
    expect(new Set(given.map((g) => g.name.toLowerCase())).size).toBeLessThanOrEqual(1);
    if (wanted.gpuName !== null) expect(given.every((g) => g.name.toLowerCase() === wanted.gpuName!.toLowerCase())).toBe(true);
  }
}

function checkEveryJobAccounted(queue: readonly PendingJob[], result: Plan): void {
  const placed = result.placements.map((p) => p.jobId);
  expect(new Set(placed).size).toBe(placed.length);
  for (const job of queue) expect(placed.includes(job.id) !== result.waiting.has(job.id)).toBe(true);
  const positions = [...result.waiting.values()].map((w) => w.position).sort((a, b) => a - b);
  expect(positions).toEqual(positions.map((_, i) => i));
  for (const wait of result.waiting.values()) {
    expect(wait.reason.length).toBeGreaterThan(0);
    if (wait.estimatedStartAt !== null) expect(wait.estimatedStartAt).toBeGreaterThanOrEqual(NOW);
  }
}

/** Whether the demand fits on the node given everything running and placed (brute force). */
function fitsAfterPass(n: Node, wanted: Demand, cluster: ClusterState, result: Plan): boolean {
  const holds = [...cluster.running, ...result.placements].filter((h) => h.node === n.name);
  const busy = new Set(holds.flatMap((h) => h.gpuIndices));
  const cpus = n.cpus - holds.reduce((sum, h) => sum + h.cpus, 0);
  const memoryGb = n.memoryGb - holds.reduce((sum, h) => sum + h.memoryGb, 0);
  if (cpus < wanted.cpus || memoryGb < wanted.memoryGb) return false;
  if (wanted.gpus <= 0) return true;
  const free = n.gpus.filter((g) => g.healthy && !busy.has(g.index));
  const names = new Set(free.map((g) => g.name.toLowerCase()));
  const usable = wanted.gpuName === null ? [...names] : [wanted.gpuName.toLowerCase()];
  return usable.some((name) => free.filter((g) => g.name.toLowerCase() === name).length >= wanted.gpus);
}

/** A job left waiting for any reason but the head's reservation fits nowhere after the pass. */
function checkNothingLeftBehind(queue: readonly PendingJob[], cluster: ClusterState, result: Plan): void {
  for (const job of queue) {
    const wait = result.waiting.get(job.id);
    if (wait === undefined || wait.reason.startsWith('held for')) continue;
    const fitting = job.demands.some((d) => cluster.nodes.some((n) => fitsAfterPass(n, d, cluster, result)));
    expect(fitting, `job ${job.id} waits but fits: ${wait.reason}`).toBe(false);
  }
}

/** Re-plans the head alone with this pass's placements running: it must not start later. */
function checkHeadNotDelayed(queue: readonly PendingJob[], cluster: ClusterState, result: Plan): void {
  const reservation = result.reservation;
  if (!reservation || reservation.startAt === null) return;
  const head = queue.find((j) => j.id === reservation.jobId)!;
  const placedJobs = new Map(queue.map((j) => [j.id, j]));
  const nowRunning = result.placements.map((p) => {
    const limit = placedJobs.get(p.jobId)!.runtimeLimitMs;
    return runningJob(p.jobId, p.node, p.gpuIndices, { cpus: p.cpus, memoryGb: p.memoryGb, endsBy: limit === null ? null : NOW + limit });
  });
  const again = plan([head], { nodes: cluster.nodes, running: [...cluster.running, ...nowRunning] }, NOW);
  expect(again.reservation?.startAt ?? Infinity).toBeLessThanOrEqual(reservation.startAt);
}

describe('plan on random clusters and queues', () => {
  it.each(Array.from({ length: 400 }, (_, seed) => seed))('keeps the invariants on small clusters (seed %i)', (seed) => {
    const { queue, cluster } = randomCase(seed, 6, 40);
    checkAll(queue, cluster);
  });

  it.each(Array.from({ length: 30 }, (_, seed) => 1000 + seed))('keeps the invariants on 100 nodes (seed %i)', (seed) => {
    const { queue, cluster } = randomCase(seed, 100, 400);
    checkAll(queue, cluster);
  });
});
