// Benchmark: resident memory of a server whose store holds 10,000 finished jobs, after it has
// answered listing requests over all of them.

import { join } from 'node:path';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { TaskSpec } from '../src/core/spec/types.js';
import { openSqliteStore } from '../src/store/sqlite/store.js';
import { rssMb, startBenchServer } from './server.js';

const spec: TaskSpec = {
  name: 'done', workdir: null, numNodes: 1, ordered: false,
  resources: [{ accelerator: { name: 'A100', count: 1 }, cpus: null, memoryGb: null, diskSizeGb: null, useSpot: false, infra: null, imageId: null, ports: [] }],
  envs: { SEED: '1' }, secrets: {}, fileMounts: [], volumes: {}, setup: 'pip list', run: 'python train.py --epochs 10',
  priority: 0, maxRuntimeSeconds: 3600, retries: { max: 0, on: [], exitCodes: [] }, preemptible: true, project: null, features: [],
};

export async function benchMemory(jobs = 10_000): Promise<Record<string, unknown>> {
  const home = await mkdtemp(join(tmpdir(), 'stint-bench-mem-'));
  const store = await openSqliteStore(join(home, 'stint.db'));
  for (let i = 0; i < jobs; i++) {
    const job = await store.submitJob({ name: `done-${i}`, owner: 'bench', project: null, priority: 0, spec, choices: [0], secrets: {}, backend: 'local', workdirArchive: null, submittedAt: Date.now() });
    await store.transition({ jobId: job.id, from: 'PENDING', to: 'CANCELLED', reason: 'bench', at: Date.now(), set: { endedAt: Date.now() } });
  }
  await store.close();
  const server = await startBenchServer(['--gpus', 'A100:8'], home);
  try {
    const idle = rssMb(server.child.pid!);
    for (let i = 0; i < 3; i++) await server.client.listJobs({ all: true, limit: 10_000 });
    return { bench: 'server_rss', finishedJobs: jobs, rssIdleMb: idle, rssAfterListingMb: rssMb(server.child.pid!) };
  } finally {
    await server.stop();
  }
}
