// A task with `image_id` through a real in-process server (as root, its default local backend
// wired by src/server/backends.ts): it runs in the container, and the job ends with its exit code.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inProcessServer, waitForJob, type InProcessServer } from '../helpers/server.js';
import { TEST_IMAGE, detectPodman, importTestImage } from './fixture.js';

// Root's podman holds the test image; a non-root run would use rootless podman, not set up here.
describe.skipIf(process.getuid?.() !== 0)('image_id through the server', () => {
  let s: InProcessServer;
  beforeAll(async () => {
    const podman = await detectPodman(await mkdtemp(join(tmpdir(), 'stint-cserver-img-')));
    await importTestImage(podman);
    // A docker: name outside stint's own storage (localhost/stint/ is for `stint image import`).
    expect((await podman.run(['tag', `localhost/stint/${TEST_IMAGE}`, `localhost/${TEST_IMAGE}`])).code).toBe(0);
    s = await inProcessServer({ gpus: 'A100:2' });
  }, 120_000);
  afterAll(async () => { await s?.server.stop(); });

  it('runs setup and run in the image and records the exit code', async () => {
    const task = `name: in-image\nresources: {image_id: "docker:localhost/${TEST_IMAGE}"}\nsetup: echo setup-ok\nrun: test -f /run/.containerenv && echo in-container; exit 3\n`;
    const submitted = await s.client.submit({ task });
    const id = submitted.id!;
    const job = await waitForJob(s.client, id, (j) => j.state !== 'PENDING' && j.state !== 'RUNNING' && j.state !== 'STARTING', 60_000);
    const log = (await s.client.logs(id)).text;
    expect({ state: job.state, log }).toMatchObject({ state: 'FAILED', log: 'setup-ok\nin-container\n' });
  });
});
