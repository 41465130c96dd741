// Fair share on the real server: two users each queue 100 one-GPU jobs of equal length at the same
// moment onto 4 GPUs. The first 20 starts alternate between them, and over the whole run each
// user's share of GPU-time stays within 10 percentage points of 50%.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StintClient } from '../src/api/client.js';
import type { JobView } from '../src/api/schemas.js';
import { inProcessServer, isEnded, sleep, waitForJob, type InProcessServer } from './helpers/server.js';

let s: InProcessServer;
beforeAll(async () => {
  s = await inProcessServer({ gpus: 'A100:4', killGrace: '1' });
});
afterAll(async () => {
  await s.server.stop();
});

async function userClient(name: string): Promise<StintClient> {
  const { token } = await s.client.addUser(name);
  return new StintClient(s.server.url, token);
}

describe('two users, 100 jobs each, 4 GPUs', () => {
  it('alternate from the first starts and share GPU-time evenly throughout', async () => {
    const [alice, bob] = [await userClient('alice'), await userClient('bob')];
    const blocker = await s.client.submit({ task: 'resources: {accelerators: A100:4}\nrun: sleep 60\n' });
    await waitForJob(s.client, blocker.id!, (j) => j.state === 'RUNNING');
    const task = 'resources: {accelerators: A100:1}\nmax_runtime: 1m\nrun: sleep 0.2\n';
    // The worst case for fairness: all of alice's jobs are older than bob's.
    for (let i = 0; i < 100; i++) await alice.submit({ task });
    for (let i = 0; i < 100; i++) await bob.submit({ task });
    await s.client.cancel(blocker.id!);
    await waitForJob(s.client, blocker.id!, isEnded);
    let jobs: JobView[] = [];
    for (;;) {
      jobs = (await s.client.listJobs({ all: true, limit: 1000 })).jobs.filter((j) => j.id !== blocker.id);
      if (jobs.every(isEnded)) break;
      await sleep(200);
    }
    expect(jobs).toHaveLength(200);
    const starts = [...jobs].sort((a, b) => Date.parse(a.startedAt!) - Date.parse(b.startedAt!) || a.id - b.id);
    const first20 = starts.slice(0, 20).map((j) => j.owner);
    // Jobs placed in one pass start in the background, so their start times may swap: allow runs of 3.
    let run = 1;
    for (let i = 1; i < first20.length; i++) {
      run = first20[i] === first20[i - 1] ? run + 1 : 1;
      expect(run, `first starts: ${first20.join(' ')}`).toBeLessThanOrEqual(3);
    }
    expect(first20.filter((owner) => owner === 'alice').length, `first starts: ${first20.join(' ')}`).toBeGreaterThanOrEqual(8);
    expect(first20.filter((owner) => owner === 'bob').length, `first starts: ${first20.join(' ')}`).toBeGreaterThanOrEqual(8);
    // GPU-time each user has received by each moment a job ends, once 10% of the work is done.
    const ends = [...jobs].sort((a, b) => Date.parse(a.endedAt!) - Date.parse(b.endedAt!));
    for (const cut of ends.slice(20).map((j) => Date.parse(j.endedAt!))) {
      const used = (owner: string) =>
        jobs.filter((j) => j.owner === owner).reduce((sum, j) => sum + Math.max(0, Math.min(cut, Date.parse(j.endedAt!)) - Date.parse(j.startedAt!)), 0);
      const share = used('alice') / (used('alice') + used('bob'));
      expect(Math.abs(share - 0.5), `alice's share at ${new Date(cut).toISOString()}`).toBeLessThanOrEqual(0.1);
    }
  });
});

describe('past usage', () => {
  it('puts a heavy user behind one with none, and the queue says why', async () => {
    const [carol, dave] = [await userClient('carol'), await userClient('dave')];
    const used = await carol.submit({ task: 'resources: {accelerators: A100:4}\nrun: sleep 1.5\n' });
    await waitForJob(carol, used.id!, isEnded);
    const blocker = await s.client.submit({ task: 'resources: {accelerators: A100:4}\nrun: sleep 60\n' });
    await waitForJob(s.client, blocker.id!, (j) => j.state === 'RUNNING');
    const heavy = await carol.submit({ task: 'resources: {accelerators: A100:4}\nrun: "true"\n' });
    const fresh = await dave.submit({ task: 'resources: {accelerators: A100:4}\nrun: "true"\n' });
    const [c, d] = [await waitForJob(s.client, heavy.id!, (j) => j.priorityFactors !== null), await waitForJob(s.client, fresh.id!, (j) => j.priorityFactors !== null)];
    expect(d.priorityFactors!.fairShare).toBeGreaterThan(c.priorityFactors!.fairShare);
    expect(d.priorityScore!).toBeGreaterThan(c.priorityScore!);
    expect(d.queuePosition).toBe(0);
    expect(c.waitReason).toMatch(/ahead|held|waiting/);
    await s.client.cancel(blocker.id!);
    const [cEnd, dEnd] = [await waitForJob(s.client, heavy.id!, isEnded), await waitForJob(s.client, fresh.id!, isEnded)];
    expect(Date.parse(dEnd.startedAt!)).toBeLessThan(Date.parse(cEnd.startedAt!));
  });
});
