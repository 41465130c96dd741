// The job folder's layout and the log reader, on a real filesystem as root with a real second
// account (nobody): what the server refuses to reuse, follow or serve.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { prepareAttemptFolder, readOwnedLog } from './job-files.js';

const NOBODY = { uid: 65534, gid: 65534 };
const isRoot = process.getuid?.() === 0;
const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function workdir(mode = 0o711): string {
  const dir = mkdtempSync(join(tmpdir(), 'stint-job-files-'));
  chmodSync(dir, mode);
  made.push(dir);
  return dir;
}

function folder(dir: string, attempt = 1) {
  const jobDir = join(dir, 'jobs', '7');
  const attemptDir = join(jobDir, `attempt-${attempt}`);
  return { workdir: dir, jobDir, attemptDir, owner: NOBODY, workdirArchive: null, files: [{ path: join(attemptDir, 'run.sh'), content: 'echo hi', mode: 0o600 }] };
}

describe.runIf(isRoot)('job folder on the shared filesystem', () => {
  it("makes the server's folders 0711 and the job's own 0700, owned by the job's account", async () => {
    const dir = workdir();
    await prepareAttemptFolder(folder(dir));
    const mode = (p: string) => [statSync(p).uid, (statSync(p).mode & 0o777).toString(8)];
    expect(mode(join(dir, 'jobs'))).toEqual([0, '711']);
    expect(mode(join(dir, 'jobs', '7'))).toEqual([0, '711']);
    for (const p of ['attempt-1', 'work', 'checkpoints']) expect(mode(join(dir, 'jobs', '7', p))).toEqual([65534, '700']);
    expect(mode(join(dir, 'jobs', '7', 'attempt-1', 'run.sh'))).toEqual([65534, '600']);
  });

  it('never reuses an attempt folder, and refuses a job folder that is a link or not its own', async () => {
    const dir = workdir();
    await prepareAttemptFolder(folder(dir));
    await expect(prepareAttemptFolder(folder(dir))).rejects.toMatchObject({ code: 'BACKEND_ERROR', message: expect.stringMatching(/attempt-1 already exists; stint never reuses/) });
    await prepareAttemptFolder(folder(dir, 2));
    const other = workdir();
    mkdirSync(join(other, 'elsewhere'));
    mkdirSync(join(other, 'jobs'), { mode: 0o711 });
    symlinkSync(join(other, 'elsewhere'), join(other, 'jobs', '7'));
    await expect(prepareAttemptFolder(folder(other))).rejects.toMatchObject({ message: expect.stringMatching(/jobs\/7 must be a folder owned by the stint server's account .*symbolic link/) });
    const third = workdir();
    mkdirSync(join(third, 'jobs', '7', 'work'), { recursive: true });
    await expect(prepareAttemptFolder(folder(third))).rejects.toMatchObject({ message: expect.stringMatching(/work belongs to uid 0, not to the job's account \(uid 65534\)/) });
  });

  it('refuses a workdir the job cannot reach, or one where others could swap the jobs folder', async () => {
    await expect(prepareAttemptFolder(folder(workdir(0o700)))).rejects.toMatchObject({ message: expect.stringMatching(/mode 700: jobs running as their owners' accounts cannot reach it/) });
    await expect(prepareAttemptFolder(folder(workdir(0o777)))).rejects.toMatchObject({ message: expect.stringMatching(/mode 777: other accounts could replace/) });
  });

  it("reads only the job's own regular file: never a link, a FIFO or another account's file", async () => {
    const dir = workdir();
    const log = join(dir, 'output.log');
    writeFileSync(log, 'hello world');
    chownSync(log, NOBODY.uid, NOBODY.gid);
    expect(await readOwnedLog(log, NOBODY.uid, 6, 100)).toEqual({ text: 'world', offset: 6, nextOffset: 11, size: 11 });
    expect(await readOwnedLog(log, NOBODY.uid, -5, 3)).toMatchObject({ text: 'wor', offset: 6 });
    expect(await readOwnedLog(join(dir, 'missing.log'), NOBODY.uid, 0, 10)).toEqual({ text: '', offset: 0, nextOffset: 0, size: 0 });
    writeFileSync(join(dir, 'token'), 'admin-token');
    symlinkSync(join(dir, 'token'), join(dir, 'link.log'));
    await expect(readOwnedLog(join(dir, 'link.log'), NOBODY.uid, 0, 100)).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/symbolic link/) });
    await expect(readOwnedLog(join(dir, 'token'), NOBODY.uid, 0, 100)).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/owned by uid 0/) });
    execFileSync('mkfifo', [join(dir, 'fifo.log')]);
    await expect(readOwnedLog(join(dir, 'fifo.log'), 0, 0, 100)).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/not a regular file/) });
  });
});
