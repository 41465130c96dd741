// The store contract: what every store adapter must do, run against each real engine by its own
// test file. Invariants checked: a transition is conditional on the current state and writes its
// event atomically; a GPU is never held twice; data survives closing and reopening.

import { describe, expect, it } from 'vitest';
import type { TaskSpec } from '../core/spec/types.js';
import type { NewJob, Store } from './types.js';

export interface StoreFactory {
  /** Opens the store at a location; opening the same location again sees the same data. */
  open(location: string): Promise<Store>;
  freshLocation(): Promise<string>;
}

const spec: TaskSpec = {
  name: 't', workdir: null, numNodes: 1, ordered: false,
  resources: [{ accelerator: { name: 'A100', count: 2 }, cpus: null, memoryGb: null, diskSizeGb: null, useSpot: false, infra: null, imageId: null, ports: [] }],
  envs: { A: '1' }, secrets: {}, fileMounts: [], volumes: {}, setup: null, run: 'echo hi',
  priority: 0, maxRuntimeSeconds: null, retries: { max: 0, on: [], exitCodes: [] }, preemptible: true, project: null, features: [],
};

function newJob(at: number): NewJob {
  return { name: 't', owner: 'ann', project: null, priority: 0, spec, choices: [0], secrets: { TOKEN: 'x' }, backend: 'local', workdirArchive: null, submittedAt: at };
}

const attempt = (jobId: number, gpus: number[]) => ({
  jobId, attempt: 1, backend: 'local', node: 'n1', gpus, cpus: 1, memoryGb: 0, handle: {}, logPath: null, startedAt: 2,
});

export function storeContract(name: string, factory: StoreFactory): void {
  describe(`store contract: ${name}`, () => {
    it('stores a submitted job with its event and secrets apart from the spec', async () => {
      const store = await factory.open(await factory.freshLocation());
      const job = await store.submitJob(newJob(1000));
      expect(job.state).toBe('PENDING');
      expect((await store.getJob(job.id))?.secrets).toEqual({ TOKEN: 'x' });
      expect((await store.listEvents(job.id)).map((e) => e.toState)).toEqual(['PENDING']);
      await store.close();
    });

    it('keeps an exported environment with its job, apart from the row, and across a reopening', async () => {
      const location = await factory.freshLocation();
      const store = await factory.open(location);
      const carried = await store.submitJob({ ...newJob(1000), exportedEnv: { MY_SUBMIT_VAR: 'from the shell', PATH: '/opt/conda/bin:/usr/bin' } });
      const bare = await store.submitJob(newJob(1001));
      expect(Object.keys(carried)).not.toContain('exportedEnv');
      await store.close();
      const again = await factory.open(location);
      expect(await again.getExportedEnv(carried.id)).toEqual({ MY_SUBMIT_VAR: 'from the shell', PATH: '/opt/conda/bin:/usr/bin' });
      expect(await again.getExportedEnv(bare.id)).toEqual({});
      expect(await again.getExportedEnv(999_999)).toEqual({});
      await again.close();
    });

    it("keeps the owner's user id, and writes an idempotency key with its job or not at all", async () => {
      const store = await factory.open(await factory.freshLocation());
      const ann = await store.users.addUser('ann', 'member', 1);
      const key = (k: string, at = 1000) => ({ userId: ann.id, key: k, requestHash: 'h1', expiredBefore: at - 100 });
      const job = await store.submitJob({ ...newJob(1000), ownerId: ann.id, idempotency: key('k1') });
      expect(job).toMatchObject({ owner: 'ann', ownerId: ann.id });
      expect(await store.findIdempotentJob(ann.id, 'k1', 0)).toEqual({ jobId: job.id, requestHash: 'h1' });
      expect(await store.findIdempotentJob(ann.id, 'k1', 1001)).toBeNull();
      const count = await store.countJobs();
      await expect(store.submitJob({ ...newJob(1001), ownerId: ann.id, idempotency: key('k1', 1001) })).rejects.toMatchObject({ code: 'CONFLICT', details: { idempotencyKey: 'k1' } });
      expect(await store.countJobs()).toBe(count);
      // Another user may use the same key; an expired key is deleted by the next keyed submission.
      const bob = await store.users.addUser('bob', 'member', 1);
      await store.submitJob({ ...newJob(1002), owner: 'bob', ownerId: bob.id, idempotency: { ...key('k1'), userId: bob.id } });
      const later = await store.submitJob({ ...newJob(5000), ownerId: ann.id, idempotency: key('k1', 5000) });
      expect(await store.findIdempotentJob(ann.id, 'k1', 0)).toEqual({ jobId: later.id, requestHash: 'h1' });
      await store.close();
    });

    it('applies a transition only from the expected state', async () => {
      const store = await factory.open(await factory.freshLocation());
      const job = await store.submitJob(newJob(1));
      expect(await store.transition({ jobId: job.id, from: 'RUNNING', to: 'SUCCEEDED', reason: 'x', at: 2 })).toBe(false);
      expect(await store.transition({ jobId: job.id, from: 'PENDING', to: 'STARTING', reason: 'placed', at: 2, set: { attempt: 1 }, newAttempt: attempt(job.id, [0, 1]), hold: [{ backend: 'local', node: 'n1', gpuIndex: 0 }, { backend: 'local', node: 'n1', gpuIndex: 1 }] })).toBe(true);
      expect((await store.getJob(job.id))?.state).toBe('STARTING');
      expect(await store.listOpenAttempts()).toHaveLength(1);
      expect(await store.listHolds()).toHaveLength(2);
      const handle = { pid: 42 };
      expect(await store.transition({ jobId: job.id, from: 'STARTING', to: 'RUNNING', reason: 'running', at: 3, set: { startedAt: 3 }, attemptHandle: { attempt: 1, handle, logPath: '/x.log' } })).toBe(true);
      expect(await store.getAttempt(job.id, 1)).toMatchObject({ handle, logPath: '/x.log' });
      expect((await store.getJob(job.id))?.startedAt).toBe(3);
      await store.close();
    });

    it('refuses to hold a GPU twice and writes nothing of the refused change', async () => {
      const store = await factory.open(await factory.freshLocation());
      const a = await store.submitJob(newJob(1));
      const b = await store.submitJob(newJob(2));
      const hold = (gpuIndex: number) => ({ backend: 'local', node: 'n1', gpuIndex });
      await store.transition({ jobId: a.id, from: 'PENDING', to: 'STARTING', reason: 'p', at: 3, set: { attempt: 1 }, newAttempt: attempt(a.id, [0, 1]), hold: [hold(0), hold(1)] });
      await expect(
        store.transition({ jobId: b.id, from: 'PENDING', to: 'STARTING', reason: 'p', at: 3, set: { attempt: 1 }, newAttempt: attempt(b.id, [1, 2]), hold: [hold(1), hold(2)] }),
      ).rejects.toMatchObject({ code: 'CONFLICT' });
      expect((await store.getJob(b.id))?.state).toBe('PENDING');
      expect(await store.listAttempts(b.id)).toHaveLength(0);
      expect((await store.listHolds()).map((h) => h.jobId)).toEqual([a.id, a.id]);
      await store.close();
    });

    it('ends an attempt, releases its GPUs and keeps the exit code', async () => {
      const store = await factory.open(await factory.freshLocation());
      const job = await store.submitJob(newJob(1));
      await store.transition({ jobId: job.id, from: 'PENDING', to: 'STARTING', reason: 'p', at: 2, set: { attempt: 1 }, newAttempt: attempt(job.id, [3]), hold: [{ backend: 'local', node: 'n1', gpuIndex: 3 }] });
      await store.transition({ jobId: job.id, from: 'STARTING', to: 'FAILED', reason: 'exit code 3', at: 5, set: { exitCode: 3, endedAt: 5 }, endAttempt: { attempt: 1, exitCode: 3, signal: null, endReason: 'exit' } });
      expect(await store.listHolds()).toEqual([]);
      expect(await store.listOpenAttempts()).toEqual([]);
      const [ended] = await store.listAttempts(job.id);
      expect(ended).toMatchObject({ exitCode: 3, endReason: 'exit', endedAt: 5, gpus: [3] });
      expect((await store.listCurrentAttempts([job.id]))[0]?.gpus).toEqual([3]);
      await store.close();
    });

    it('keeps everything across close and reopen', async () => {
      const location = await factory.freshLocation();
      const first = await factory.open(location);
      const job = await first.submitJob(newJob(7));
      await first.setMeta('k', 'v');
      await first.close();
      const second = await factory.open(location);
      expect((await second.getJob(job.id))?.submittedAt).toBe(7);
      expect(await second.getMeta('k')).toBe('v');
      expect(await second.countJobs()).toBe(1);
      await second.close();
    });

    it('lists jobs newest first, by state, with paging', async () => {
      const store = await factory.open(await factory.freshLocation());
      const ids: number[] = [];
      for (let i = 0; i < 5; i++) ids.push((await store.submitJob(newJob(i))).id);
      await store.transition({ jobId: ids[0]!, from: 'PENDING', to: 'CANCELLED', reason: 'c', at: 9 });
      expect((await store.listJobs({ states: ['PENDING'] })).map((j) => j.id)).toEqual(ids.slice(1).reverse());
      expect((await store.listJobs({ limit: 2, beforeId: ids[3] })).map((j) => j.id)).toEqual([ids[2], ids[1]]);
      await store.close();
    });

    it('filters, searches, sorts, pages and counts jobs', async () => {
      const store = await factory.open(await factory.freshLocation());
      const make = (name: string | null, owner: string, project: string | null, at: number, backend: string | null = 'local') =>
        store.submitJob({ ...newJob(at), name, owner, project, backend });
      const a = await make('Train_ResNet', 'ann', 'vision', 10);
      const b = await make('eval-resnet', 'bob', 'vision', 20);
      const c = await make('100%_done', 'ann', null, 30, 'slurm');
      const d = await make(null, 'bob', 'nlp', 40);
      await store.transition({ jobId: b.id, from: 'PENDING', to: 'CANCELLED', reason: 'c', at: 50 });
      const ids = async (filter: Parameters<Store['listJobs']>[0]) => (await store.listJobs(filter)).map((j) => j.id);
      expect(await ids({ nameContains: 'RESNET' })).toEqual([b.id, a.id]);
      expect(await ids({ nameContains: '%' })).toEqual([c.id]);
      expect(await ids({ nameContains: '_' })).toEqual([c.id, a.id]);
      expect(await ids({ owner: 'bob' })).toEqual([d.id, b.id]);
      expect(await ids({ project: 'vision', states: ['PENDING'] })).toEqual([a.id]);
      expect(await ids({ backend: 'slurm' })).toEqual([c.id]);
      expect(await ids({ submittedSince: 30 })).toEqual([d.id, c.id]);
      expect(await ids({ sort: { key: 'submittedAt', dir: 'asc' } })).toEqual([a.id, b.id, c.id, d.id]);
      expect(await ids({ sort: { key: 'owner', dir: 'asc' } })).toEqual([a.id, c.id, b.id, d.id]);
      expect(await ids({ sort: { key: 'id', dir: 'desc' }, limit: 2, offset: 1 })).toEqual([c.id, b.id]);
      expect(await store.countJobs({ owner: 'ann' })).toBe(2);
      expect(await store.countJobs({ states: ['CANCELLED'], limit: 1 })).toBe(1);
      expect(await store.countJobs({ states: [] })).toBe(0);
      expect(await store.countJobs()).toBe(4);
      await store.close();
    });
  });
}
