// SSH mode against a real sshd (Debian's openssh-server) on a loopback port, with a host key and a
// user key the test creates: Slurm commands, files, logs and the workdir snapshot all go through
// `ssh -o BatchMode=yes`, as an unprivileged user the test creates. The shared contract runs over it too.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendContract, taskSpec, waitForEnd } from '../../src/backends/contract.js';
import type { RunAs } from '../../src/backends/backend.js';
import { createSlurmBackend, type SlurmBackend } from '../../src/backends/slurm/backend.js';
import type { SlurmConfigInput } from '../../src/backends/slurm/config.js';
import { TarWriter } from '../../src/workdir/tar.js';
import { CLUSTER_DIR, SLURM_CONF, ensureCluster, sharedDir } from './cluster.js';

const SSH_USER = 'stint-slurm-ssh';
let sshd: ChildProcess | null = null;
let port = 0;
let dir = '';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const p = (server.address() as { port: number }).port;
      server.close(() => resolve(p));
    });
  });
}

beforeAll(async () => {
  ensureCluster();
  dir = mkdtempSync(join(CLUSTER_DIR, 'sshd-'));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'user_key')]);
  execFileSync('cp', [join(dir, 'user_key.pub'), join(dir, 'authorized_keys')]);
  execFileSync('chmod', ['755', dir]); // sshd reads authorized_keys as the user
  port = await freePort();
  writeFileSync(join(dir, 'sshd_config'), [
    `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${join(dir, 'host_key')}`, `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'PermitRootLogin no', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'UsePAM no', 'StrictModes no',
    `PidFile ${join(dir, 'sshd.pid')}`, `SetEnv SLURM_CONF=${SLURM_CONF}`, 'LogLevel ERROR', '',
  ].join('\n'));
  execFileSync('mkdir', ['-p', '/run/sshd']);
  // A user of its own: root's shell start-up files on this machine take ~1.5 s per ssh command.
  try {
    execFileSync('getent', ['passwd', SSH_USER]);
  } catch {
    execFileSync('useradd', ['--create-home', '--shell', '/bin/bash', SSH_USER]);
  }
  // useradd locks the password ("!"); without PAM sshd then refuses even key logins. "*": no password, not locked.
  execFileSync('usermod', ['-p', '*', SSH_USER]);
  sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = spawn('ssh', sshOptions().concat(['true']), { stdio: 'ignore' });
      c.on('close', (code) => resolve(code === 0));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('sshd did not accept the test key');
}, 180_000);

afterAll(() => {
  sshd?.kill('SIGTERM');
});

function sshOptions(): string[] {
  return ['-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`, '-o', 'StrictHostKeyChecking=accept-new', '-p', String(port), '-i', join(dir, 'user_key'), `${SSH_USER}@127.0.0.1`];
}

/** A shared folder the ssh user owns (jobs run as that user). */
function userDir(): string {
  const shared = sharedDir();
  execFileSync('chown', [SSH_USER, shared]);
  return shared;
}

async function sshBackend(overrides: Partial<SlurmConfigInput> = {}): Promise<SlurmBackend> {
  return createSlurmBackend({
    ...overrides,
    name: 'hpc', workdir: userDir(), finishedJobs: 'jobcomp', commandTimeoutSeconds: 60,
    ssh: { host: '127.0.0.1', user: SSH_USER, port, key: join(dir, 'user_key'), options: [`UserKnownHostsFile=${join(dir, 'known_hosts')}`, 'StrictHostKeyChecking=accept-new'] },
  });
}

backendContract('slurm over ssh', { create: sshBackend, timeoutMs: 60_000 });

describe('slurm backend over ssh', { timeout: 120_000 }, () => {
  it('reads the inventory, ships the workdir snapshot and hostile values, and reads the log remotely', async () => {
    const backend = await sshBackend();
    expect((await backend.inventory()).nodes.map((n) => n.name)).toEqual(['n1', 'n2', 'n3']);
    const tar = new TarWriter();
    tar.file('hello.txt', 0o644, 0, Buffer.from('shipped over ssh\n'));
    const archive = join(mkdtempSync(join(CLUSTER_DIR, 'archive-')), 'work.tar.gz');
    writeFileSync(archive, gzipSync(tar.finish()));
    const hostile = `'; touch ${dir}/pwned; echo '$(id)`;
    const launched = await backend.launch({
      jobId: 77_001, attempt: 1, name: hostile, spec: taskSpec('cat hello.txt; printf "%s\\n" "$V"', { envs: { V: hostile } }), secrets: {}, node: null, gpus: [], workdirArchive: archive, env: {},
    });
    const ref = { jobId: 77_001, attempt: 1, handle: launched.handle };
    expect((await waitForEnd(backend, ref, 60_000)).exitCode).toBe(0);
    expect((await backend.readLog(ref, 0, 1 << 20)).text).toBe(`shipped over ssh\n${hostile}\n`);
    expect((await backend.readLog(ref, 9, 4)).text).toBe('ver ');
    expect(execFileSync('ls', [dir]).toString()).not.toContain('pwned');
  });
});

// submitAs: sudo — the SSH account may `sudo -n -u` alice and bob on the login node (a sudoers
// rule the test writes; sudo is installed when missing), so each job is submitted, cancelled and
// read as its owner there. sudo resets the environment, so the rule keeps SLURM_CONF (as a site
// whose module system exports it would).
const isRoot = process.getuid?.() === 0;
describe.runIf(isRoot)('slurm over ssh with submitAs: sudo', { timeout: 120_000 }, () => {
  const sudoers = '/etc/sudoers.d/stint-slurm-ssh-test';
  let alice: RunAs;
  let bob: RunAs;

  beforeAll(() => {
    try {
      execFileSync('sh', ['-c', 'command -v sudo']);
    } catch {
      execFileSync('sh', ['-c', 'DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends sudo || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends sudo; }'], { stdio: 'ignore' });
    }
    alice = account('alice');
    bob = account('bob');
    writeFileSync(sudoers, `Defaults:${SSH_USER} env_keep += "SLURM_CONF"\n${SSH_USER} ALL=(alice,bob) NOPASSWD: ALL\n`, { mode: 0o440 });
  }, 120_000);

  afterAll(() => {
    rmSync(sudoers, { force: true });
  });

  it('submits, reads and cancels each job as its owner; a folder another account planted is refused', async () => {
    const backend = await sshBackend({ submitAs: 'sudo' });
    // The admin's shared folder: every account passes through it (each job's folder is its owner's, 0700).
    execFileSync('chmod', ['711', backend.config.workdir]);
    expect(backend.identity).toEqual({ perUser: true });
    const launch = (jobId: number, run: string, as: RunAs) => backend.launch({ jobId, attempt: 1, name: 'sudo', spec: taskSpec(run), secrets: {}, node: null, gpus: [], workdirArchive: null, env: {}, runAs: as });
    const done = await launch(78_001, 'echo "user=$(id -un) home=$HOME"; echo mine > mine.txt', alice);
    const ref = { jobId: 78_001, attempt: 1, handle: done.handle };
    expect(done.handle).toMatchObject({ user: 'alice' });
    expect((await waitForEnd(backend, ref, 60_000)).exitCode).toBe(0);
    expect((await backend.readLog(ref, 0, 1 << 20)).text).toBe(`user=alice home=${alice.home}\n`);
    const jobDir = join(backend.config.workdir, 'jobs', '78001');
    expect(statSync(join(jobDir, 'work', 'mine.txt')).uid).toBe(alice.uid);
    expect(statSync(jobDir).mode & 0o777).toBe(0o700);
    // bob's running job is cancelled by bob's own scancel.
    const long = await launch(78_002, 'echo started; sleep 60', bob);
    const longRef = { jobId: 78_002, attempt: 1, handle: long.handle };
    const deadline = Date.now() + 60_000;
    while (!(await backend.readLog(longRef, 0, 100)).text.includes('started') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    await backend.signal(longRef, 'SIGKILL');
    expect((await waitForEnd(backend, longRef, 60_000)).state).toBe('ended');
    // bob plants the folder of alice's next job: her launch is refused, nothing of hers goes into it.
    execFileSync('runuser', ['-u', 'bob', '--', 'mkdir', '-m', '777', join(backend.config.workdir, 'jobs', '78003')]);
    await expect(launch(78_003, 'true', alice)).rejects.toThrow(/jobs\/78003 exists and is not alice's own folder/);
    expect(readdirSync(join(backend.config.workdir, 'jobs', '78003'))).toEqual([]);
  });
});

function account(name: string): RunAs {
  try {
    execFileSync('getent', ['passwd', name]);
  } catch {
    execFileSync('useradd', ['--create-home', '--shell', '/bin/bash', name]);
  }
  const [, , uid, gid, , home] = execFileSync('getent', ['passwd', name], { encoding: 'utf8' }).trim().split(':');
  return { user: name, uid: Number(uid), gid: Number(gid), home: home! };
}
