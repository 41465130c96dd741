// The head-of-queue preparer against the real podman of this machine (no registry is reachable
// here): an image already present is a no-op, asked for by many jobs it is checked once; an
// unreachable ref fails cleanly (status failed with podman's reason, nothing hangs) and is pulled
// once for all the jobs that want it, one pull at a time, in queue order. The runner records the
// podman commands it passes on to the real Podman.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../store/sqlite/store.js';
import type { Store } from '../store/types.js';
import { ImagePreparer, type PreparedJob } from './image-prepare.js';
import { ImageService } from './images.js';
import { Podman } from './podman.js';
import type { PodmanRunner } from './podman-images.js';

const RUN = randomBytes(3).toString('hex');
const PRESENT = `docker.io/library/h5present-${RUN}:1`;
const dir = mkdtempSync(join(tmpdir(), 'stint-prepare-'));
let store: Store;
let real: Podman;
const calls: string[][] = [];
let inFlightPulls = 0;
let maxInFlightPulls = 0;
const clock = { now: () => Date.now() };
const logger = { warn: () => {} };

const recording: PodmanRunner = {
  async run(args, options) {
    calls.push([...args]);
    const pull = args[0] === 'pull';
    if (pull) maxInFlightPulls = Math.max(maxInFlightPulls, ++inFlightPulls);
    try {
      return await real.run(args, options);
    } finally {
      if (pull) inFlightPulls--;
    }
  },
};

const job = (id: number, imageId: string, ownerId = 1): PreparedJob => ({ id, owner: `u${ownerId}`, ownerId, spec: { resources: [{ imageId }] }, choices: [0] });
const pulls = () => calls.filter((c) => c[0] === 'pull').map((c) => c[c.length - 1]);

beforeAll(async () => {
  const detected = await Podman.detect({ home: dir });
  if ('unavailable' in detected) throw new Error(`podman is required for these tests: ${detected.unavailable}`);
  real = detected;
  store = await openSqliteStore(join(dir, 'stint.db'));
  const root = join(dir, 'rootfs');
  mkdirSync(join(root, 'bin'), { recursive: true });
  copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
  symlinkSync('busybox', join(root, 'bin', 'sh'));
  execFileSync('tar', ['-C', root, '-cf', join(dir, 'rootfs.tar'), '.']);
  execFileSync('podman', ['import', join(dir, 'rootfs.tar'), PRESENT], { stdio: 'ignore' });
}, 60_000);

afterAll(async () => {
  execFileSync('podman', ['rmi', '--force', PRESENT], { stdio: 'ignore' });
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

function preparer(): ImagePreparer {
  const images = new ImageService({ store: store.images, podman: async () => recording, clock, isAdmin: async () => false, tempDir: dir, pullTimeoutMs: 60_000 });
  return new ImagePreparer({ images, clock, logger });
}

describe('ImagePreparer', () => {
  it('does nothing for an image already present, however many jobs and passes ask', async () => {
    calls.length = 0;
    const p = preparer();
    const short = `docker:h5present-${RUN}:1`;
    p.prepare([job(1, short), job(2, short), job(3, `docker:${PRESENT}`)]);
    p.prepare([job(1, short)]);
    await p.idle();
    expect(pulls()).toEqual([]);
    expect(p.statusOf(short, { id: 1, name: 'u1' })?.state).toBe('ready');
    // Checked once per distinct image_id (the later pass found it ready), not once per job or pass.
    expect(calls.filter((c) => c[0] === 'image').length).toBe(2);
  });

  it('fails an unreachable ref cleanly, pulled once for every job that wants it, one pull at a time in queue order', async () => {
    calls.length = 0;
    maxInFlightPulls = 0;
    const p = preparer();
    const first = `docker:h5-unreachable-a-${RUN}:1`;
    const second = `docker:registry.invalid/h5-b-${RUN}:1`;
    p.prepare([job(1, first), job(2, `docker:h5present-${RUN}:1`), job(3, second), job(4, first)]);
    p.prepare([job(4, first), job(3, second)]);
    await p.idle();
    expect(pulls()).toEqual([`docker.io/library/h5-unreachable-a-${RUN}:1`, `registry.invalid/h5-b-${RUN}:1`]);
    expect(maxInFlightPulls).toBe(1);
    const status = p.statusOf(first, { id: 1, name: 'u1' });
    expect(status?.state).toBe('failed');
    expect(status?.state === 'failed' && status.reason).toMatch(/pulling docker\.io\/library\/h5-unreachable-a-.* failed: /);
    // A failed image is not pulled again by the next passes (the launch tries once more).
    p.prepare([job(1, first)]);
    await p.idle();
    expect(pulls().length).toBe(2);
  });

  it('keeps each owner apart: the same image_id of two owners is checked for each', async () => {
    calls.length = 0;
    const p = preparer();
    const short = `docker:h5present-${RUN}:1`;
    p.prepare([job(1, short, 1), job(2, short, 2)]);
    await p.idle();
    expect(p.statusOf(short, { id: 2, name: 'u2' })?.state).toBe('ready');
    expect(pulls()).toEqual([]);
  });
});
