// Quoting and command running, against a real bash and real processes (no ssh here; SSH mode is
// tested against a real sshd in test/slurm/ssh.test.ts).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SlurmClient, shellQuote } from './client.js';

describe('shellQuote', () => {
  it('makes every string one literal word for a POSIX shell', () => {
    const words = ["it's", '$(id)', '`id`', '"; rm -rf / #', 'a b\tc\nd', '', '--flag=x', '\\', '*', '~root'];
    const out = execFileSync('sh', ['-c', `printf '%s\\0' ${words.map(shellQuote).join(' ')}`]).toString();
    expect(out.split('\0').slice(0, -1)).toEqual(words);
  });
});

describe('SlurmClient (local)', () => {
  const client = new SlurmClient({ timeoutSeconds: 10 });

  it('runs commands without a shell and counts them', async () => {
    const before = client.commandsRun;
    const r = await client.run('printf', ['%s|', '$(id)', 'a b']);
    expect(r).toEqual({ stdout: '$(id)|a b|', stderr: '', code: 0 });
    expect(client.commandsRun - before).toBe(1);
    await expect(client.check('false', [])).rejects.toThrow(/false failed \(exit 1\)/);
  });

  it('does not pass the server environment to commands', async () => {
    process.env.STINT_SECRET_CHECK = 'leaked';
    const r = await client.run('bash', ['-c', 'echo "${STINT_SECRET_CHECK:-none}"']);
    delete process.env.STINT_SECRET_CHECK;
    expect(r.stdout).toBe('none\n');
  });

  it('writes files with their modes and reads byte ranges, also from the end', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stint-slurm-client-'));
    await client.writeFiles([{ path: join(dir, 'a/b/secret'), content: 's3cret', mode: 0o600 }]);
    expect(readFileSync(join(dir, 'a/b/secret'), 'utf8')).toBe('s3cret');
    expect(statSync(join(dir, 'a/b/secret')).mode & 0o777).toBe(0o600);
    writeFileSync(join(dir, 'log'), 'first\nsecond\n');
    expect(await client.readRange(join(dir, 'log'), 6, 100)).toEqual({ text: 'second\n', offset: 6, nextOffset: 13, size: 13 });
    expect((await client.readRange(join(dir, 'log'), -7, 100)).text).toBe('second\n');
  });
});

describe('SlurmClient environment', () => {
  it("passes the server's SLURM_CONF to Slurm's commands; the backend's slurmConf key wins", async () => {
    process.env.SLURM_CONF = '/from/the/server/slurm.conf';
    try {
      const fromServer = await new SlurmClient({ timeoutSeconds: 10 }).run('bash', ['-c', 'echo "$SLURM_CONF"']);
      const fromKey = await new SlurmClient({ timeoutSeconds: 10, env: { SLURM_CONF: '/from/the/key.conf' } }).run('bash', ['-c', 'echo "$SLURM_CONF"']);
      expect([fromServer.stdout, fromKey.stdout]).toEqual(['/from/the/server/slurm.conf\n', '/from/the/key.conf\n']);
    } finally {
      delete process.env.SLURM_CONF;
    }
  });

  it("keeps ssh's shared-connection socket in a private directory of its own, never at a path a local user can plant", async () => {
    // A stand-in `ssh` on PATH records the options it is given (the real ssh is tested in test/slurm/ssh.test.ts).
    const bin = mkdtempSync(join(tmpdir(), 'stint-fake-ssh-'));
    writeFileSync(join(bin, 'ssh'), '#!/bin/sh\nprintf "%s\\n" "$@" >"$(dirname "$0")/argv"\n', { mode: 0o755 });
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    try {
      const paths: string[] = [];
      for (const _ of [1, 2]) {
        await new SlurmClient({ timeoutSeconds: 10, ssh: { host: '127.0.0.1', port: 1 } }).run('true', []);
        const argv = readFileSync(join(bin, 'argv'), 'utf8').split('\n');
        paths.push(argv.find((a) => a.startsWith('ControlPath='))!.slice('ControlPath='.length));
      }
      for (const p of paths) {
        const dir = p.slice(0, p.lastIndexOf('/'));
        const st = statSync(dir);
        expect(st.isDirectory() && st.uid === process.getuid!() && (st.mode & 0o777) === 0o700).toBe(true);
        expect(p).not.toMatch(/\/stint-ssh-%C$/);
      }
      expect(paths[0]).not.toBe(paths[1]);
    } finally {
      process.env.PATH = path;
    }
  });

  it('uses sudo only over SSH, and only with a user name', async () => {
    await expect(new SlurmClient({ timeoutSeconds: 10 }).run('true', [], undefined, 'alice')).rejects.toThrow(/sudo is used only over SSH/);
    const ssh = new SlurmClient({ timeoutSeconds: 10, ssh: { host: '127.0.0.1', port: 1 } });
    await expect(ssh.run('true', [], undefined, '-s')).rejects.toThrow(/"-s" is not a user name/);
  });
});
