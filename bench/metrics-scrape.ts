// Benchmark: the cost of one /metrics scrape as finished jobs pile up. The scrape reads active jobs
// and GPU holds only (finished counts are kept in memory), so it should stay flat. Run with
// `npm run build && node dist/bench/metrics-scrape.js [finished-jobs]` (default 20000).

import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { systemClock } from '../src/core/clock.js';
import { StintMetrics } from '../src/metrics/metrics.js';
import { openSqliteStore } from '../src/store/sqlite/store.js';
import type { TaskSpec } from '../src/core/spec/types.js';

const spec = { name: 'b', workdir: null, numNodes: 1, ordered: false, resources: [], envs: {}, secrets: {}, fileMounts: [], volumes: {}, setup: null, run: 'true', priority: 0, maxRuntimeSeconds: null, retries: { max: 0, on: [], exitCodes: [] }, preemptible: true, project: null, features: [] } as unknown as TaskSpec;

async function scrapeMs(metrics: StintMetrics, rounds = 50): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < rounds; i++) await metrics.text();
  return (performance.now() - start) / rounds;
}

async function main(): Promise<void> {
  const total = Number(process.argv[2] ?? 20_000);
  const store = await openSqliteStore(join(await mkdtemp(join(tmpdir(), 'stint-bench-')), 'stint.db'));
  const metrics = new StintMetrics({ store, backends: [], clock: systemClock, readings: () => [], nodeDrained: () => false });
  for (let i = 0; i < 20; i++) await store.submitJob({ name: null, owner: 'ann', project: 'p', priority: 0, spec, choices: [], secrets: {}, backend: 'local', workdirArchive: null, submittedAt: i });
  await metrics.init();
  await scrapeMs(metrics, 50); // warm-up (JIT, prepared statements)
  const before = await scrapeMs(metrics);
  for (let i = 0; i < total; i++) {
    const job = await store.submitJob({ name: null, owner: 'ann', project: 'p', priority: 0, spec, choices: [], secrets: {}, backend: 'local', workdirArchive: null, submittedAt: i });
    await store.transition({ jobId: job.id, from: 'PENDING', to: 'CANCELLED', reason: 'bench', at: i });
  }
  const fresh = new StintMetrics({ store, backends: [], clock: systemClock, readings: () => [], nodeDrained: () => false });
  await fresh.init();
  const after = await scrapeMs(fresh);
  process.stdout.write(`scrape with 20 pending jobs: ${before.toFixed(2)} ms; after ${total} more finished jobs: ${after.toFixed(2)} ms\n`);
  await store.close();
}

await main();
