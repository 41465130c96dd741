// Containers end to end through a real `stint server` process as root (issue 12, Deliver 3): a
// python image built here without any network (bash, python3.11, its standard library and the
// libraries ldd names), imported with the real CLI; mapped Unix accounts; fake GPUs whose device
// nodes stand for /dev/nvidiaN. What must hold: the job runs in the image as its account with only
// its GPU, `stint job` shows the digest that ran, the memory limit ends an attempt as
// out_of_memory, an OCI layout imports and runs with no registry, and one user's `docker:` name
// never runs another user's imported image (refused at submit; failed, not run, at launch).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StintClient } from '../../src/api/client.js';
import type { JobView } from '../../src/api/schemas.js';
import { STINT_BIN, serverProcess, tempHome, waitForJob, type ServerProcess } from '../helpers/server.js';
import { detectPodman } from './fixture.js';

const isRoot = process.getuid?.() === 0;
const ALICE = 'stint-e2e-alice';
const BOB = 'stint-e2e-bob';
const GROUP = 'stint-e2e-grp';
const PY = '/usr/bin/python3.11';
const ended = (j: JobView) => !['PENDING', 'STARTING', 'RUNNING'].includes(j.state);

/** A rootfs with /bin/bash, python3.11 (+ python3) and its standard library, as a tarball; `marker` adds /marker. */
function buildPythonRootfs(dir: string, marker?: string): string {
  const root = join(dir, marker ? 'rootfs-marked' : 'rootfs');
  for (const d of ['bin', 'usr/bin', 'usr/lib', 'tmp', 'etc']) mkdirSync(join(root, d), { recursive: true });
  chmodSync(join(root, 'tmp'), 0o1777);
  copyFileSync('/bin/bash', join(root, 'bin/bash'));
  copyFileSync(PY, join(root, PY));
  chmodSync(join(root, 'bin/bash'), 0o755);
  chmodSync(join(root, PY), 0o755);
  symlinkSync('python3.11', join(root, 'usr/bin/python3'));
  const libs = new Set([PY, '/bin/bash'].flatMap((bin) => execFileSync('ldd', [bin], { encoding: 'utf8' }).match(/\/\S+/g) ?? []));
  for (const lib of libs) {
    mkdirSync(dirname(join(root, lib)), { recursive: true });
    copyFileSync(lib, join(root, lib));
  }
  execFileSync('bash', ['-c', 'tar -C /usr/lib --exclude=test --exclude=__pycache__ --exclude=dist-packages -cf - python3.11 | tar -C "$1/usr/lib" -xf -', 'bash', root]);
  if (marker) writeFileSync(join(root, 'marker'), `${marker}\n`);
  const tar = `${root}.tar`;
  execFileSync('tar', ['--numeric-owner', '-C', root, '-cf', tar, '.']);
  return tar;
}

function ensureAccount(account: string, groups: string[] = []): number {
  try {
    execFileSync('getent', ['passwd', account]);
  } catch {
    execFileSync('useradd', ['--create-home', '--shell', '/bin/bash', ...(groups.length > 0 ? ['--groups', groups.join(',')] : []), account]);
  }
  return Number(execFileSync('id', ['-u', account], { encoding: 'utf8' }).trim());
}

/** The real CLI as one user. */
function cli(server: ServerProcess, token: string, args: string[]): string {
  return execFileSync(process.execPath, [STINT_BIN, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH, STINT_URL: server.url, STINT_TOKEN: token, NO_COLOR: '1' } });
}

describe.skipIf(!isRoot)('containers end to end (root server process, mapped accounts, fake GPUs)', () => {
  // Root only: podman as root, useradd, mknod; a non-root run has none of these (the other container tests say the same).
  let home: string;
  let work: string;
  let server: ServerProcess;
  let alice: { client: StintClient; token: string };
  let bob: { client: StintClient; token: string };
  let aliceUid: number;
  let rootfs: string;

  beforeAll(async () => {
    try {
      execFileSync('getent', ['group', GROUP]);
    } catch {
      execFileSync('groupadd', [GROUP]);
    }
    aliceUid = ensureAccount(ALICE, [GROUP]);
    ensureAccount(BOB);
    work = await mkdtemp(join(tmpdir(), 'stint-e2e-'));
    chmodSync(work, 0o755);
    const devices = join(work, 'dev');
    mkdirSync(devices);
    execFileSync('mknod', [join(devices, 'nvidia0'), 'c', '1', '7']);
    execFileSync('mknod', [join(devices, 'nvidia1'), 'c', '1', '8']);
    rootfs = buildPythonRootfs(work);
    home = await tempHome();
    server = await serverProcess(home, ['--gpus', 'A100:2', '--fake-gpu-devices', devices]);
    const join2 = async (name: string, account: string) => {
      const { token } = await server.client.addUser(name);
      await server.client.setUnixUser(name, account);
      return { client: new StintClient(server.url, token), token };
    };
    alice = await join2('alice', ALICE);
    bob = await join2('bob', BOB);
    cli(server, alice.token, ['image', 'import', rootfs, '--name', 'pyimg:1']);
  }, 300_000);

  afterAll(async () => {
    server?.child.kill('SIGTERM');
    if (server) await new Promise((r) => server.child.once('exit', r));
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('runs a python job in the image as the mapped account with exactly its one GPU; stint job shows the digest', async () => {
    const run = `python3 -c "import os; print(os.getuid(), os.environ['CUDA_VISIBLE_DEVICES'], sorted(d for d in os.listdir('/dev') if d.startswith('nvidia')))"`;
    const { id } = await alice.client.submit({ task: `resources: {image_id: "docker:pyimg:1", accelerators: "A100:1"}\nrun: |\n  ${run}\n` });
    const job = await waitForJob(alice.client, id!, ended, 120_000);
    const log = (await alice.client.logs(id!)).text;
    expect({ state: job.state, reason: job.reason, log }).toMatchObject({ state: 'SUCCEEDED' });
    expect(log).toMatch(new RegExp(`^${aliceUid} 0 \\['nvidia[01]'\\]\\n$`));
    const detail = await alice.client.getJob(id!);
    const image = detail.attempts[0]!.image!;
    expect(image).toMatchObject({ ref: 'docker:pyimg:1', digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    expect(cli(server, alice.token, ['job', String(id)])).toContain(`docker:pyimg:1 (${image.digest})`);
  }, 180_000);

  it('ends a container job over its memory limit as FAILED, out_of_memory', async () => {
    const task = 'resources: {image_id: "docker:pyimg:1", memory: 256MB}\nrun: python3 -c "b = b\'x\' * (1 << 30); print(len(b))"\n';
    const { id } = await alice.client.submit({ task });
    const job = await waitForJob(alice.client, id!, ended, 120_000);
    const detail = await alice.client.getJob(id!);
    expect({ state: job.state, end: detail.attempts[0]?.endReason, reason: job.reason }).toMatchObject({ state: 'FAILED', end: 'out_of_memory' });
  }, 180_000);

  it('imports an OCI layout directory and runs it with no registry, with the account\'s home and groups', async () => {
    const podman = await detectPodman(await mkdtemp(join(tmpdir(), 'stint-e2e-podman-')));
    const layout = join(work, 'layout');
    const saved = await podman.run(['save', '--format', 'oci-dir', '-o', layout, 'localhost/stint/pyimg:1'], { timeoutMs: 120_000 });
    expect(saved.code, saved.stderr).toBe(0);
    cli(server, alice.token, ['image', 'import', layout, '--name', 'pyoci:1']);
    const run = `python3 -c "import os; h = os.environ['HOME']; print(h, os.path.isdir(h), sorted(os.getgroups()))"`;
    const { id } = await alice.client.submit({ task: `resources: {image_id: "stint:pyoci:1"}\nrun: |\n  ${run}\n` });
    const job = await waitForJob(alice.client, id!, ended, 120_000);
    const log = (await alice.client.logs(id!)).text;
    expect({ state: job.state, reason: job.reason, log }).toMatchObject({ state: 'SUCCEEDED' });
    const aliceHome = execFileSync('getent', ['passwd', ALICE], { encoding: 'utf8' }).split(':')[5]!;
    const groups = execFileSync('id', ['-G', ALICE], { encoding: 'utf8' }).trim().split(/\s+/).map(Number).sort((a, b) => a - b);
    expect(log).toBe(`${aliceHome} True [${groups.join(', ')}]\n`);
  }, 180_000);

  it('names the container after a hash of the jobs dir, so two servers on one machine never share a name', async () => {
    const { id } = await alice.client.submit({ task: 'resources: {image_id: "docker:pyimg:1"}\nrun: echo "$STINT_JOB_DIR"; python3 -c \"import time; time.sleep(600)\"\n' });
    await waitForJob(alice.client, id!, (j) => j.state === 'RUNNING', 60_000);
    const podman = await detectPodman(await mkdtemp(join(tmpdir(), 'stint-e2e-podman-')));
    let names: string[] = [];
    while (!names.some((n) => n.endsWith(`-local-${id}-1`))) {
      names = (await podman.run(['ps', '--format', '{{.Names}}'])).stdout.trim().split('\n');
      await new Promise((r) => setTimeout(r, 100));
    }
    await alice.client.cancel(id!);
    const jobDir = (await alice.client.logs(id!)).text.trim();
    const hash = createHash('sha256').update(dirname(jobDir)).digest('hex').slice(0, 8);
    expect(names).toContain(`stint-${hash}-local-${id}-1`);
    await waitForJob(alice.client, id!, ended, 60_000);
  }, 120_000);

  it("refuses bob's docker: name of alice's import at submit", async () => {
    await expect(bob.client.submit({ task: 'resources: {image_id: "docker:pyimg:1"}\nrun: read -r m < /marker && echo \"$m\"\n' }))
      .rejects.toMatchObject({ code: 'IMAGE_NOT_FOUND', message: expect.stringMatching(/docker\.io\/library\/pyimg:1/) });
  }, 60_000);

  it("never runs alice's image for bob's docker: job that got past submit", async () => {
    // Alice holds both GPUs until the test cancels her job, so bob's job waits past its submit check.
    const blocker = await alice.client.submit({ task: 'resources: {accelerators: "A100:2"}\nrun: sleep 600\n' });
    await waitForJob(alice.client, blocker.id!, (j) => j.state === 'RUNNING', 60_000);
    cli(server, bob.token, ['image', 'import', rootfs, '--name', 'taken:1']);
    const { id } = await bob.client.submit({ task: 'resources: {image_id: "docker:taken:1", accelerators: "A100:1"}\nrun: read -r m < /marker && echo \"$m\" || echo no-marker\n' });
    cli(server, bob.token, ['image', 'rm', 'taken:1']);
    cli(server, alice.token, ['image', 'import', buildPythonRootfs(work, 'alice-private'), '--name', 'taken:1']);
    expect((await bob.client.getJob(id!)).state).toBe('PENDING');
    await alice.client.cancel(blocker.id!);
    const job = await waitForJob(bob.client, id!, ended, 180_000);
    const log = (await bob.client.logs(id!).catch(() => ({ text: '' }))).text;
    expect(log).not.toContain('alice-private');
    expect({ state: job.state, reason: job.reason, log }).toMatchObject({ state: 'FAILED', reason: expect.stringMatching(/docker\.io\/library\/taken:1/) });
  }, 300_000);
});
