// SSH mode against a real sshd (Debian's openssh-server) on a loopback port, with a host key and a
// user key the test creates: Slurm commands, files, logs and the workdir snapshot all go through
// `ssh -o BatchMode=yes`, as an unprivileged user the test creates. The shared contract runs over it too.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendContract, taskSpec, waitForEnd } from '../../src/backends/contract.js';
import { createSlurmBackend, type SlurmBackend } from '../../src/backends/slurm/backend.js';
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

async function sshBackend(): Promise<SlurmBackend> {
  return createSlurmBackend({
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
