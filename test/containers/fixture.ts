// What the container tests share: a tiny image built in the test (busybox-static, /bin/bash and
// the libraries ldd names, a setuid-root copy of busybox for the privilege test), imported with
// the real podman, and a stand-in for the launcher's root part: it opens env.sh, setup.sh and
// run.sh on fds 3-5 and runs a ContainerLaunch's argv, as src/backends/local/launcher-script.ts does.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, copyFileSync, mkdirSync, openSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Podman } from '../../src/containers/podman.js';
import type { ContainerLaunch } from '../../src/backends/local/container-port.js';

export const TEST_IMAGE = 'h3-test-bash';
export const BUSYBOX = '/bin/busybox';

export async function detectPodman(home: string): Promise<Podman> {
  const podman = await Podman.detect({ home, env: { HOME: '/root' } });
  if ('unavailable' in podman) throw new Error(`podman is needed for these tests: ${podman.unavailable}`);
  return podman;
}

/** Builds the rootfs tarball and imports it as localhost/stint/<name> (so `stint:<name>` finds it). */
export async function importTestImage(podman: Podman, name = TEST_IMAGE, withBash = true): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'stint-rootfs-'));
  const root = join(dir, 'rootfs');
  mkdirSync(join(root, 'bin'), { recursive: true });
  mkdirSync(join(root, 'tmp'), { mode: 0o1777 });
  chmodSync(join(root, 'tmp'), 0o1777);
  copyFileSync(BUSYBOX, join(root, 'bin/busybox'));
  chmodSync(join(root, 'bin/busybox'), 0o755);
  const applets = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => /^[\w.-]+$/.test(a) && a !== 'bash' && a !== 'busybox');
  for (const applet of applets) symlinkSync('busybox', join(root, 'bin', applet));
  copyFileSync(BUSYBOX, join(root, 'bin/suidbox'));
  chmodSync(join(root, 'bin/suidbox'), 0o4755);
  if (withBash) {
    copyFileSync('/bin/bash', join(root, 'bin/bash'));
    chmodSync(join(root, 'bin/bash'), 0o755);
    const libs = execFileSync('ldd', ['/bin/bash'], { encoding: 'utf8' }).match(/\/\S+/g) ?? [];
    for (const lib of libs) {
      mkdirSync(dirname(join(root, lib)), { recursive: true });
      copyFileSync(lib, join(root, lib));
    }
  }
  const tar = join(dir, 'rootfs.tar');
  execFileSync('tar', ['--numeric-owner', '-C', root, '-cf', tar, '.']);
  const result = await podman.run(['import', '--quiet', tar, `localhost/stint/${name}:latest`]);
  if (result.code !== 0) throw new Error(`podman import failed: ${result.stderr}`);
}

export interface Ran {
  code: number;
  output: string;
}

/** Starts the argv with the three scripts on fds 3-5 (env.sh exports the launch's env and STINT_WORKDIR). */
export async function startLaunch(launch: ContainerLaunch, scripts: { env?: Record<string, string>; setup?: string; run: string; workdir: string }, wrap: string[] = []): Promise<{ child: ChildProcess; done: Promise<Ran>; output: () => string }> {
  const dir = await mkdtemp(join(tmpdir(), 'stint-attempt-'));
  const env = { ...scripts.env, ...launch.env, STINT_WORKDIR: scripts.workdir };
  writeFileSync(join(dir, 'env.sh'), Object.entries(env).map(([k, v]) => `export ${k}='${v.replace(/'/g, `'\\''`)}'\n`).join(''));
  writeFileSync(join(dir, 'setup.sh'), scripts.setup ?? '');
  writeFileSync(join(dir, 'run.sh'), scripts.run);
  const fds = ['env.sh', 'setup.sh', 'run.sh'].map((f) => openSync(join(dir, f), 'r'));
  const argv = [...wrap, ...launch.argv];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe', fds[0]!, fds[1]!, fds[2]!], env: {} });
  for (const fd of fds) closeSync(fd);
  let output = '';
  child.stdout!.on('data', (c: Buffer) => { output += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { output += c.toString(); });
  const done = new Promise<Ran>((resolve) => child.on('close', (code, signal) => resolve({ code: code ?? (signal ? -1 : 0), output })));
  return { child, done, output: () => output };
}

export async function runLaunch(launch: ContainerLaunch, scripts: { env?: Record<string, string>; setup?: string; run: string; workdir: string }, wrap: string[] = []): Promise<Ran> {
  return (await startLaunch(launch, scripts, wrap)).done;
}

/** Waits until the output holds `text` (the job reached that point). */
export async function waitForOutput(output: () => string, text: string): Promise<void> {
  while (!output().includes(text)) await new Promise((r) => setTimeout(r, 50));
}
