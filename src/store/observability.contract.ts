// The observability store's contract (drains, health events, telemetry, idle policies, webhooks,
// job counts), run against each real engine by the adapters' test files beside the store contract.

import { describe, expect, it } from 'vitest';
import type { TaskSpec } from '../core/spec/types.js';
import type { StoreFactory } from './store.contract.js';

const spec = {
  name: 't', workdir: null, numNodes: 1, ordered: false, resources: [], envs: {}, secrets: {}, fileMounts: [], volumes: {}, setup: null, run: 'true',
  priority: 0, maxRuntimeSeconds: null, retries: { max: 0, on: [], exitCodes: [] }, preemptible: true, project: null, features: [],
} as unknown as TaskSpec;

export function observabilityContract(name: string, factory: StoreFactory): void {
  describe(`observability store contract: ${name}`, () => {
    it('keeps one drain per GPU or node and clears it', async () => {
      const store = await factory.open(await factory.freshLocation());
      const obs = store.observability;
      await obs.setDrain({ backend: 'local', node: 'n1', gpuIndex: 2, reason: 'xid 79', source: 'health', at: 5 });
      await obs.setDrain({ backend: 'local', node: 'n1', gpuIndex: 2, reason: 'by hand', source: 'admin', at: 6 });
      await obs.setDrain({ backend: 'local', node: 'n2', gpuIndex: null, reason: 'node down', source: 'admin', at: 7 });
      expect(await obs.listDrains()).toEqual([
        { backend: 'local', node: 'n1', gpuIndex: 2, reason: 'by hand', source: 'admin', at: 6 },
        { backend: 'local', node: 'n2', gpuIndex: null, reason: 'node down', source: 'admin', at: 7 },
      ]);
      expect(await obs.clearDrain('local', 'n2', null)).toBe(true);
      expect(await obs.clearDrain('local', 'n2', null)).toBe(false);
      expect(await obs.listDrains()).toHaveLength(1);
      await store.close();
    });

    it('records health events newest first', async () => {
      const store = await factory.open(await factory.freshLocation());
      await store.observability.addHealthEvent({ at: 1, backend: 'local', node: 'n1', gpuIndex: 0, kind: 'xid', detail: 'Xid 79' });
      await store.observability.addHealthEvent({ at: 2, backend: 'local', node: 'n1', gpuIndex: null, kind: 'resume', detail: 'by ann' });
      expect((await store.observability.listHealthEvents(10)).map((e) => [e.kind, e.gpuIndex])).toEqual([['resume', null], ['xid', 0]]);
      await store.close();
    });

    it('replaces a job attempt\'s telemetry and sums idle GPU-seconds per owner', async () => {
      const store = await factory.open(await factory.freshLocation());
      const job = await store.submitJob({ name: 't', owner: 'ann', project: 'vision', priority: 0, spec, choices: [], secrets: {}, backend: 'local', workdirArchive: null, submittedAt: 1 });
      const obs = store.observability;
      await obs.saveTelemetry({ jobId: job.id, attempt: 1, updatedAt: 100, series: [{ at: 50, seconds: 5, utilization: 0.5, memoryUsedMb: 10 }], gpuSeconds: 10, idleGpuSeconds: 0 });
      await obs.saveTelemetry({ jobId: job.id, attempt: 1, updatedAt: 200, series: [{ at: 50, seconds: 10, utilization: 0.25, memoryUsedMb: 20 }], gpuSeconds: 20, idleGpuSeconds: 7.5 });
      await obs.saveTelemetry({ jobId: job.id, attempt: 2, updatedAt: 300, series: [], gpuSeconds: 4, idleGpuSeconds: 4 });
      const saved = await obs.listTelemetry(job.id);
      expect(saved.map((t) => [t.attempt, t.gpuSeconds, t.series.length])).toEqual([[1, 20, 1], [2, 4, 0]]);
      expect(saved[0]!.series[0]).toEqual({ at: 50, seconds: 10, utilization: 0.25, memoryUsedMb: 20 });
      expect(await obs.idleUsageSince(0)).toEqual([{ owner: 'ann', project: 'vision', gpuSeconds: 24, idleGpuSeconds: 11.5 }]);
      expect(await obs.idleUsageSince(250)).toEqual([{ owner: 'ann', project: 'vision', gpuSeconds: 4, idleGpuSeconds: 4 }]);
      await store.close();
    });

    it('counts jobs by state and project among the states asked for', async () => {
      const store = await factory.open(await factory.freshLocation());
      for (const project of ['a', 'a', 'b']) {
        await store.submitJob({ name: null, owner: 'ann', project, priority: 0, spec, choices: [], secrets: {}, backend: 'local', workdirArchive: null, submittedAt: 1 });
      }
      const counts = await store.observability.countJobsByState(['PENDING', 'RUNNING']);
      expect(counts.sort((x, y) => String(x.project).localeCompare(String(y.project)))).toEqual([
        { state: 'PENDING', project: 'a', count: 2 },
        { state: 'PENDING', project: 'b', count: 1 },
      ]);
      expect(await store.observability.countJobsByState(['RUNNING'])).toEqual([]);
      await store.close();
    });

    it('stores idle policies and webhooks', async () => {
      const store = await factory.open(await factory.freshLocation());
      const obs = store.observability;
      await obs.setIdlePolicy({ project: '*', thresholdPercent: 5, warnAfterSeconds: 1800, stopAfterSeconds: null, appliesTo: 'interactive' });
      await obs.setIdlePolicy({ project: 'vision', thresholdPercent: 10, warnAfterSeconds: 60, stopAfterSeconds: 120, appliesTo: 'all' });
      await obs.setIdlePolicy({ project: 'vision', thresholdPercent: 10, warnAfterSeconds: 60, stopAfterSeconds: 180, appliesTo: 'all' });
      expect((await obs.listIdlePolicies()).map((p) => [p.project, p.stopAfterSeconds, p.appliesTo])).toEqual([['*', null, 'interactive'], ['vision', 180, 'all']]);
      expect(await obs.removeIdlePolicy('vision')).toBe(true);
      await obs.setWebhook({ user: 'ann', url: 'http://127.0.0.1:9/hook', format: 'slack' });
      expect(await obs.getWebhook('ann')).toEqual({ user: 'ann', url: 'http://127.0.0.1:9/hook', format: 'slack' });
      expect(await obs.getWebhook('bob')).toBeNull();
      expect(await obs.countWebhooks()).toBe(1);
      expect(await obs.removeWebhook('ann')).toBe(true);
      expect(await obs.getWebhook('ann')).toBeNull();
      await store.close();
    });
  });
}
