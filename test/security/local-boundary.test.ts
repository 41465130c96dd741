// The root server's privilege boundary on the local backend, attacked through real `bin/stint
// server` processes with real Unix accounts (findings C1, C2, C3, H1, H4, C4 of
// shared/reviews/security-review-1bfe4a9.md, and the jobs directory of a home under /root).
// alice is mapped to `nobody`, bob to `www-data`; `backup` plays an unrelated local account.
// Victim files live in root-only (0700) directories, so only a root process can create or change
// them: whatever appears there was done by root on the job's behalf.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StintClient } from '../../src/api/client.js';
import type { JobView } from '../../src/api/schemas.js';
import { isEnded, sleep, STINT_BIN, waitForJob } from '../helpers/server.js';

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;
const WWW_DATA = 33;
const BACKUP = 34;

interface Stint {
  child: ChildProcess;
  url: string;
  home: string;
  admin: StintClient;
  token: string;
  output: () => string;
}

const started: Stint[] = [];

/** `bin/stint server` as its own process, as root (or through `setpriv` as another account). */
async function startStint(home: string, args: string[] = [], asUid?: number): Promise<Stint> {
  const serverArgs = [STINT_BIN, 'server', '--home', home, '--port', '0', '--gpus', 'A100:4', '--kill-grace', '2', ...args];
  const child = asUid === undefined
    ? spawn(process.execPath, serverArgs, { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn('/usr/bin/setpriv', [`--reuid=${asUid}`, `--regid=${asUid}`, '--clear-groups', process.execPath, ...serverArgs], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home } });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const json = join(home, 'server.json');
    if (existsSync(json)) {
      const text = readFileSync(json, 'utf8');
      const parsed = text ? (JSON.parse(text) as { url: string; pid: number }) : null;
      if (parsed?.pid === child.pid) {
        const token = readFileSync(join(home, 'token'), 'utf8').trim();
        const stint = { child, url: parsed!.url, home, token, admin: new StintClient(parsed!.url, token), output: () => output };
        started.push(stint);
        return stint;
      }
    }
    if (child.exitCode !== null) throw new Error(`stint server exited early: ${output}`);
    if (Date.now() > deadline) throw new Error(`stint server did not start: ${output}`);
    await sleep(50);
  }
}

async function stopStint(stint: Stint): Promise<void> {
  if (stint.child.exitCode !== null) return;
  const exited = new Promise((resolve) => stint.child.once('exit', resolve));
  stint.child.kill('SIGTERM');
  await exited;
}

/** A directory only root can enter: whatever appears in it was written by a root process. */
async function rootOnlyDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'stint-victims-'));
  await chmod(dir, 0o700);
  return dir;
}

function gzipTar(files: Record<string, { text: string; mode?: number }>): Buffer {
  const dir = execFileSync('mktemp', ['-d'], { encoding: 'utf8' }).trim();
  for (const [name, file] of Object.entries(files)) {
    execFileSync('install', ['-m', (file.mode ?? 0o644).toString(8), '/dev/null', join(dir, name)]);
    execFileSync('tee', [join(dir, name)], { input: file.text, stdio: ['pipe', 'ignore', 'inherit'] });
  }
  return execFileSync('tar', ['-C', dir, '-czf', '-', ...Object.keys(files)]);
}

/** Runs `cat` as another local account; true when it could read the file. */
function canRead(uid: number, path: string): boolean {
  return spawnSync('/usr/bin/setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', 'cat', path], { stdio: 'ignore' }).status === 0;
}

/** The attempt's directory under the home's jobs/, once its launcher has recorded it. */
async function attemptDir(home: string, id: number, attempt = 1): Promise<string> {
  const dir = join(home, 'jobs', String(id), `attempt-${attempt}`);
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (existsSync(join(dir, 'pgid'))) return dir;
    if (Date.now() > deadline) throw new Error(`no attempt directory for job ${id}`);
    await sleep(50);
  }
}

const logsOf = async (client: StintClient, id: number): Promise<string> => (await client.logs(id)).text;
const isRunning = (job: JobView): boolean => job.state === 'RUNNING';

// Every attack here needs root and real accounts: a server that is not root has no boundary
// between accounts to cross (its refusal of a second user is the C4 block, which starts its
// non-root server through setpriv, so it needs root too).
describe.runIf(isRoot)('root server: jobs of mapped users cannot reach root (C1, C2, C3, H1, H4)', () => {
  let s: Stint;
  let alice: StintClient;
  let bob: StintClient;
  let victims: string;

  beforeAll(async () => {
    victims = await rootOnlyDir();
    const home = await mkdtemp(join(tmpdir(), 'stint-boundary-'));
    s = await startStint(home);
    const a = await s.admin.addUser('alice');
    const b = await s.admin.addUser('bob');
    await s.admin.setUnixUser('alice', 'nobody');
    await s.admin.setUnixUser('bob', 'www-data');
    alice = new StintClient(s.url, a.token);
    bob = new StintClient(s.url, b.token);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(started.map(stopStint));
  });

  it('C1: a PATH in envs that finds an uploaded fake setpriv does not run it as root', async () => {
    const marker = join(victims, 'PWNED_PATH');
    const upload = await alice.upload(gzipTar({ setpriv: { text: `#!/bin/bash\nid -u > ${marker}\nexec /usr/bin/setpriv "$@"\n`, mode: 0o755 } }));
    const { id } = await alice.submit({ task: 'workdir: .\nenvs: {PATH: ".:/usr/local/bin:/usr/bin:/bin"}\nrun: id -u\n', workdirUpload: upload.id });
    const ended = await waitForJob(alice, id!, isEnded);
    expect(existsSync(marker), 'the fake setpriv ran as root').toBe(false);
    expect(ended.state, await logsOf(alice, id!)).toBe('SUCCEEDED');
    expect(await logsOf(alice, id!)).toBe(`${NOBODY}\n`);
  }, 60_000);

  it('C1: an LD_PRELOAD in envs is never loaded by a root process', async () => {
    const marker = join(victims, 'PWNED_PRELOAD');
    const build = await mkdtemp(join(tmpdir(), 'stint-so-'));
    await writeFile(join(build, 'evil.c'), `#include <fcntl.h>\n#include <stdio.h>\n#include <unistd.h>\n__attribute__((constructor)) static void evil(void) {\n  int fd = open("${marker}", O_CREAT | O_WRONLY | O_APPEND, 0600);\n  if (fd >= 0) { dprintf(fd, "euid=%d\\n", (int)geteuid()); close(fd); }\n}\n`);
    execFileSync('cc', ['-shared', '-fPIC', '-o', join(build, 'evil.so'), join(build, 'evil.c')]);
    const upload = await alice.upload(execFileSync('tar', ['-C', build, '-czf', '-', 'evil.so']));
    const { id } = await alice.submit({ task: 'workdir: .\nenvs: {LD_PRELOAD: ./evil.so}\nrun: id -u\n', workdirUpload: upload.id });
    const ended = await waitForJob(alice, id!, isEnded);
    expect(existsSync(marker) ? readFileSync(marker, 'utf8') : 'never loaded as root').toBe('never loaded as root');
    expect(ended.state, await logsOf(alice, id!)).toBe('SUCCEEDED');
  }, 60_000);

  it('C2: replacing output.log with a symlink to the admin token does not leak it through the log API', async () => {
    const run = 'cd "$STINT_ATTEMPT_DIR"; rm -f output.log; ln -s "' + join(s.home, 'token') + '" output.log; echo done\n';
    const { id } = await alice.submit({ task: `run: |\n  ${run}` });
    await waitForJob(alice, id!, isEnded);
    const text = await logsOf(alice, id!);
    expect(text).not.toContain(s.token);
    expect(text).toContain('done');
  }, 60_000);

  it('C3a: a symlinked exit file does not make root write through it', async () => {
    const victim = join(victims, 'exit-victim');
    await writeFile(victim, 'ORIGINAL\n', { mode: 0o600 });
    const { id } = await alice.submit({ task: `run: ln -sf ${victim} "$STINT_ATTEMPT_DIR/exit"; exit 3\n` });
    const ended = await waitForJob(alice, id!, isEnded);
    expect(readFileSync(victim, 'utf8')).toBe('ORIGINAL\n');
    expect(ended).toMatchObject({ state: 'FAILED', exitCode: 3 });
  }, 60_000);

  it("M4: a job's tmp/ is emptied as the job's account, even a directory it locked: links planted in it never make root delete through them", async () => {
    const victimDir = join(victims, 'tmp-victim');
    await mkdir(victimDir, { mode: 0o700 });
    await writeFile(join(victimDir, 'keep'), 'KEEP\n', { mode: 0o600 });
    const task = `run: |\n  ln -s ${victimDir} "$TMPDIR/link"; mkdir "$TMPDIR/d"; ln -s ${victimDir}/keep "$TMPDIR/d/f"; ln -s ${victimDir} "$TMPDIR/d/g"\n  mkdir "$TMPDIR/locked"; touch "$TMPDIR/locked/x"; chmod 500 "$TMPDIR/locked"\n  exit 0\n`;
    const { id } = await alice.submit({ task });
    expect(await waitForJob(alice, id!, isEnded)).toMatchObject({ state: 'SUCCEEDED' });
    // An attempt is reported ended once its cleanup ran.
    expect(existsSync(join(await attemptDir(s.home, id!), 'tmp'))).toBe(false);
    expect(readFileSync(join(victimDir, 'keep'), 'utf8')).toBe('KEEP\n');
  }, 60_000);

  it("C3b: symlinks planted in the next attempt's directory are never followed", async () => {
    const victim2 = join(victims, 'planted-run');
    const victim3 = join(victims, 'planted-log');
    await writeFile(victim3, 'ORIGINAL\n', { mode: 0o600 });
    const task = [
      'retries: {max: 1, on: [failure], backoff: 1s}',
      'run: |',
      '  if [ "$STINT_ATTEMPT" = 1 ]; then',
      '    next="$STINT_ATTEMPT_DIR/../attempt-2"',
      `    mkdir -p "$next"; ln -s ${victim2} "$next/run.sh"; ln -s ${victim3} "$next/output.log"; exit 1`,
      '  fi',
      '  echo "evil::0:0::/root:/bin/bash"',
      '',
    ].join('\n');
    const { id } = await alice.submit({ task });
    const ended = await waitForJob(alice, id!, (j) => isEnded(j) && j.attempt === 2, 40_000);
    expect(existsSync(victim2), 'root created a file through a planted symlink').toBe(false);
    expect(readFileSync(victim3, 'utf8')).toBe('ORIGINAL\n');
    expect(ended.state).toBe('SUCCEEDED');
    expect(await logsOf(alice, id!)).toBe('evil::0:0::/root:/bin/bash\n');
  }, 60_000);

  it("H1: rewriting one's pgid file to another user's group and cancelling does not signal that group", async () => {
    const victim = await bob.submit({ task: 'run: sleep 120\n' });
    await waitForJob(bob, victim.id!, isRunning);
    const bobPgid = readFileSync(join(await attemptDir(s.home, victim.id!), 'pgid'), 'utf8').trim();
    const attack = await alice.submit({ task: `run: rm -f "$STINT_ATTEMPT_DIR/pgid"; echo ${bobPgid} > "$STINT_ATTEMPT_DIR/pgid"; sleep 120\n` });
    await waitForJob(alice, attack.id!, isRunning);
    await sleep(1000);
    await alice.cancel(attack.id!);
    expect((await waitForJob(alice, attack.id!, isEnded)).state).toBe('CANCELLED');
    await sleep(3000);
    expect((await bob.getJob(victim.id!)).state).toBe('RUNNING');
    expect(() => process.kill(-Number(bobPgid), 0)).not.toThrow();
    await bob.cancel(victim.id!);
    await waitForJob(bob, victim.id!, isEnded);
  }, 60_000);

  it("F4: a second user cannot be mapped to an account another user's jobs run as (they would read each other's environ)", async () => {
    const c = await s.admin.addUser('carol');
    const refused = await s.admin.setUnixUser('carol', 'nobody').then(() => null, (e: unknown) => e);
    expect(refused).toMatchObject({ code: 'CONFLICT', details: { rule: 'identity.one-account', sharedWith: ['alice'] }, message: expect.stringMatching(/already the account of alice.*--shared-account-insecure/) });
    // The numeric alias of the same uid is the same account.
    const alias = await s.admin.setUnixUser('carol', String(NOBODY)).then(() => null, (e: unknown) => e);
    expect(alias).not.toBeNull();
    // Her own account is fine, and alice keeps hers.
    await s.admin.setUnixUser('carol', 'backup');
    const carol = new StintClient(s.url, c.token);
    const { id } = await carol.submit({ task: 'run: id -un\n' });
    expect((await waitForJob(carol, id!, isEnded)).state).toBe('SUCCEEDED');
    expect(await logsOf(carol, id!)).toBe('backup\n');
  });

  it('F6: a write lease the job takes on its own log gets a 409 naming it, never a 500 or a wait; the lease ends with the job', async () => {
    // A process of the job's that outlives it (setsid) holds an fcntl write lease on output.log.
    // A confining server kills it through the job's cgroup once the job has ended, so the log is
    // readable again soon; until then (and on a host that does not confine) the answer is a 409.
    const lease = [
      'import fcntl, os, sys, time',
      'os.close(0); os.close(1); os.close(2)',
      'end = time.time() + 15',
      'fd = os.open(sys.argv[1], os.O_WRONLY)',
      'while time.time() < end:',
      '    try:',
      '        fcntl.fcntl(fd, 1024, fcntl.F_WRLCK)',
      '    except OSError:',
      '        pass',
      '    time.sleep(0.01)',
    ].join('\n');
    const upload = await alice.upload(gzipTar({ 'lease.py': { text: `${lease}\n` } }));
    const task = 'workdir: .\nrun: |\n  echo hello\n  setsid python3 lease.py "$STINT_ATTEMPT_DIR/output.log" </dev/null >/dev/null 2>&1 &\n  exit 0\n';
    const { id } = await alice.submit({ task, workdirUpload: upload.id });
    await waitForJob(alice, id!, isEnded);
    const answers: unknown[] = [];
    for (let i = 0; i < 40; i++) {
      answers.push(await s.admin.logs(id!).then(() => null, (e: unknown) => e));
      if (answers.at(-1) === null) break;
      await sleep(250);
    }
    for (const answer of answers.filter((a) => a !== null)) expect(answer).toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/locked by the job \(a file lease\)/) });
    // Confined: the escapee died with the job and took its lease along.
    expect(answers.at(-1)).toBeNull();
  }, 60_000);

  it("H4: another local account cannot read a job's log, scripts, env, work files or checkpoints; its owner can", async () => {
    const upload = await alice.upload(gzipTar({ 'data.txt': { text: 'alice-private-data\n' } }));
    const { id } = await alice.submit({ task: 'workdir: .\nrun: echo "S3CR3T-alice"; echo ckpt > "$STINT_CHECKPOINT_DIR/state"; sleep 30\n', workdirUpload: upload.id });
    await waitForJob(alice, id!, isRunning);
    const dir = await attemptDir(s.home, id!);
    const jobDir = join(dir, '..');
    for (const _ of Array(100)) if (!existsSync(join(jobDir, 'checkpoints', 'state'))) await sleep(100);
    const secretPaths = [join(dir, 'output.log'), join(dir, 'run.sh'), join(jobDir, 'work', 'data.txt'), join(jobDir, 'checkpoints', 'state')];
    for (const path of secretPaths) {
      expect(canRead(WWW_DATA, path), `www-data read ${path}`).toBe(false);
      expect(canRead(BACKUP, path), `backup read ${path}`).toBe(false);
    }
    expect(canRead(NOBODY, join(dir, 'output.log')), 'alice reads her own log').toBe(true);
    expect(canRead(NOBODY, join(jobDir, 'work', 'data.txt')), 'alice reads her own work files').toBe(true);
    expect(canRead(NOBODY, join(dir, 'run.sh')), 'stint state is root-only').toBe(false);
    for (const name of ['token', 'stint.db', 'server.log']) {
      expect(canRead(WWW_DATA, join(s.home, name)), `www-data read $STINT_HOME/${name}`).toBe(false);
      expect(canRead(NOBODY, join(s.home, name)), `a job read $STINT_HOME/${name}`).toBe(false);
      expect(statSync(join(s.home, name)).mode & 0o077, name).toBe(0);
    }
    expect(spawnSync('/usr/bin/setpriv', [`--reuid=${WWW_DATA}`, `--regid=${WWW_DATA}`, '--clear-groups', 'ls', join(s.home, 'jobs')], { stdio: 'ignore' }).status).not.toBe(0);
    for (const name of ['exit', 'pgid', 'run.sh', 'setup.sh']) {
      const path = join(dir, name);
      if (!existsSync(path)) continue;
      expect(statSync(path), name).toMatchObject({ uid: 0, mode: 0o100600 });
    }
    expect(statSync(dir)).toMatchObject({ uid: 0 });
    expect(statSync(dir).mode & 0o022).toBe(0);
    await alice.cancel(id!);
    await waitForJob(alice, id!, isEnded);
  }, 60_000);
});

describe.runIf(isRoot)('non-root server: one shared account is refused for a second user (C4)', () => {
  async function nobodyHome(): Promise<string> {
    const home = join(await mkdtemp(join(tmpdir(), 'stint-nonroot-')), 'home');
    await chmod(join(home, '..'), 0o755);
    await mkdir(home);
    await chown(home, NOBODY, NOBODY);
    return home;
  }

  afterAll(async () => {
    await Promise.all(started.map(stopStint));
  });

  it('refuses a member whose jobs would run as the server account, saying why and how to fix it', async () => {
    const s = await startStint(await nobodyHome(), [], NOBODY);
    await expect(s.admin.addUser('eve')).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringMatching(/not root.*as root.*--shared-account-insecure/s),
    });
    await expect(s.admin.addUser('vic', 'viewer')).resolves.toMatchObject({ user: { name: 'vic' } });
    await stopStint(s);
  }, 60_000);

  it('accepts it with --shared-account-insecure, and warns at start', async () => {
    const s = await startStint(await nobodyHome(), ['--shared-account-insecure'], NOBODY);
    await expect(s.admin.addUser('eve')).resolves.toMatchObject({ user: { name: 'eve' } });
    expect(s.output()).toMatch(/--shared-account-insecure/);
    await stopStint(s);
  }, 60_000);
});

describe.runIf(isRoot)('a home under a 0700 directory such as /root (item 3)', () => {
  afterAll(async () => {
    await Promise.all(started.map(stopStint));
  });

  it("puts the jobs where their users can reach them, and says where", async () => {
    const closed = await mkdtemp(join(tmpdir(), 'stint-rootlike-'));
    await chmod(closed, 0o700);
    const s = await startStint(join(closed, '.stint'));
    const { token } = await s.admin.addUser('alice');
    await s.admin.setUnixUser('alice', 'nobody');
    const alice = new StintClient(s.url, token);
    const { id } = await alice.submit({ task: 'run: echo "dir=$STINT_JOB_DIR"; echo ok > "$STINT_CHECKPOINT_DIR/c"; cat "$STINT_CHECKPOINT_DIR/c"\n' });
    const ended = await waitForJob(alice, id!, isEnded);
    const text = await logsOf(alice, id!);
    expect(ended.state, text).toBe('SUCCEEDED');
    const jobDir = /^dir=(.*)$/m.exec(text)?.[1] ?? '';
    expect(jobDir.startsWith(closed)).toBe(false);
    expect(text).toContain('ok\n');
    expect(s.output()).toContain(join(jobDir, '..'));
    expect(canRead(NOBODY, join(jobDir, 'checkpoints', 'c'))).toBe(true);
    // The API and `stint job` say where the owner's files are.
    expect((await alice.getJob(id!)).attempts?.[0]?.logPath).toBe(join(jobDir, 'attempt-1', 'output.log'));
    expect(canRead(NOBODY, join(jobDir, 'attempt-1', 'output.log'))).toBe(true);
    expect(canRead(WWW_DATA, join(jobDir, 'checkpoints', 'c'))).toBe(false);
    await stopStint(s);
    await rm(join(jobDir, '..'), { recursive: true, force: true });
  }, 60_000);

  it('F7: refuses a --jobs-dir below a directory another account could change (it could swap the jobs directory for a link)', async () => {
    const open = await mkdtemp(join(tmpdir(), 'stint-open-'));
    await chown(open, NOBODY, NOBODY);
    const home = await mkdtemp(join(tmpdir(), 'stint-home-'));
    const jobs = join(open, 'jobs');
    const result = spawnSync(process.execPath, [STINT_BIN, 'server', '--home', home, '--port', '0', '--gpus', 'A100:1', '--jobs-dir', jobs], { encoding: 'utf8', timeout: 30_000 });
    expect(result.status, result.stdout + result.stderr).not.toBe(0);
    expect(result.stderr).toMatch(new RegExp(`its parent ${open} \\(uid ${NOBODY}.*could be changed by another account`));
    expect(existsSync(join(home, 'server.json'))).toBe(false);
  }, 60_000);

  it('uses --jobs-dir when given', async () => {
    const jobs = join(await mkdtemp(join(tmpdir(), 'stint-jobsdir-')), 'jobs');
    const s = await startStint(await mkdtemp(join(tmpdir(), 'stint-home-')), ['--jobs-dir', jobs]);
    const { id } = await s.admin.submit({ task: 'run: echo "$STINT_JOB_DIR"\n' });
    await waitForJob(s.admin, id!, isEnded);
    expect(await logsOf(s.admin, id!)).toBe(`${join(jobs, String(id))}\n`);
  }, 60_000);
});
