// Health: a GPU that reports an Xid, disappears, has uncorrectable ECC errors or fails the health
// command is drained and its running job requeued under its retry policy (with backoff, a new
// attempt, the same checkpoint directory); a job with no retries left fails with the reason.
// Drains by hand (`stint admin drain|resume`, the real CLI) keep new jobs off a GPU and let running
// ones finish; `stint gpus` shows why a GPU is out. Fake GPUs; the test writes their telemetry.

import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { STINT_BIN } from './helpers/server.js';
import { api, observedServer, until, type ObservedServer } from './helpers/observability.js';

const run = promisify(execFile);
let s: ObservedServer;

beforeAll(async () => {
  s = await observedServer({}, 'A100:2');
});
afterAll(async () => {
  await s?.server.stop();
});
// Each test starts from healthy GPUs and no running job, whatever the previous one left.
afterEach(async () => {
  s.setGpus([0, 1].map((index) => ({ index, utilization: 0.5, memoryUsedMb: 1000 })));
  for (const job of (await s.client.listJobs({ all: true })).jobs) if (['PENDING', 'STARTING', 'RUNNING'].includes(job.state)) await s.client.cancel(job.id);
  for (const d of (await s.client.health()).drains) await s.client.drain('resume', { node: d.node, ...(d.gpu === null ? {} : { gpu: d.gpu }) });
  await until('every job to end', async () => ((await s.client.listJobs({ all: true })).jobs.every((j) => ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(j.state)) ? true : undefined));
});

const gpus = (overrides: Record<number, Record<string, unknown> | null>) =>
  [0, 1].filter((i) => overrides[i] !== null).map((index) => ({ index, utilization: 0.5, memoryUsedMb: 1000, ...(overrides[index] ?? {}) }));

async function stint(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [STINT_BIN, ...args], { env: { ...process.env, STINT_URL: s.server.url, STINT_TOKEN: s.token, NO_COLOR: '1' } });
  return stdout;
}

async function running(id: number, attempt: number) {
  return until(`job ${id} attempt ${attempt} to run`, async () => {
    const job = await s.client.getJob(id);
    return job.state === 'RUNNING' && job.attempt === attempt ? job : undefined;
  });
}

describe('drain and requeue on GPU failure', () => {
  it('drains a GPU reporting Xid 79, requeues its job with backoff onto the healthy GPU, then on a lost GPU waits until resumed', async () => {
    s.setGpus(gpus({}));
    const task = 'name: resilient\nresources: {accelerators: A100:1}\nretries: {max: 2, on: [node_failure], backoff: 1s}\nrun: |\n  echo "restart=$STINT_RESTART_COUNT ckpt=$STINT_CHECKPOINT_DIR"\n  sleep 60\n';
    const { id } = await s.client.submit({ task });
    const jobId = id!;
    const first = await running(jobId, 1);
    const broken = first.gpus[0]!;
    const other = 1 - broken;

    s.setGpus(gpus({ [broken]: { xids: [79] } }));
    const second = await running(jobId, 2);
    expect(second.gpus).toEqual([other]);
    const detail = await s.client.getJob(jobId);
    const requeue = detail.events.find((e) => e.to === 'PENDING' && e.from === 'RUNNING');
    expect(requeue?.reason).toBe(`node failure: GPU ${broken} reported Xid 79 (hardware fault); requeued for attempt 2 in 1 s (backoff)`);
    expect(detail.attempts[0]).toMatchObject({ attempt: 1, endReason: 'node_failure', signal: 'SIGKILL' });
    const backoffMs = Date.parse(detail.attempts[1]!.startedAt) - Date.parse(requeue!.at);
    expect(backoffMs).toBeGreaterThanOrEqual(1000);

    const health = await s.client.health();
    expect(health.drains).toEqual([expect.objectContaining({ backend: 'local', gpu: broken, source: 'health', reason: `GPU ${broken} reported Xid 79 (hardware fault)` })]);
    expect(health.events.map((e) => e.kind)).toEqual(expect.arrayContaining(['xid', 'requeued']));
    expect(await stint('gpus')).toMatch(new RegExp(`failed: GPU ${broken} reported Xid 79`));

    // The other GPU falls off the bus too (the tool no longer lists it): no healthy GPU is left,
    // so attempt 3 waits, until an admin resumes the first GPU.
    s.setGpus(gpus({ [broken]: {}, [other]: null }));
    await until('the job to be requeued again', async () => {
      const job = await s.client.getJob(jobId);
      return job.state === 'PENDING' && job.attempt === 2 ? job : undefined;
    });
    expect((await s.client.health()).drains.map((d) => [d.gpu, d.reason])).toEqual(expect.arrayContaining([[other, expect.stringContaining('disappeared')]]));
    expect(await stint('admin', 'resume', 'gpu', String(broken))).toMatch(new RegExp(`GPU ${broken} resumed`));
    const third = await running(jobId, 3);
    expect(third.gpus).toEqual([broken]);

    // Each attempt saw its restart count and the same checkpoint directory.
    const logs = await Promise.all([1, 2, 3].map((n) => readFile(join(s.home, 'jobs', String(jobId), `attempt-${n}`, 'output.log'), 'utf8')));
    const checkpoint = join(s.home, 'jobs', String(jobId), 'checkpoints');
    expect(logs.map((l) => l.trim())).toEqual([0, 1, 2].map((n) => `restart=${n} ckpt=${checkpoint}`));
    await s.client.cancel(jobId);
    await until('the job to end', async () => ((await s.client.getJob(jobId)).state === 'CANCELLED' ? true : undefined));
    await s.client.drain('resume', { gpu: other });
  }, 60_000);

  it('fails a job with no retries left on an uncorrectable ECC error, with the reason', async () => {
    s.setGpus(gpus({}));
    const { id } = await s.client.submit({ task: 'resources: {accelerators: A100:1}\nretries: 0\nrun: sleep 60\n' });
    const job = await running(id!, 1);
    s.setGpus(gpus({ [job.gpus[0]!]: { eccUncorrected: 2 } }));
    const failed = await until('the job to fail', async () => {
      const j = await s.client.getJob(id!);
      return j.state === 'FAILED' ? j : undefined;
    });
    expect(failed.reason).toBe(`node failure: GPU ${job.gpus[0]} has 2 uncorrectable ECC error(s) (no retries left)`);
    s.setGpus(gpus({}));
    await s.client.drain('resume', { gpu: job.gpus[0] });
  }, 30_000);
});

describe('drain by hand', () => {
  it('keeps new jobs off a drained GPU while the running one finishes, and resumes it', async () => {
    s.setGpus(gpus({}));
    expect((await s.client.health()).drains).toEqual([]);
    const { id } = await s.client.submit({ task: 'resources: {accelerators: A100:1}\nrun: sleep 60\n' });
    const job = await running(id!, 1);
    const held = job.gpus[0]!;
    expect(await stint('admin', 'drain', 'gpu', String(held), '--reason', 'fan noise')).toMatch(new RegExp(`GPU ${held} drained`));
    expect(await stint('admin', 'drain', 'gpu', String(1 - held))).toMatch(/drained/);
    const { id: waiting } = await s.client.submit({ task: 'resources: {accelerators: A100:1}\nrun: sleep 60\n' });
    await until('the new job to be explained', async () => {
      const j = await s.client.getJob(waiting!);
      return j.waitReason ? j : undefined;
    });
    expect((await s.client.getJob(waiting!)).state).toBe('PENDING');
    expect((await s.client.getJob(id!)).state).toBe('RUNNING');
    expect(await stint('gpus')).toMatch(/drained: fan noise/);
    // The API (and the web UI's GPU board) says why the GPU takes no new jobs.
    expect((await s.client.gpus()).gpus.find((g) => g.index === held)?.drained).toBe('fan noise');
    expect(await stint('admin', 'health')).toMatch(/admin\s+fan noise/);
    const unknownGpu = await api(s, 'POST', '/api/v1/admin/drain', { gpu: 9 });
    expect(unknownGpu.status).toBe(404);
    await stint('admin', 'resume', 'gpu', String(1 - held));
    await running(waiting!, 1);
    await stint('admin', 'resume', 'gpu', String(held));
    for (const j of [id!, waiting!]) await s.client.cancel(j);
  }, 30_000);
});

describe('health command', () => {
  it('drains the GPU whose check fails and requeues its job', async () => {
    const h = await observedServer({ healthCommand: 'test "$STINT_GPU_INDEX" != 1 || { echo "memtest failed on $STINT_GPU_INDEX"; exit 3; }', healthInterval: '0.3' }, 'A100:2');
    try {
      const drain = await until('GPU 1 to be drained', async () => (await h.client.health()).drains.find((d) => d.gpu === 1));
      expect(drain).toMatchObject({ source: 'health', reason: 'health command failed on GPU 1: exit code 3: memtest failed on 1' });
      expect((await h.client.health()).drains.some((d) => d.gpu === 0)).toBe(false);
    } finally {
      await h.server.stop();
    }
  }, 30_000);
});
