// The Slurm backend against real daemons (see cluster.ts): the shared contract, then what only an
// engine that places work shows — multi-node ranks, queued reasons, a node failure requeueing a
// job as a new attempt, TIMEOUT and OUT_OF_MEMORY ends, hostile names and values. One file, so
// the tests that take node n3 down or fill it never overlap with each other.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AttemptRef, type AttemptStatus, type Backend, attemptKey } from '../../src/backends/backend.js';
import { backendContract, taskSpec, waitForEnd, waitForLog } from '../../src/backends/contract.js';
import type { SlurmBackend } from '../../src/backends/slurm/backend.js';
import type { TaskSpec } from '../../src/core/spec/types.js';
import { TarWriter } from '../../src/workdir/tar.js';
import { CLUSTER_DIR, ensureCluster, memoryEnforcement, SLURM_CONF, sharedDir, slurm, testBackend } from './cluster.js';
import type { StintClient } from '../../src/api/client.js';
import { serverProcess, tempHome, waitForJob } from '../helpers/server.js';

let nextJobId = 50_000 + Math.floor(Math.random() * 10_000) * 10;
const timings: Record<string, number> = {};

beforeAll(() => {
  timings.clusterStartSeconds = ensureCluster();
}, 180_000);

afterAll(() => {
  console.log(`slurm test timings: ${JSON.stringify(timings)}`);
});

backendContract('slurm', { create: () => testBackend(), timeoutMs: 60_000 });

async function submit(backend: Backend, spec: TaskSpec, extra: { name?: string; secrets?: Record<string, string>; archive?: string } = {}): Promise<AttemptRef> {
  const jobId = nextJobId++;
  const launched = await backend.launch({
    jobId, attempt: 1, name: extra.name ?? spec.name, spec, secrets: extra.secrets ?? {}, node: null, gpus: [], workdirArchive: extra.archive ?? null, env: {},
  });
  return { jobId, attempt: 1, handle: launched.handle };
}

async function waitFor(backend: Backend, ref: AttemptRef, what: string, ok: (s: AttemptStatus) => boolean, timeoutMs = 90_000): Promise<AttemptStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = (await backend.poll([ref])).get(attemptKey(ref))!;
    if (ok(status)) return status;
    if (Date.now() > deadline) throw new Error(`attempt ${attemptKey(ref)} never became ${what}; last: ${JSON.stringify(status)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function gpuSpec(run: string, gpu: string, count: number, overrides: Partial<TaskSpec> = {}): TaskSpec {
  const spec = taskSpec(run, overrides);
  spec.resources = [{ ...spec.resources[0]!, accelerator: { name: gpu, count } }];
  return spec;
}

describe('slurm backend on a real cluster', { timeout: 120_000 }, () => {
  let backend: SlurmBackend;
  let timeoutRef: AttemptRef;
  let timeoutStarted = 0;

  beforeAll(async () => {
    backend = await testBackend();
    // The TIMEOUT case needs Slurm's one-minute minimum limit; it runs while the other cases do.
    timeoutStarted = Date.now();
    timeoutRef = await submit(backend, taskSpec("trap 'echo warned' TERM; echo started; while true; do sleep 1; done", { maxRuntimeSeconds: 30 }));
  });

  it('reports the nodes, partitions and typed GPUs from one sinfo call', async () => {
    const before = backend.commandsRun;
    const inventory = await backend.refreshInventory();
    expect(backend.commandsRun - before).toBe(1);
    expect(inventory.nodes.map((n) => n.name)).toEqual(['n1', 'n2', 'n3']);
    expect(inventory.nodes[0]!.gpus.map((g) => [g.index, g.name, g.healthy])).toEqual([[0, 'A100', true], [1, 'A100', true], [2, 'A100', true], [3, 'A100', true]]);
    const nodes = await backend.slurmNodes();
    expect(nodes.find((n) => n.name === 'n3')!.partitions).toEqual(['second']);
    expect(nodes.find((n) => n.name === 'n1')!.partitions).toEqual(['debug']);
  });

  it('runs a 2-node job with srun on both nodes: ranks 0 and 1, both node names, GPUs per node', { timeout: 120_000 }, async () => {
    const started = Date.now();
    const run = 'echo "rank=$SKYPILOT_NODE_RANK node=$SLURMD_NODENAME n=$SKYPILOT_NUM_NODES gpn=$SKYPILOT_NUM_GPUS_PER_NODE names=$(echo $STINT_NODE_NAMES) ips=$(echo $SKYPILOT_NODE_IPS) cuda=$CUDA_VISIBLE_DEVICES"; sleep 2';
    const ref = await submit(backend, gpuSpec(run, 'A100', 2, { numNodes: 2 }));
    const running = await waitFor(backend, ref, 'running', (s) => s.state === 'running');
    expect(running).toMatchObject({ state: 'running', nodes: ['n1', 'n2'] });
    expect((await waitForEnd(backend, ref, 60_000)).exitCode).toBe(0);
    const log = (await backend.readLog(ref, 0, 1 << 20)).text;
    expect(log).toMatch(/rank=0 node=n1 n=2 gpn=2 names=n1 n2 ips=127\.0\.0\.1 127\.0\.0\.1 cuda=\d,\d/);
    expect(log).toMatch(/rank=1 node=n2 n=2 gpn=2 names=n1 n2 ips=127\.0\.0\.1 127\.0\.0\.1 cuda=\d,\d/);
    timings.twoNodeJobSeconds = (Date.now() - started) / 1000;
  });

  it('shows why a job waits (Resources) and cancels it while pending', async () => {
    const hog = await submit(backend, withInfra(gpuSpec('echo hogging; sleep 120', 'a100', 4)));
    await waitForLog(backend, hog, 'hogging', 60_000);
    try {
      const waiting = await submit(backend, withInfra(gpuSpec('echo never', 'A100', 4)));
      const queued = await waitFor(backend, waiting, 'queued with a reason', (s) => s.state === 'queued' && s.reason !== 'Pending');
      expect(queued).toMatchObject({ state: 'queued', reason: expect.stringMatching(/^(Resources|Priority)$/) });
      await backend.signal(waiting, 'SIGTERM');
      expect(await waitForEnd(backend, waiting, 30_000)).toMatchObject({ reason: 'cancelled' });
    } finally {
      await backend.signal(hog, 'SIGKILL');
    }
    // Slurm records the kill of a step-less sleep as CANCELLED 0:15 or FAILED 0:9; either way it ended by a signal.
    expect((await waitForEnd(backend, hog, 30_000)).signal).toMatch(/^SIG(KILL|TERM)$/);
  }, 180_000);

  it('requeues a --requeue job when its node goes DOWN, as a restart with its own log', async () => {
    const started = Date.now();
    const spec = withInfra(taskSpec('echo "attempt=$STINT_ATTEMPT restarts=$STINT_RESTART_COUNT"; sleep 300', { retries: { max: 2, on: ['node_failure'], exitCodes: [] } }));
    const ref = await submit(backend, spec);
    await waitForLog(backend, ref, 'attempt=1', 60_000);
    try {
      slurm('scontrol', ['update', 'nodename=n3', 'state=down', 'reason=stint-test']);
      const requeued = await waitFor(backend, ref, 'requeued', (s) => (s.restarts ?? 0) >= 1);
      expect(requeued.state).toBe('queued');
    } finally {
      slurm('scontrol', ['update', 'nodename=n3', 'state=resume']);
    }
    try {
      const again = await waitFor(backend, ref, 'running again', (s) => s.state === 'running', 120_000);
      expect(again).toMatchObject({ state: 'running', restarts: 1 });
      const restarted: AttemptRef = { ...ref, attempt: 2 };
      expect(await waitForLog(backend, restarted, 'attempt=2', 60_000)).toBe('attempt=2 restarts=1\n');
      // The first run's log is its own (bash may add "Terminated" for the sleep Slurm killed).
      expect((await backend.readLog(ref, 0, 1000)).text).toMatch(/^attempt=1 restarts=0\n(Terminated\n)?$/);
    } finally {
      await backend.signal(ref, 'SIGKILL');
    }
    await waitForEnd(backend, ref, 30_000);
    timings.nodeDownRequeueSeconds = (Date.now() - started) / 1000;
  }, 240_000);

  it('through a whole server: the node going DOWN makes the job a new attempt, and each attempt keeps its log', async () => {
    const home = await tempHome();
    writeFileSync(join(home, 'stint.yaml'), `backends:\n  - name: hpc\n    type: slurm\n    workdir: ${sharedDir()}\n    finishedJobs: jobcomp\n    slurmConf: ${SLURM_CONF}\n`);
    const server = await serverProcess(home, ['--config', join(home, 'stint.yaml')]);
    try {
      const { client } = server;
      const { id } = await client.submit({ task: 'resources: {infra: slurm/hpc/second}\nretries: {max: 2, on: [node_failure]}\nrun: echo "attempt=$STINT_ATTEMPT"; sleep 300\n' });
      await waitForJob(client, id!, (j) => j.state === 'RUNNING', 60_000);
      await waitForServerLog(client, id!, 1, 'attempt=1');
      try {
        slurm('scontrol', ['update', 'nodename=n3', 'state=down', 'reason=stint-server-test']);
        await waitForJob(client, id!, (j) => j.attempt === 2, 60_000);
      } finally {
        slurm('scontrol', ['update', 'nodename=n3', 'state=resume']);
      }
      await waitForJob(client, id!, (j) => j.state === 'RUNNING' && j.attempt === 2, 120_000);
      await waitForServerLog(client, id!, 2, 'attempt=2');
      expect((await client.logs(id!, { attempt: 1 })).text).toMatch(/^attempt=1\n/);
      await client.cancel(id!);
      await waitForJob(client, id!, (j) => j.state === 'CANCELLED', 60_000);
      const ended = await client.getJob(id!);
      expect(ended.attempts.map((a) => [a.attempt, a.endReason])).toEqual([[1, 'node_failure'], [2, 'cancelled']]);
      expect(ended.events.some((e) => e.from === 'RUNNING' && e.to === 'STARTING' && /requeued by hpc/.test(e.reason))).toBe(true);
    } finally {
      server.child.kill('SIGKILL');
    }
  }, 300_000);

  it('reports a job killed for exceeding its memory as out_of_memory', { timeout: 90_000 }, async (ctx) => {
    // With no cgroup v1 memory controller, Slurm can only kill by polling, and reports FAILED.
    if (memoryEnforcement() !== 'cgroup') ctx.skip();
    const ref = await submit(backend, taskSpec('head -c 600M /dev/zero | tail; echo survived', { resources: [{ ...taskSpec('').resources[0]!, memoryGb: { value: 0.1, orMore: false } }] }));
    const end = await waitForEnd(backend, ref, 60_000);
    expect(end).toMatchObject({ reason: 'out_of_memory' });
  });

  it('runs hostile job names, env values and secrets as plain text', async () => {
    const marker = join(CLUSTER_DIR, `pwned-${process.pid}`);
    const hostile = [`$(touch ${marker})`, `\`touch ${marker}\``, `'; touch ${marker}; '`, `"; touch ${marker}; "`, `x\n#SBATCH --wrap=touch ${marker}`, '\\$HOME %j %x'];
    const envs = Object.fromEntries(hostile.map((v, i) => [`V${i}`, v]));
    const run = hostile.map((_, i) => `printf '%s\\n' "$V${i}"`).join('; ') + '; printf "%s\\n" "$SEC"';
    const ref = await submit(backend, taskSpec(run, { envs, name: hostile[0]! }), { name: hostile[4]!, secrets: { SEC: hostile[2]! } });
    expect((await waitForEnd(backend, ref, 60_000)).exitCode).toBe(0);
    expect((await backend.readLog(ref, 0, 1 << 20)).text).toBe([...hostile, hostile[2]!].join('\n') + '\n');
    expect(existsSync(marker)).toBe(false);
  });

  it('unpacks the workdir snapshot and runs the job inside it', async () => {
    const tar = new TarWriter();
    tar.directory('src', 0o755, 0);
    tar.file('src/data.txt', 0o644, 0, Buffer.from('from the snapshot\n'));
    const archive = join(sharedDir(), 'work.tar.gz');
    writeFileSync(archive, gzipSync(tar.finish()));
    const ref = await submit(backend, taskSpec('cat src/data.txt'), { archive });
    expect((await waitForEnd(backend, ref, 60_000)).exitCode).toBe(0);
    expect((await backend.readLog(ref, 0, 1000)).text).toBe('from the snapshot\n');
  });

  it('finds an attempt whose handle was never saved by its name and folder, never another server\'s namesake', async () => {
    const ref = await submit(backend, taskSpec('echo found; sleep 20'));
    try {
      const unsaved: AttemptRef = { ...ref, handle: {} };
      expect((await waitFor(backend, unsaved, 'seen without a handle', (s) => s.state !== 'ended')).state).toMatch(/queued|running/);
      // Same stint job id and attempt, so the same Slurm job name, but another backend's folder.
      const other = await testBackend();
      try {
        expect((await other.poll([unsaved])).get(attemptKey(unsaved))).toMatchObject({ state: 'ended', reason: 'lost' });
      } finally {
        await other.close();
      }
    } finally {
      await backend.signal(ref, 'SIGKILL');
    }
    await waitForEnd(backend, ref, 30_000);
  });

  it('polls many attempts with one listing command, adding one sacct call only for jobs the listing has forgotten', async () => {
    const refs = await Promise.all([0, 3].map((code) => submit(backend, taskSpec(`exit ${code}`))));
    for (const ref of refs) await waitForEnd(backend, ref, 60_000);
    const forgotten: AttemptRef = { jobId: 1, attempt: 1, handle: { slurmJobId: 999_999 } };
    let before = backend.commandsRun;
    await backend.poll(refs);
    expect(backend.commandsRun - before).toBe(1);
    before = backend.commandsRun;
    const statuses = await backend.poll([...refs, forgotten]);
    expect(backend.commandsRun - before).toBe(2);
    expect(statuses.get(attemptKey(forgotten))).toMatchObject({ state: 'ended', reason: 'lost' });
    expect(refs.map((r) => statuses.get(attemptKey(r)))).toMatchObject([{ exitCode: 0 }, { exitCode: 3 }]);
    // The squeue --json listing sees the very same thing.
    const viaJson = await testBackend({ listing: 'squeue-json' });
    before = viaJson.commandsRun;
    expect(await viaJson.poll(refs)).toEqual(await backend.poll(refs));
    expect(viaJson.commandsRun - before).toBe(1);
  });

  it('reports a job that hit its time limit as timeout, after warning it with SIGTERM', async () => {
    const end = await waitForEnd(backend, timeoutRef, 150_000);
    expect(end).toMatchObject({ reason: 'timeout' });
    expect((await backend.readLog(timeoutRef, 0, 1000)).text).toMatch(/^started\n(Terminated\n)?warned\n/);
    timings.timeoutJobSeconds = (Date.now() - timeoutStarted) / 1000;
  }, 180_000);
});

/** Runs on partition "second" (node n3 alone), away from the other tests' jobs. */
async function waitForServerLog(client: StintClient, id: number, attempt: number, text: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await client.logs(id, { attempt })).text.includes(text)) {
    if (Date.now() > deadline) throw new Error(`job ${id} attempt ${attempt} never logged ${text}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function withInfra(spec: TaskSpec): TaskSpec {
  spec.resources = spec.resources.map((r) => ({ ...r, infra: 'slurm/hpc/second' }));
  return spec;
}
