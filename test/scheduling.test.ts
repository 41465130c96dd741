// End to end on a real in-process server with fake GPUs and real processes: exclusivity of GPUs,
// cancellation, max_runtime, and what a pending job is told.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inProcessServer, isEnded, sleep, waitForJob, type InProcessServer } from './helpers/server.js';

let s: InProcessServer;
beforeAll(async () => {
  s = await inProcessServer({ gpus: 'A100:4', killGrace: '1' });
});
afterAll(async () => {
  await s.server.stop();
});

const task = (body: string) => body.trim() + '\n';

describe('six A100:2 jobs on four A100s', () => {
  it('never runs more than two at a time, and overlapping jobs hold disjoint GPUs', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 6; i++) {
      const { id } = await s.client.submit({ task: task(`
name: pair-${i}
resources:
  accelerators: A100:2
run: echo "visible=$CUDA_VISIBLE_DEVICES"; sleep 0.4
`) });
      ids.push(id!);
    }
    const jobs = [];
    for (const id of ids) jobs.push(await waitForJob(s.client, id, isEnded));
    for (const job of jobs) {
      expect(job.state).toBe('SUCCEEDED');
      expect(job.gpus).toHaveLength(2);
      const log = await s.client.logs(job.id);
      expect(log.text).toBe(`visible=${job.gpus.join(',')}\n`);
    }
    const intervals = jobs.map((j) => ({ start: Date.parse(j.startedAt!), end: Date.parse(j.endedAt!), gpus: j.gpus }));
    for (const a of intervals) {
      // At the moment `a` starts, which jobs are running? Never more than two, never sharing a GPU.
      const runningAtStart = intervals.filter((b) => b.start <= a.start && a.start < b.end);
      expect(runningAtStart.length).toBeLessThanOrEqual(2);
      for (const b of intervals) {
        if (b !== a && b.start < a.end && a.start < b.end) expect(b.gpus.filter((g) => a.gpus.includes(g))).toEqual([]);
      }
    }
    expect(Math.max(...intervals.map((a) => intervals.filter((b) => b.start <= a.start && a.start < b.end).length))).toBe(2);
  });
});

describe('pending jobs', () => {
  it('say why they wait and what is ahead of them', async () => {
    const big = await s.client.submit({ task: task(`
resources: {accelerators: A100:4}
max_runtime: 30s
run: sleep 30
`) });
    await waitForJob(s.client, big.id!, (j) => j.state === 'RUNNING');
    const waiting = await s.client.submit({ task: task(`
resources: {accelerators: A100:1}
run: "true"
`) });
    const job = await waitForJob(s.client, waiting.id!, (j) => j.waitReason !== null);
    expect(job.state).toBe('PENDING');
    expect(job.waitReason).toMatch(/A100/);
    expect(job.estimatedStartAt).not.toBeNull();
    expect(job.user).toBe(job.owner);
    expect(job.priorityScore).toBeGreaterThan(0);
    expect(job.priorityFactors).toEqual({ fairShare: expect.any(Number), age: expect.any(Number), explicit: 0.5, size: 0.25 });
    await s.client.cancel(big.id!);
    await s.client.cancel(waiting.id!);
    expect((await waitForJob(s.client, big.id!, isEnded)).state).toBe('CANCELLED');
  });
});

describe('stopping jobs', () => {
  it('cancels a pending job at once and a running one with SIGTERM', async () => {
    const running = await s.client.submit({ task: task('run: sleep 60') });
    await waitForJob(s.client, running.id!, (j) => j.state === 'RUNNING');
    const outcome = await s.client.cancel(running.id!);
    expect(outcome.message).toMatch(/stopping/);
    const ended = await waitForJob(s.client, running.id!, isEnded);
    expect(ended).toMatchObject({ state: 'CANCELLED', signal: 'SIGTERM' });
  });

  it('kills a job that ignores SIGTERM after the grace period', async () => {
    const stubborn = await s.client.submit({ task: task(`run: trap '' TERM; while true; do sleep 0.1; done`) });
    await waitForJob(s.client, stubborn.id!, (j) => j.state === 'RUNNING');
    await sleep(200);
    await s.client.cancel(stubborn.id!);
    const ended = await waitForJob(s.client, stubborn.id!, isEnded);
    expect(ended).toMatchObject({ state: 'CANCELLED', signal: 'SIGKILL' });
  });

  it('enforces max_runtime the same way and says so', async () => {
    const slow = await s.client.submit({ task: task('max_runtime: 1s\nrun: sleep 30') });
    const ended = await waitForJob(s.client, slow.id!, isEnded);
    expect(ended.state).toBe('FAILED');
    expect(ended.reason).toMatch(/max_runtime/);
    const detail = await s.client.getJob(slow.id!);
    expect(detail.events.map((e) => e.to)).toEqual(['PENDING', 'STARTING', 'RUNNING', 'FAILED']);
  });

  it('records the exit code of a failing job and keeps its secrets out of the API', async () => {
    const failing = await s.client.submit({ task: task('secrets: {API_KEY: null}\nrun: exit 3'), secrets: { API_KEY: 'hunter2' } });
    const ended = await waitForJob(s.client, failing.id!, isEnded);
    expect(ended).toMatchObject({ state: 'FAILED', exitCode: 3 });
    const detail = await s.client.getJob(failing.id!);
    expect(JSON.stringify(detail)).not.toContain('hunter2');
    expect(JSON.stringify(failing)).not.toContain('hunter2');
  });
});

describe('backfill on the real server', () => {
  it('lets a short job run ahead of a blocked big one, but not a job without a time limit', async () => {
    const running = await s.client.submit({ task: task('resources: {accelerators: A100:2}\nmax_runtime: 60s\nrun: sleep 30') });
    await waitForJob(s.client, running.id!, (j) => j.state === 'RUNNING');
    const big = await s.client.submit({ task: task('resources: {accelerators: A100:4}\nrun: sleep 1') });
    const short = await s.client.submit({ task: task('resources: {accelerators: A100:1}\nmax_runtime: 10s\nrun: sleep 30') });
    const endless = await s.client.submit({ task: task('resources: {accelerators: A100:1}\nrun: sleep 30') });
    await waitForJob(s.client, short.id!, (j) => j.state === 'RUNNING');
    const events = (await s.client.getJob(short.id!)).events.map((e) => e.reason);
    expect(events.some((r) => r.includes('backfilled'))).toBe(true);
    const held = await waitForJob(s.client, endless.id!, (j) => j.waitReason !== null);
    expect(held.state).toBe('PENDING');
    expect(held.waitReason).toMatch(new RegExp(`${big.id}`));
    expect((await s.client.getJob(big.id!)).state).toBe('PENDING');
    for (const id of [running.id!, big.id!, short.id!, endless.id!]) await s.client.cancel(id);
    for (const id of [running.id!, short.id!]) expect((await waitForJob(s.client, id, isEnded)).state).toBe('CANCELLED');
  });
});

describe('resource choices', () => {
  it('places a job only on the choices admission accepted', async () => {
    const { id, job } = await s.client.submit({ task: task(`
resources:
  any_of:
    - {accelerators: A100:4, use_spot: true}
    - {accelerators: A100:1}
run: echo "gpus=$CUDA_VISIBLE_DEVICES"
`) });
    expect(job?.resources).toMatch(/4 × A100.*\| 1 × A100/);
    const ended = await waitForJob(s.client, id!, isEnded);
    expect(ended.state).toBe('SUCCEEDED');
    expect(ended.gpus).toHaveLength(1);
  });
});
