// The local backend against real processes: the shared contract, plus what only local does
// (GPU visibility, surviving the server).
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backendContract, launchOn, taskSpec, waitForEnd } from '../contract.js';
import { createLocalBackend } from './backend.js';

const create = async () => {
  const home = await mkdtemp(join(tmpdir(), 'stint-local-'));
  return createLocalBackend({ name: 'local', home, jobsDir: join(home, 'jobs'), fakeGpus: 'A100:4' });
};

backendContract('local', { create, timeoutMs: 10_000 });

describe('local backend', () => {
  it('declares fake GPUs from --gpus', async () => {
    const inventory = await (await create()).inventory();
    expect(inventory.nodes[0]!.gpus.map((g) => [g.index, g.name])).toEqual([[0, 'A100'], [1, 'A100'], [2, 'A100'], [3, 'A100']]);
  });

  it('hands the chosen GPUs to the job through CUDA_VISIBLE_DEVICES', async () => {
    const backend = await create();
    const ref = await launchOn(backend, taskSpec('echo "gpus=$CUDA_VISIBLE_DEVICES"'), [1, 3]);
    await waitForEnd(backend, ref, 10_000);
    expect((await backend.readLog(ref, 0, 1000)).text).toBe('gpus=1,3\n');
  });

  it('does not leak the server environment into jobs', async () => {
    process.env.STINT_LEAK_CHECK = 'leaked';
    const backend = await create();
    const ref = await launchOn(backend, taskSpec('echo "leak=${STINT_LEAK_CHECK:-none}"'));
    await waitForEnd(backend, ref, 10_000);
    expect((await backend.readLog(ref, 0, 1000)).text).toBe('leak=none\n');
    delete process.env.STINT_LEAK_CHECK;
  });

  it('reads an attempt back from its handle alone, as after a restart', async () => {
    const home = await mkdtemp(join(tmpdir(), 'stint-local-'));
    const first = await createLocalBackend({ name: 'local', home, jobsDir: join(home, 'jobs'), fakeGpus: '2' });
    const ref = await launchOn(first, taskSpec('sleep 0.3; exit 5'));
    await first.close();
    const second = await createLocalBackend({ name: 'local', home, jobsDir: join(home, 'jobs'), fakeGpus: '2' });
    expect((await waitForEnd(second, ref, 10_000)).exitCode).toBe(5);
  });
});
