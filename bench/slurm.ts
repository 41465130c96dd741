// `node dist/bench/slurm.js [jobs]`: the Slurm backend at scale against the real test cluster
// (scripts/slurm/start-local-slurm.sh). It submits N jobs (default 5,000) through the backend
// into partition "second" while that partition is DOWN, so they stay queued (Slurm's reason:
// PartitionDown), then measures: Slurm commands per poll cycle for 1..N attempts (must be
// constant), poll cycle duration, and the lag between a Slurm state change (a scancel, which
// changes the state before it returns) and the first poll that shows it, with the poll loop
// running every second as the scheduler's does. Writes bench/results/slurm.json.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { type AttemptRef, attemptKey } from '../src/backends/backend.js';
import type { TaskSpec } from '../src/core/spec/types.js';
import { createSlurmBackend } from '../src/backends/slurm/backend.js';

const REPO = resolve(import.meta.dirname, '..', '..');
const DIR = process.env.STINT_SLURM_DIR ?? '/tmp/stint-slurm';
const SLURM_CONF = join(DIR, 'slurm.conf');
const JOBS = Number(process.argv[2] ?? 5000);
const LAG_SAMPLES = 100;
const POLL_INTERVAL_MS = 1000;

function slurm(command: string, args: string[]): string {
  return execFileSync(command, args, { env: { ...process.env, SLURM_CONF }, maxBuffer: 256 << 20 }).toString();
}

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! * 10) / 10;
}

function timed(fn: () => void): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

const startSeconds = timed(() => execFileSync(join(REPO, 'scripts/slurm/start-local-slurm.sh'), ['--dir', DIR, '--nodes', '3'], { stdio: 'ignore' })) / 1000;
mkdirSync(join(DIR, 'shared'), { recursive: true });
const backend = await createSlurmBackend({ name: 'hpc', workdir: mkdtempSync(join(DIR, 'shared', 'bench-')), finishedJobs: 'jobcomp', slurmConf: SLURM_CONF, commandTimeoutSeconds: 120 });

slurm('scontrol', ['update', 'partitionname=second', 'state=down']);
const refs: AttemptRef[] = [];
const submitStart = performance.now();
try {
  const spec: TaskSpec = {
    name: 'bench', workdir: null, numNodes: 1, ordered: false,
    resources: [{ accelerator: null, cpus: null, memoryGb: null, diskSizeGb: null, useSpot: false, infra: 'slurm/hpc/second', imageId: null, ports: [] }],
    envs: {}, secrets: {}, fileMounts: [], volumes: {}, setup: null, run: 'true',
    priority: 0, maxRuntimeSeconds: null, retries: { max: 0, on: [], exitCodes: [] }, preemptible: true, project: null, features: [],
  };
  const base = 9_000_000 + Math.floor(Math.random() * 900_000) * 10;
  for (let i = 0; i < JOBS; i += 20) {
    const batch = await Promise.all(Array.from({ length: Math.min(20, JOBS - i) }, async (_, k) => {
      const jobId = base + i + k;
      const launched = await backend.launch({ jobId, attempt: 1, name: 'bench', spec, secrets: {}, node: null, gpus: [], workdirArchive: null, env: {} });
      return { jobId, attempt: 1, handle: launched.handle };
    }));
    refs.push(...batch);
  }
  const submitSeconds = (performance.now() - submitStart) / 1000;

  // Commands per poll cycle, for growing numbers of attempts, and the cost of one cycle.
  const commandsPerPoll: Record<string, number> = {};
  const pollMs: number[] = [];
  for (const n of [1, 10, 100, 1000, JOBS]) {
    const before = backend.commandsRun;
    const t = performance.now();
    const statuses = await backend.poll(refs.slice(0, n));
    pollMs.push(performance.now() - t);
    commandsPerPoll[String(n)] = backend.commandsRun - before;
    if (n === JOBS && [...statuses.values()].some((s) => s.state !== 'queued')) throw new Error('bench jobs were expected to be queued');
  }
  for (let i = 0; i < 10; i++) {
    const t = performance.now();
    await backend.poll(refs);
    pollMs.push(performance.now() - t);
  }
  const forgotten: AttemptRef = { jobId: 1, attempt: 1, handle: { slurmJobId: 99_999_999 } };
  const before = backend.commandsRun;
  await backend.poll([...refs, forgotten]);
  commandsPerPoll[`${JOBS} + 1 that left squeue`] = backend.commandsRun - before;
  const reason = (await backend.poll([refs[0]!])).get(attemptKey(refs[0]!));

  // The same polls with the squeue --json listing.
  const viaJson = await createSlurmBackend({ ...backend.config, listing: 'squeue-json' });
  const jsonPollMs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    await viaJson.poll(refs);
    jsonPollMs.push(performance.now() - t);
  }

  // The ways to list the queue, at this size.
  const squeueJsonMs = timed(() => slurm('squeue', ['--json']));
  const squeueFormatMs = timed(() => slurm('squeue', ['-h', '-t', 'all', '-o', '%i|%T|%r|%N']));
  const scontrolMs = timed(() => slurm('scontrol', ['-d', 'show', 'job', '-o']));
  const squeueJsonBytes = slurm('squeue', ['--json']).length;

  // Lag: a poll loop every second (as the scheduler runs), scancel at random moments.
  const changedAt = new Map<string, number>();
  const lagMs: number[] = [];
  let stop = false;
  const cycleMs: number[] = [];
  const loop = (async () => {
    while (!stop) {
      const t = performance.now();
      const statuses = await backend.poll(refs);
      const seen = performance.now();
      cycleMs.push(seen - t);
      for (const [key, status] of statuses) {
        const at = changedAt.get(key);
        if (at !== undefined && status.state === 'ended') {
          lagMs.push(seen - at);
          changedAt.delete(key);
        }
      }
      await new Promise((r) => setTimeout(r, Math.max(0, POLL_INTERVAL_MS - (performance.now() - t))));
    }
  })();
  for (let i = 0; i < LAG_SAMPLES; i++) {
    await new Promise((r) => setTimeout(r, 200 + Math.random() * 400));
    const ref = refs[refs.length - 1 - i]!;
    slurm('scancel', [String(ref.handle.slurmJobId)]);
    changedAt.set(attemptKey(ref), performance.now());
  }
  while (changedAt.size > 0) await new Promise((r) => setTimeout(r, 100));
  stop = true;
  await loop;

  const result = {
    jobs: JOBS,
    clusterStartSeconds: Math.round(startSeconds * 10) / 10,
    submit: { seconds: Math.round(submitSeconds), perSecond: Math.round(JOBS / submitSeconds) },
    commandsPerPoll,
    queuedReasonShown: reason,
    listing: backend.config.listing,
    pollCycleMs: { p50: pct(pollMs, 50), p99: pct(pollMs, 99), max: Math.round(Math.max(...pollMs)) },
    pollCycleSqueueJsonMs: { p50: pct(jsonPollMs, 50), max: Math.round(Math.max(...jsonPollMs)) },
    pollCycleInLagLoopMs: { p50: pct(cycleMs, 50), p99: pct(cycleMs, 99) },
    stateChangeToSeenLagMs: { samples: lagMs.length, pollIntervalMs: POLL_INTERVAL_MS, p50: pct(lagMs, 50), p99: pct(lagMs, 99) },
    listingAtThisSize: { squeueJsonMs: Math.round(squeueJsonMs), squeueJsonBytes, squeueFormatMs: Math.round(squeueFormatMs), scontrolShowJobMs: Math.round(scontrolMs) },
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version, date: new Date().toISOString() },
  };
  mkdirSync(join(REPO, 'bench', 'results'), { recursive: true });
  writeFileSync(join(REPO, 'bench', 'results', 'slurm.json'), JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(JSON.stringify(result) + '\n');
} finally {
  slurm('scancel', ['--partition=second', '--state=PENDING']);
  slurm('scontrol', ['update', 'partitionname=second', 'state=up']);
}
