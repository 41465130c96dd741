// Containers on the real test Slurm (cluster.ts): start-local-slurm.sh writes an oci.conf whose
// runtime is runc, so the backend detects Slurm's native OCI support, and a task with
// `image_id: oci:<bundle>` runs its setup and run inside that bundle as the job's own account
// (alice, a real account the test creates). The bundle is made here: busybox-static plus bash and
// its libraries, a marker file only the rootfs has, and `runc spec --rootless` adjusted (no
// terminal, the container's uid 0 mapped to the job's uid, the shared folder bound at its own path).
// Needs root (useradd, a job submitted as alice), runc and busybox-static, as the machine has.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunAs } from '../../src/backends/backend.js';
import { taskSpec, waitForEnd } from '../../src/backends/contract.js';
import type { SlurmBackend } from '../../src/backends/slurm/backend.js';
import type { TaskSpec } from '../../src/core/spec/types.js';
import { CLUSTER_DIR, ensureCluster, testBackend } from './cluster.js';

const isRoot = process.getuid?.() === 0;
const SHARED = join(CLUSTER_DIR, 'shared');
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

/** A runc bundle on the shared filesystem whose container root is `uid` on the host. */
function makeBundle(uid: number, gid: number): string {
  const bundle = join(SHARED, `bundle-${uid}-${MARKER}`);
  const rootfs = join(bundle, 'rootfs');
  for (const d of ['bin', 'etc', 'tmp', 'proc', 'dev', 'sys', SHARED.slice(1)]) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'));
  for (const tool of ['sh', 'cat', 'id', 'dirname', 'mkdir', 'ls', 'echo', 'env']) symlinkSync('busybox', join(rootfs, 'bin', tool));
  // bash and what it links (the per-node wrapper is a bash script).
  const libs = execFileSync('ldd', ['/bin/bash'], { encoding: 'utf8' }).match(/\/\S+/g) ?? [];
  for (const file of ['/bin/bash', ...libs]) {
    mkdirSync(join(rootfs, dirname(file)), { recursive: true });
    copyFileSync(file, join(rootfs, file));
    chmodSync(join(rootfs, file), 0o755);
  }
  writeFileSync(join(rootfs, 'etc/os-release'), `NAME="${MARKER}"\n`);
  execFileSync('runc', ['spec', '--rootless'], { cwd: bundle });
  const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  config.process.terminal = false;
  config.root = { path: 'rootfs', readonly: false };
  // runc 1.1 needs the container's uid 0 mapped; rootless, the only host uid is the job's own.
  config.linux.uidMappings = [{ containerID: 0, hostID: uid, size: 1 }];
  config.linux.gidMappings = [{ containerID: 0, hostID: gid, size: 1 }];
  config.mounts.push({ destination: SHARED, type: 'bind', source: SHARED, options: ['rbind', 'rw'] });
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(config, null, 1));
  execFileSync('chmod', ['-R', 'a+rX', bundle]);
  return bundle;
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
    const bundle = makeBundle(alice.uid, alice.gid);
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
