// Containers on the real test Slurm (cluster.ts): start-local-slurm.sh writes an oci.conf whose
// runtime is runc, so the backend detects Slurm's native OCI support, and a task with
// `image_id: oci:<bundle>` runs its setup and run inside that bundle as the job's own account
// (alice, a real account the test creates), in a bundle made by bundle.ts (busybox-static, bash, a
// marker file only its rootfs has).
// Needs root (useradd, a job submitted as alice), runc and busybox-static, as the machine has.
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunAs } from '../../src/backends/backend.js';
import { taskSpec, waitForEnd } from '../../src/backends/contract.js';
import type { SlurmBackend } from '../../src/backends/slurm/backend.js';
import type { TaskSpec } from '../../src/core/spec/types.js';
import { makeBundle } from './bundle.js';
import { CLUSTER_DIR, ensureCluster, testBackend } from './cluster.js';

const isRoot = process.getuid?.() === 0;
const MARKER = `only-in-the-bundle-${Math.random().toString(36).slice(2, 8)}`;

function account(name: string): RunAs {
  try {
    execFileSync('getent', ['passwd', name]);
  } catch {
    execFileSync('useradd', ['--create-home', '--shell', '/bin/bash', name]);
  }
  const [, , uid, gid, , home, shell] = execFileSync('getent', ['passwd', name], { encoding: 'utf8' }).trim().split(':');
  return { user: name, uid: Number(uid), gid: Number(gid), home: home!, shell: shell! };
}

function imageSpec(run: string, imageId: string, overrides: Partial<TaskSpec> = {}): TaskSpec {
  const spec = taskSpec(run, overrides);
  spec.resources = [{ ...spec.resources[0]!, imageId }];
  return spec;
}

let nextJobId = 70_000 + Math.floor(Math.random() * 10_000) * 10;

// Submitting as another account needs root; a non-root run has no second account to test with.
describe.runIf(isRoot)('Slurm native OCI containers (oci.conf + runc) on the real cluster', { timeout: 120_000 }, () => {
  let backend: SlurmBackend;
  let alice: RunAs;

  beforeAll(async () => {
    ensureCluster();
    alice = account('alice');
    backend = await testBackend();
    execFileSync('chmod', ['711', backend.config.workdir]);
  }, 180_000);

  it('detects the oci.conf beside slurm.conf and does not list image as unsupported', () => {
    expect(backend.containers).toMatchObject({ mode: 'oci', how: expect.stringContaining(join(CLUSTER_DIR, 'oci.conf')) });
    expect(backend.unsupported.image).toBeUndefined();
  });

  it("runs setup and run inside the bundle as the job's account: the bundle's files, the job's env, the exit code", async () => {
    const bundle = makeBundle(alice, MARKER);
    const run = 'cat /etc/os-release; echo "uid=$(id -u) greeting=$GREETING setup=$(cat from-setup)"; ls /usr/bin/sbatch 2>/dev/null || echo "no sbatch in here"; exit 3';
    const spec = imageSpec(run, `oci:${bundle}`, { setup: 'echo set-up > from-setup', envs: { GREETING: 'hello inside' } });
    const jobId = nextJobId++;
    const launched = await backend.launch({ jobId, attempt: 1, name: 'oci', spec, secrets: {}, node: null, gpus: [], workdirArchive: null, env: {}, runAs: alice });
    const ref = { jobId, attempt: 1, handle: launched.handle };
    const status = await waitForEnd(backend, ref, 90_000);
    const log = (await backend.readLog(ref, 0, 1 << 20)).text;
    expect(log).toContain(`NAME="${MARKER}"`);
    // Inside, the job is the container's root, which is alice on the host (the files say so).
    expect(log).toContain('uid=0 greeting=hello inside setup=set-up');
    expect(log).toContain('no sbatch in here');
    expect(status).toMatchObject({ state: 'ended', exitCode: 3 });
    const work = join(backend.config.workdir, 'jobs', String(jobId), 'work', 'from-setup');
    expect(statSync(work).uid).toBe(alice.uid);
  });

  it('refuses a registry image at launch, naming the form this cluster takes', async () => {
    const spec = imageSpec('true', 'docker:python:3.11');
    await expect(backend.launch({ jobId: nextJobId++, attempt: 1, name: 'x', spec, secrets: {}, node: null, gpus: [], workdirArchive: null, env: {}, runAs: alice }))
      .rejects.toThrow(/resources.image_id: "docker:python:3.11" cannot run here: this cluster runs OCI bundles .*give oci:\/shared\/bundles\/<name>/);
  });
});
