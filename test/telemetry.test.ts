// GPU telemetry end to end with fake GPUs: the test writes the file a vendor tool would have
// answered, the sampler reads it, the job's downsampled utilisation and memory appear in the API
// and in `stint job ID` (the real CLI process), and stay there after the job ended.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STINT_BIN } from './helpers/server.js';
import { observedServer, until, type ObservedServer } from './helpers/observability.js';

const run = promisify(execFile);
let s: ObservedServer;

beforeAll(async () => {
  s = await observedServer({}, 'A100:2');
});
afterAll(async () => {
  await s?.server.stop();
});

describe('per-job GPU telemetry from fake GPUs', () => {
  it('shows the job\'s utilisation and memory in the API and in `stint job`, and keeps them after the end', async () => {
    s.setGpus([{ index: 0, utilization: 0.75, memoryUsedMb: 30_000 }, { index: 1, utilization: 0.75, memoryUsedMb: 30_000 }]);
    const { id } = await s.client.submit({ task: 'name: busy\nresources: {accelerators: A100:1}\nrun: sleep 60\n' });
    const jobId = id!;
    const telemetry = await until('three samples of the job', async () => {
      const t = await s.client.jobTelemetry(jobId);
      return t.attempts[0] && t.attempts[0].series.length >= 3 ? t : undefined;
    });
    expect(telemetry.attempts).toHaveLength(1);
    for (const point of telemetry.attempts[0]!.series) expect(point).toMatchObject({ utilization: 0.75, memoryUsedMb: 30_000 });
    expect(telemetry.attempts[0]!.gpuSeconds).toBeGreaterThan(0);
    expect(telemetry.attempts[0]!.idleGpuSeconds).toBe(0);

    const { stdout } = await run(process.execPath, [STINT_BIN, 'job', String(jobId)], { env: { ...process.env, STINT_URL: s.server.url, STINT_TOKEN: s.token, NO_COLOR: '1' } });
    expect(stdout).toMatch(/GPU use \(attempt 1\)\s+utilisation mean 75%, peak 75%; memory peak 29\.3 GB/);

    // The GPU goes quiet: the new points say so, the old ones stay.
    s.setGpus([{ index: 0, utilization: 0, memoryUsedMb: 512 }, { index: 1, utilization: 0, memoryUsedMb: 512 }]);
    const quiet = await until('an idle sample', async () => {
      const t = await s.client.jobTelemetry(jobId);
      return t.attempts[0]!.series.some((p) => p.utilization === 0) ? t : undefined;
    });
    expect(quiet.attempts[0]!.series[0]).toMatchObject({ utilization: 0.75 });
    expect(quiet.attempts[0]!.idleGpuSeconds).toBeGreaterThan(0);

    await s.client.cancel(jobId);
    await until('the job to end', async () => (['CANCELLED', 'FAILED'].includes((await s.client.getJob(jobId)).state) ? true : undefined));
    const saved = await until('the saved series after the end', async () => {
      const rows = await s.server.store.observability.listTelemetry(jobId);
      return rows[0] && rows[0].series.length >= quiet.attempts[0]!.series.length ? rows : undefined;
    });
    expect(saved[0]!.series[0]).toMatchObject({ utilization: 0.75, memoryUsedMb: 30_000 });
    expect((await s.client.jobTelemetry(jobId)).attempts[0]!.series.length).toBe(saved[0]!.series.length);
  }, 60_000);

  it('attributes nothing to a GPU the tool cannot read (unknown is not idle)', async () => {
    s.setGpus([{ index: 0, memoryUsedMb: 100 }, { index: 1, memoryUsedMb: 100 }]);
    const { id } = await s.client.submit({ task: 'resources: {accelerators: A100:1}\nrun: sleep 60\n' });
    await until('the job to run', async () => ((await s.client.getJob(id!)).state === 'RUNNING' ? true : undefined));
    await until('two more sampler rounds', async () => {
      await new Promise((r) => setTimeout(r, 600));
      return true;
    });
    const t = await s.client.jobTelemetry(id!);
    expect(t.attempts).toEqual([]);
    await s.client.cancel(id!);
  }, 30_000);
});
