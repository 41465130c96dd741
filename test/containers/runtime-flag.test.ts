// `stint server --container-runtime PATH` through a real server process as root: the jobs' containers
// run with that OCI runtime, and importing an image (the image service's podman) leaves it in
// place, because the image service and the engine share one Podman; a runtime that is not an
// executable makes image_id refused at submit with the flag named, never a late failure.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/api/schemas.js';
import { serverProcess, tempHome, waitForJob, type ServerProcess } from '../helpers/server.js';

const ended = (j: JobView) => !['PENDING', 'STARTING', 'RUNNING'].includes(j.state);

/** A rootfs tarball holding /bin/bash and the libraries ldd names. */
function bashRootfs(dir: string): Buffer {
  const root = join(dir, 'rootfs');
  mkdirSync(join(root, 'bin'), { recursive: true });
  copyFileSync('/bin/bash', join(root, 'bin/bash'));
  chmodSync(join(root, 'bin/bash'), 0o755);
  for (const lib of execFileSync('ldd', ['/bin/bash'], { encoding: 'utf8' }).match(/\/\S+/g) ?? []) {
    mkdirSync(dirname(join(root, lib)), { recursive: true });
    copyFileSync(lib, join(root, lib));
  }
  return execFileSync('tar', ['--numeric-owner', '-C', root, '-cf', '-', '.'], { maxBuffer: 64 << 20 });
}

describe.skipIf(process.getuid?.() !== 0)('--container-runtime', () => {
  // Root only: podman as root (a non-root server would need rootless podman, not set up here).
  let work: string;
  const servers: ServerProcess[] = [];
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'stint-runtime-'));
  });
  afterAll(async () => {
    for (const s of servers) {
      s.child.kill('SIGTERM');
      await new Promise((r) => s.child.once('exit', r));
    }
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('runs the containers with the given runtime, also after an image import', async () => {
    const log = join(work, 'runtime.log');
    const wrapper = join(work, 'logging-runc');
    writeFileSync(wrapper, `#!/bin/sh\necho "$1" >> ${log}\nexec /usr/bin/runc "$@"\n`, { mode: 0o755 });
    const home = await tempHome();
    const server = await serverProcess(home, ['--gpus', 'A100:1', '--container-runtime', wrapper]);
    servers.push(server);
    await server.client.importImage(bashRootfs(work), { name: 'rt-bash:1', fileName: 'rootfs.tar' });
    expect(readFileSync(join(home, 'containers', 'containers.conf'), 'utf8')).toContain(JSON.stringify(wrapper));
    writeFileSync(log, '');
    const { id } = await server.client.submit({ task: 'resources: {image_id: "stint:rt-bash:1"}\nrun: echo in-container\n' });
    const job = await waitForJob(server.client, id!, ended, 120_000);
    expect({ state: job.state, reason: job.reason, log: (await server.client.logs(id!)).text }).toMatchObject({ state: 'SUCCEEDED', log: 'in-container\n' });
    expect(readFileSync(log, 'utf8')).toMatch(/create|run/);
  }, 180_000);

  it('refuses image_id at submit, naming the flag, when the runtime is not an executable', async () => {
    const server = await serverProcess(await tempHome(), ['--gpus', 'A100:1', '--container-runtime', join(work, 'no-such-runtime')]);
    servers.push(server);
    await expect(server.client.submit({ task: 'resources: {image_id: "docker:debian:12"}\nrun: echo x\n' }))
      .rejects.toMatchObject({ code: "UNSUPPORTED_FEATURE", message: expect.stringMatching(/--container-runtime/) });
  }, 60_000);
});
