// Waste: an interactive job whose GPUs stay idle is warned (an alert to its owner's webhook), then
// stopped through the cancel path with the policy as its end reason; a batch job in the same project
// is left alone (policies watch interactive jobs unless they say applies=all); a busy interactive
// job is left alone; `stint usage` reports the idle GPU-hours per user. Fake GPUs, real CLI.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STINT_BIN } from './helpers/server.js';
import { observedServer, until, webhookReceiver, type ObservedServer, type Receiver } from './helpers/observability.js';

const run = promisify(execFile);
let s: ObservedServer;
let receiver: Receiver;

beforeAll(async () => {
  receiver = await webhookReceiver();
  s = await observedServer({}, 'A100:3');
  await s.client.addProject('vision');
});
afterAll(async () => {
  await s?.server.stop();
  await receiver?.close();
});

async function stint(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [STINT_BIN, ...args], { env: { ...process.env, STINT_URL: s.server.url, STINT_TOKEN: s.token, NO_COLOR: '1' } });
  return stdout;
}

describe('idle GPUs', () => {
  it('warns, then stops an idle interactive job; leaves batch and busy jobs running; counts idle GPU-hours', async () => {
    expect(await stint('admin', 'idle-policy', 'set', 'vision', 'threshold=10,warn=1s,stop=3s')).toMatch(/below 10% warn after 1 s, stop after 3 s \(interactive jobs\)/);
    await s.client.setWebhook(receiver.url);
    const submit = async (name: string, interactive: boolean) => (await s.client.submit({ task: `name: ${name}\nproject: vision\ninteractive: ${interactive}\nresources: {accelerators: A100:1}\nrun: sleep 120\n` })).id!;
    const zombie = await submit('zombie', true);
    const batch = await submit('batch', false);
    const busy = await submit('busy', true);
    const gpuOf = new Map<number, number>();
    for (const id of [zombie, batch, busy]) {
      const job = await until(`job ${id} to run`, async () => {
        const j = await s.client.getJob(id);
        return j.state === 'RUNNING' ? j : undefined;
      });
      gpuOf.set(id, job.gpus[0]!);
    }
    s.setGpus([0, 1, 2].map((index) => ({ index, utilization: index === gpuOf.get(busy) ? 0.6 : 0.02, memoryUsedMb: 24_000 })));

    const warning = await until('the idle warning', async () => receiver.bodies.find((b) => (b as { kind: string }).kind === 'job_idle'));
    expect(warning).toMatchObject({ kind: 'job_idle', job: { id: zombie, name: 'zombie' }, text: expect.stringMatching(/below 10% for \d+ s \(the idle-GPU policy of project vision\); it will be stopped after 3 s idle/) });
    const watched = await s.client.jobTelemetry(zombie);
    expect(watched.idle).toMatchObject({ since: expect.any(String), warnedAt: expect.any(String), policy: { project: 'vision', thresholdPercent: 10 } });

    const stopped = await until('the zombie to be stopped', async () => {
      const j = await s.client.getJob(zombie);
      return j.state === 'CANCELLED' ? j : undefined;
    });
    const [, idleSeconds] = /^stopped by the idle-GPU policy of project vision: GPUs below 10% for (\d+) s \(killed by SIGTERM\)$/.exec(stopped.reason ?? '') ?? [];
    expect(Number(idleSeconds), stopped.reason ?? '').toBeGreaterThanOrEqual(3);
    const ended = await until('the end alert', async () => receiver.bodies.find((b) => (b as { kind: string }).kind === 'job_cancelled'));
    expect(ended).toMatchObject({ job: { id: zombie } });

    expect((await s.client.getJob(batch)).state).toBe('RUNNING');
    expect((await s.client.getJob(busy)).state).toBe('RUNNING');
    expect((await s.client.jobTelemetry(batch)).idle).toBeNull();

    const usage = await s.client.usage({ by: 'user' });
    expect(usage.rows).toHaveLength(1);
    expect(usage.rows[0]!.idleGpuHours).toBeGreaterThan(0);
    expect(await stint('usage')).toMatch(/IDLE GPU-HOURS/);
    for (const id of [batch, busy]) await s.client.cancel(id);
  }, 60_000);

  it('refuses a malformed policy with the setting named', async () => {
    await expect(stint('admin', 'idle-policy', 'set', 'vision', 'threshold=500')).rejects.toMatchObject({ stderr: expect.stringContaining('threshold: "500" is not a percentage') });
  });
});
