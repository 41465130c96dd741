// The backend contract for "container local": the local backend as the server wires it
// (src/server/backends.ts: podman detected, CDI from the backend's own GPUs), every spec of the
// suite run with `image_id: stint:<the test image>` (busybox + bash, built in the test). Jobs run
// as the server's account and, as a root server runs mapped users' jobs, dropped to nobody.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { chmod, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend, RunAs } from '../../src/backends/backend.js';
import { backendContract, launchOn, taskSpec, waitForEnd } from '../../src/backends/contract.js';
import { stintSpecName } from '../../src/containers/cdi.js';
import { createLocalWithContainers } from '../../src/server/backends.js';
import { TEST_IMAGE, detectPodman, importTestImage } from './fixture.js';

const isRoot = process.getuid?.() === 0;
const NOBODY: RunAs = { user: 'nobody', uid: 65534, gid: 65534, home: '/nonexistent' };
const IMAGE = `stint:${TEST_IMAGE}`;

async function create(): Promise<Backend> {
  const home = await mkdtemp(join(tmpdir(), 'stint-clocal-'));
  await chmod(home, 0o711);
  return createLocalWithContainers({ name: 'clocal', home, jobsDir: join(home, 'jobs'), fakeGpus: 'A100:2' }, {});
}

function droppedTo(backend: Backend, account: RunAs): Backend {
  return { ...backend, name: backend.name, kind: backend.kind, unsupported: backend.unsupported, stintPlaces: backend.stintPlaces, identity: backend.identity,
    inventory: () => backend.inventory(), launch: (request) => backend.launch({ ...request, runAs: account }), poll: (a) => backend.poll(a),
    signal: (a, s) => backend.signal(a, s), readLog: (a, o, l) => backend.readLog(a, o, l), onActivity: (l) => backend.onActivity(l), close: () => backend.close() };
}

// Root's podman stores images for everyone; a non-root run would use rootless podman, not set up here.
describe.skipIf(!isRoot)('container local', () => {
  beforeAll(async () => {
    await importTestImage(await detectPodman(await mkdtemp(join(tmpdir(), 'stint-clocal-img-'))));
  }, 120_000);

  it('accepts image_id (podman was found)', async () => {
    const backend = await create();
    expect(backend.unsupported).not.toHaveProperty('image');
  });

  it('records the image that ran on the attempt', async () => {
    const backend = await create();
    const spec = taskSpec('id -u');
    spec.resources = [{ ...spec.resources[0]!, imageId: IMAGE }];
    const ref = await launchOn(backend, spec);
    expect((await waitForEnd(backend, ref, 30_000)).exitCode).toBe(0);
    expect(ref.handle).toMatchObject({ image: { ref: IMAGE, digest: expect.stringMatching(/^sha256:/) } });
  });

  it('ends a container over its memory limit as out_of_memory', async () => {
    const backend = await create();
    const spec = taskSpec('head -c 1073741824 /dev/zero | tail');
    spec.resources = [{ ...spec.resources[0]!, imageId: IMAGE, memoryGb: { value: 0.25, orMore: false } }];
    const end = await waitForEnd(backend, await launchOn(backend, spec), 60_000);
    expect(end).toMatchObject({ reason: 'out_of_memory' });
  });

  it("shows a job only its own GPU's node (fake nodes made with mknod)", async () => {
    const devices = await mkdtemp(join(tmpdir(), 'stint-clocal-dev-'));
    execFileSync('mknod', ['-m', '666', join(devices, 'nvidia0'), 'c', '1', '7']);
    execFileSync('mknod', ['-m', '666', join(devices, 'nvidia1'), 'c', '1', '5']);
    const home = await mkdtemp(join(tmpdir(), 'stint-clocal-'));
    await chmod(home, 0o711);
    const backend = await createLocalWithContainers({ name: 'clocal', home, jobsDir: join(home, 'jobs'), fakeGpus: 'A100:2', fakeGpuDevices: devices }, {});
    try {
      const spec = taskSpec('ls /dev | grep nvidia; echo "cuda=$CUDA_VISIBLE_DEVICES"');
      spec.resources = [{ ...spec.resources[0]!, imageId: IMAGE }];
      const ref = await launchOn(backend, spec, [1]);
      expect((await waitForEnd(backend, ref, 30_000)).exitCode).toBe(0);
      expect((await backend.readLog(ref, 0, 1000)).text).toBe('nvidia1\ncuda=0\n');
    } finally {
      rmSync(join('/var/run/cdi', stintSpecName(home)), { force: true });
    }
  });

  backendContract('container local', { create, timeoutMs: 30_000, imageId: IMAGE });
  backendContract('container local, jobs dropped to nobody', { create: async () => droppedTo(await create(), NOBODY), timeoutMs: 30_000, imageId: IMAGE });
});
