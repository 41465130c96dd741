// The podman ContainerEngine against the real podman and runc of this machine, as root: the argv
// prepareLaunch builds is run the way the launcher's root part runs it (fds 3-5 open on the
// attempt's scripts), and what happens inside is checked: identity, exit codes, memory, signals,
// GPU nodes, no network, OCI layouts, and attacks on the root side (a setuid image, a layout
// linking to /etc/shadow, a mount source that is a link).
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainerEngine, ContainerRequest } from '../../src/backends/local/container-port.js';
import { createPodmanEngine, scratchDir } from '../../src/backends/local/container/engine.js';
import { stintKind, stintSpecName } from '../../src/containers/cdi.js';
import type { Podman } from '../../src/containers/podman.js';
import { TEST_IMAGE, detectPodman, importTestImage, runLaunch, startLaunch, waitForOutput } from './fixture.js';

const NOBODY = { uid: 65534, gid: 65534, groups: [65534] };
let seq = 0;
let home: string;
let podman: Podman;
let engine: ContainerEngine;
let fakeDev: string;
const names: string[] = [];

/** Imports a busybox rootfs (with bash's stand-in from the test image's tree) shaped by `shape`; its image id. */
async function importRootfs(name: string, shape: (root: string) => void, ref = `localhost/stint/${name}:latest`): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'stint-h7-rootfs-'));
  const root = join(dir, 'rootfs');
  mkdirSync(join(root, 'bin'), { recursive: true });
  execFileSync('cp', ['/bin/busybox', join(root, 'bin/busybox')]);
  for (const applet of ['sh', 'sleep', 'cat', 'id']) symlinkSync('busybox', join(root, 'bin', applet));
  shape(root);
  execFileSync('tar', ['--numeric-owner', '-C', root, '-cf', join(dir, 'rootfs.tar'), '.']);
  const result = await podman.run(['import', '--quiet', join(dir, 'rootfs.tar'), ref]);
  if (result.code !== 0) throw new Error(`podman import failed: ${result.stderr}`);
  rmSync(dir, { recursive: true, force: true });
  return result.stdout.trim().split('\n').pop()!.replace(/^sha256:/, '');
}

/** The host's bash and the libraries ldd names, copied into `root`. */
function withRealBash(root: string): void {
  execFileSync('cp', ['/bin/bash', join(root, 'bin/bash')]);
  for (const lib of execFileSync('ldd', ['/bin/bash'], { encoding: 'utf8' }).match(/\/\S+/g) ?? []) {
    mkdirSync(join(root, lib, '..'), { recursive: true });
    execFileSync('cp', [lib, join(root, lib)]);
  }
}

/** Running containers of image `id`. */
function running(id: string): string[] {
  const out = execFileSync('podman', ['ps', '--all', '--filter', `ancestor=${id}`, '--filter', 'status=running', '--format', '{{.Names}}'], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l !== '');
}

function imageExists(ref: string): boolean {
  try {
    execFileSync('podman', ['image', 'exists', ref], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function request(overrides: Partial<ContainerRequest> = {}): ContainerRequest {
  return {
    imageId: `stint:${TEST_IMAGE}`, attemptName: `h3-${process.pid}-${seq++}`, owner: null, runAs: NOBODY, cgroupParent: null, gpus: [],
    mounts: [], workdir: '/tmp', memoryBytes: null, cpus: null, pidsLimit: 256, ...overrides,
  };
}

async function prepare(overrides: Partial<ContainerRequest> = {}) {
  const launch = await engine.prepareLaunch(request(overrides));
  names.push(launch.name);
  return launch;
}

// Everything here drives root's podman: the suite needs root, and fails (not skips) without podman.
describe.skipIf(process.getuid?.() !== 0)('podman container engine (root)', () => {
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'stint-engine-'));
    podman = await detectPodman(home);
    await importTestImage(podman);
    fakeDev = await mkdtemp(join(tmpdir(), 'stint-fakedev-'));
    // Fake GPU nodes: 0 is /dev/full's numbers (1:7), 1 is /dev/zero's (1:5).
    execFileSync('mknod', ['-m', '666', join(fakeDev, 'nvidia0'), 'c', '1', '7']);
    execFileSync('mknod', ['-m', '666', join(fakeDev, 'nvidia1'), 'c', '1', '5']);
    engine = createPodmanEngine({
      podman, home,
      gpus: [0, 1].map((index) => ({ index, vendor: 'fake' as const, devicePath: join(fakeDev, `nvidia${index}`) })),
      cdiSearchDirs: [],
    });
  }, 120_000);

  afterAll(async () => {
    for (const name of names) await engine.cleanup(name);
    rmSync(join('/var/run/cdi', stintSpecName(home)), { force: true });
  });

  it('runs setup and run as the given uid:gid with its groups, and returns the container exit code', async () => {
    const launch = await prepare({ runAs: { uid: 65534, gid: 65534, groups: [65534, 4] } });
    expect(launch.argv[0]).toBe('/usr/bin/env');
    expect(launch.image.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const ran = await runLaunch(launch, { setup: 'echo "setup as $(id -u):$(id -g)"', run: 'echo "run in $(pwd) groups=$(id -G)"; exit 7', workdir: '/tmp' });
    expect(ran).toEqual({ code: 7, output: 'setup as 65534:65534\nrun in /tmp groups=65534 4\n' });
  });

  it('passes the three scripts on fds 3-5 and closes them before the job runs', async () => {
    const ran = await runLaunch(await prepare(), { env: { MY_VAR: "it's here" }, run: 'echo "v=$MY_VAR"; ls /proc/self/fd | tr "\\n" " "', workdir: '/tmp' });
    expect(ran.code).toBe(0);
    expect(ran.output).toMatch(/^v=it's here\n0 1 2 3 ?$/);
  });

  it('gives setuid files in an image no power: no new privileges, no capabilities', async () => {
    const ran = await runLaunch(await prepare(), { run: '(exec -a id /bin/suidbox -u); (exec -a cat /bin/suidbox /proc/self/status) | grep -E "^(CapEff|NoNewPrivs)"', workdir: '/tmp' });
    expect(ran.output).toBe('65534\nCapEff:\t0000000000000000\nNoNewPrivs:\t1\n');
  });

  it('ends a job over its memory limit with 137, the OOM kill counted in its memory cgroup', async () => {
    const launch = await prepare({ memoryBytes: 256 * 1024 * 1024 });
    expect(launch.argv).toEqual(expect.arrayContaining(['--memory', `${256 * 1024 * 1024}b`, '--memory-swap', `${256 * 1024 * 1024}b`]));
    const ran = await runLaunch(launch, { run: 'trap "grep -E \'^oom_kill \' /sys/fs/cgroup/memory/memory.oom_control; cat /sys/fs/cgroup/memory/memory.limit_in_bytes" EXIT; head -c 1073741824 /dev/zero | tail', workdir: '/tmp' });
    expect(ran.code).toBe(137);
    expect(ran.output).toContain('oom_kill 1\n268435456\n');
  });

  // cgroup v1 counts the oom kill in the victim's cgroup only, which podman removes with the
  // container: the attempt's cgroup keeps the limit, so its failcnt is the lasting evidence.
  it("leaves memory to the attempt's cgroup when there is one, which records the limit hits", async () => {
    const parent = join('/sys/fs/cgroup/memory', `stint-h3-test-${process.pid}`);
    mkdirSync(parent);
    writeFileSync(join(parent, 'memory.limit_in_bytes'), String(256 * 1024 * 1024));
    const launch = await prepare({ memoryBytes: 256 * 1024 * 1024, cgroupParent: `/stint-h3-test-${process.pid}` });
    expect(launch.argv).toEqual(expect.arrayContaining(['--cgroup-parent', `/stint-h3-test-${process.pid}`, '--cgroups', 'no-conmon']));
    expect(launch.argv).not.toContain('--memory');
    const ran = await runLaunch(launch, { run: 'head -c 1073741824 /dev/zero | tail', workdir: '/tmp' });
    expect(ran.code).toBe(137);
    expect(Number(readFileSync(join(parent, 'memory.failcnt'), 'utf8'))).toBeGreaterThan(0);
    // podman made the parent in every hierarchy; the container's own cgroups are gone with it.
    for (const hierarchy of readdirSync('/sys/fs/cgroup')) {
      const dir = join('/sys/fs/cgroup', hierarchy, `stint-h3-test-${process.pid}`);
      if (existsSync(dir)) rmdirSync(dir);
    }
  });

  it('forwards SIGTERM to every process of the job (its shell exits 143 at once, not after sleep 60)', async () => {
    const started = await startLaunch(await prepare(), { run: 'echo ready; sleep 60; echo not-reached', workdir: '/tmp' });
    await waitForOutput(started.output, 'ready');
    started.child.kill('SIGTERM');
    const ended = await started.done;
    expect(ended.code).toBe(143);
    expect(ended.output).toMatch(/^ready\n/);
    expect(ended.output).not.toContain('not-reached');
  });

  it("runs the job's own TERM trap", async () => {
    const started = await startLaunch(await prepare(), { run: "trap 'echo got-term; exit 3' TERM; echo ready; while :; do sleep 1; done", workdir: '/tmp' });
    await waitForOutput(started.output, 'ready');
    started.child.kill('SIGTERM');
    // bash may also report the sleep it was waiting for as "Terminated" (before or after the
    // trap's line), as it does outside a container.
    const ended = await started.done;
    expect(ended.code).toBe(3);
    expect(ended.output.split('\n').filter((l) => l !== 'Terminated')).toEqual(['ready', 'got-term', '']);
  });

  it('shows only the assigned GPU node, as /dev/nvidia<i>, with CUDA_VISIBLE_DEVICES from 0', async () => {
    const launch = await prepare({ gpus: [1] });
    expect(launch.argv).toEqual(expect.arrayContaining(['--device', `${stintKind(home)}=1`]));
    expect(launch.env).toMatchObject({ CUDA_VISIBLE_DEVICES: '0' });
    const ran = await runLaunch(launch, { run: 'ls /dev | grep nvidia; echo "cuda=$CUDA_VISIBLE_DEVICES"; head -c 3 /dev/nvidia1 | od -An -tx1', workdir: '/tmp' });
    expect(ran.output.replace(/ +/g, ' ')).toBe('nvidia1\ncuda=0\n 00 00 00\n');
  });

  it('runs with no network at all (a namespace with only loopback)', async () => {
    const ran = await runLaunch(await prepare(), { run: 'ls /sys/class/net', workdir: '/tmp' }, ['/usr/bin/unshare', '-n']);
    expect(ran).toEqual({ code: 0, output: 'lo\n' });
  });

  it('mounts the workdir read-write and refuses a mount source that is a link', async () => {
    const work = await mkdtemp(join(tmpdir(), 'stint-work-'));
    chownSync(work, 65534, 65534);
    const ran = await runLaunch(await prepare({ mounts: [{ host: work, container: '/work', readOnly: false }], workdir: '/work' }), { run: 'echo hi > out.txt; pwd', workdir: '/work' });
    expect(ran).toEqual({ code: 0, output: '/work\n' });
    const link = join(await mkdtemp(join(tmpdir(), 'stint-link-')), 'l');
    symlinkSync('/etc', link);
    await expect(engine.prepareLaunch(request({ mounts: [{ host: link, container: '/work', readOnly: false }] }))).rejects.toThrow(/is not a plain directory or file/);
  });

  it('refuses an image without /bin/bash, saying so', async () => {
    await importTestImage(podman, 'h3-test-nobash', false);
    await expect(engine.prepareLaunch(request({ imageId: 'stint:h3-test-nobash' }))).rejects.toThrow(/has no \/bin\/bash/);
  });

  it('refuses a docker: image that is neither here nor pullable, naming the image', async () => {
    const offline = createPodmanEngine({ podman, home, gpus: [], pullTimeoutMs: 20_000 });
    await expect(offline.prepareLaunch(request({ imageId: 'docker:localhost:1/nothing/here:1' }))).rejects.toThrow(/docker:localhost:1\/nothing\/here:1.*not on this machine and pulling/s);
    const local = await offline.prepareLaunch(request({ imageId: `docker:localhost/stint/${TEST_IMAGE}` }));
    names.push(local.name);
    expect(local.image.ref).toBe(`docker:localhost/stint/${TEST_IMAGE}`);
  });

  it('imports an OCI layout as the job account and runs it with no registry and no network', async () => {
    const layout = join(await mkdtemp(join(tmpdir(), 'stint-oci-')), 'layout');
    const saved = await podman.run(['save', '--format', 'oci-dir', '-o', layout, `localhost/stint/${TEST_IMAGE}`]);
    expect(saved.code).toBe(0);
    execFileSync('chown', ['-R', '65534:65534', join(layout, '..')]);
    const launch = await prepare({ imageId: `oci:${layout}` });
    expect(launch.image).toMatchObject({ ref: `oci:${layout}`, digest: expect.stringMatching(/^sha256:/) });
    const ran = await runLaunch(launch, { run: 'id -u; ls /sys/class/net', workdir: '/tmp' }, ['/usr/bin/unshare', '-n']);
    expect(ran).toEqual({ code: 0, output: '65534\nlo\n' });
  });

  it('never reads /etc/shadow for a layout that links to it (attack)', async () => {
    const layout = join(await mkdtemp(join(tmpdir(), 'stint-oci-evil-')), 'layout');
    mkdirSync(join(layout, 'blobs/sha256'), { recursive: true });
    writeFileSync(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    writeFileSync(join(layout, 'index.json'), '{"schemaVersion":2,"manifests":[]}');
    symlinkSync('/etc/shadow', join(layout, 'blobs/sha256/secret'));
    execFileSync('chown', ['-R', '-h', '65534:65534', join(layout, '..')]);
    const attempt = engine.prepareLaunch(request({ imageId: `oci:${layout}` }));
    await expect(attempt).rejects.toThrow(/could not read it/);
    await expect(attempt).rejects.not.toThrow(/root:/);
    expect(readdirSync(scratchDir(home)).filter((f) => f.startsWith('oci-'))).toEqual([]);
  });

  it('refuses an OCI layout the job account cannot read', async () => {
    const layout = await mkdtemp(join(tmpdir(), 'stint-oci-private-'));
    chmodSync(layout, 0o700);
    await expect(engine.prepareLaunch(request({ imageId: `oci:${layout}` }))).rejects.toThrow(/could not read it/);
  });

  // Red team M1 (issue 12): the /bin/bash check ran the image's own code with no limits, and at
  // its timeout only the podman client died; an image whose bash never exits kept running.
  it("checks /bin/bash without running the image: a bash that never exits leaves no container (attack M1)", async () => {
    const id = await importRootfs('h7-hostile', (root) => {
      writeFileSync(join(root, 'bin/bash'), '#!/bin/sh\nexec sleep 1000\n', { mode: 0o755 });
    });
    const launch = await engine.prepareLaunch(request({ imageId: 'stint:h7-hostile' })).catch((e: unknown) => e);
    expect(running(id)).toEqual([]);
    expect(launch).toMatchObject({ image: { ref: 'stint:h7-hostile' } });
  }, 180_000);

  it("resolves the image's /bin/bash inside the image: an absolute link to the host's bash is not followed (attack)", async () => {
    const hostOnly = await mkdtemp(join(tmpdir(), 'stint-hostonly-'));
    writeFileSync(join(hostOnly, 'bash'), '#!/bin/sh\n', { mode: 0o755 });
    await importRootfs('h7-hostlink', (root) => symlinkSync(join(hostOnly, 'bash'), join(root, 'bin/bash')));
    await expect(engine.prepareLaunch(request({ imageId: 'stint:h7-hostlink' }))).rejects.toThrow(/has no \/bin\/bash/);
    // A merged /usr (bin -> usr/bin, an absolute link inside the image) is found.
    await importRootfs('h7-usrmerge', (root) => {
      mkdirSync(join(root, 'usr/bin'), { recursive: true });
      execFileSync('cp', ['-a', join(root, 'bin/.'), join(root, 'usr/bin')]);
      rmSync(join(root, 'bin'), { recursive: true });
      symlinkSync('/usr/bin', join(root, 'bin'));
      writeFileSync(join(root, 'usr/bin/bash'), '#!/bin/sh\n', { mode: 0o755 });
    });
    names.push((await engine.prepareLaunch(request({ imageId: 'stint:h7-usrmerge' }))).name);
  });

  // Red team M3: an oci: layout could fill the disk up to a fixed 64 GiB, and every launch left a dangling image.
  it("refuses an OCI layout larger than the server's image limit, leaving nothing in scratch", async () => {
    const small = createPodmanEngine({ podman, home, gpus: [], maxImageBytes: 1024 * 1024 });
    const layout = join(await mkdtemp(join(tmpdir(), 'stint-oci-big-')), 'layout');
    expect((await podman.run(['save', '--format', 'oci-dir', '-o', layout, `localhost/stint/${TEST_IMAGE}`])).code).toBe(0);
    execFileSync('chown', ['-R', '65534:65534', join(layout, '..')]);
    await expect(small.prepareLaunch(request({ imageId: `oci:${layout}` }))).rejects.toThrow(/more than 1\.0 MiB, this server's image limit/);
    expect(readdirSync(scratchDir(home)).filter((f) => f.startsWith('oci-'))).toEqual([]);
  });

  it('removes the image an OCI layout imported once the attempt is cleaned up (no dangling image)', async () => {
    const source = 'localhost/h7-oci-once:1';
    const id = await importRootfs('h7-oci-once', (root) => {
      withRealBash(root);
      mkdirSync(join(root, 'tmp'), { mode: 0o1777 });
      chmodSync(join(root, 'tmp'), 0o1777);
      writeFileSync(join(root, 'label'), `once ${process.pid} ${Date.now()}`);
    }, source);
    const layout = join(await mkdtemp(join(tmpdir(), 'stint-oci-once-')), 'layout');
    expect((await podman.run(['save', '--format', 'oci-dir', '-o', layout, source])).code).toBe(0);
    expect((await podman.run(['rmi', source])).code).toBe(0);
    execFileSync('chown', ['-R', '65534:65534', join(layout, '..')]);
    const launch = await engine.prepareLaunch(request({ imageId: `oci:${layout}` }));
    expect(imageExists(id)).toBe(true);
    expect(await runLaunch(launch, { run: 'cat /label', workdir: '/tmp' })).toMatchObject({ code: 0, output: expect.stringMatching(/^once /) });
    await engine.cleanup(launch.name);
    expect(imageExists(id)).toBe(false);
    // The image the test suite shares (named) is never removed by a layout of it.
    const shared = join(await mkdtemp(join(tmpdir(), 'stint-oci-shared-')), 'layout');
    expect((await podman.run(['save', '--format', 'oci-dir', '-o', shared, `localhost/stint/${TEST_IMAGE}`])).code).toBe(0);
    execFileSync('chown', ['-R', '65534:65534', join(shared, '..')]);
    const again = await engine.prepareLaunch(request({ imageId: `oci:${shared}` }));
    await engine.cleanup(again.name);
    expect(imageExists(`localhost/stint/${TEST_IMAGE}`)).toBe(true);
  });

  it('cleans up idempotently, also a container that was never made', async () => {
    await engine.cleanup('stint-never-existed');
    await engine.cleanup('stint-never-existed');
  });
});
