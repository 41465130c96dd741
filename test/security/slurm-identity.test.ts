// Attacks on the Slurm backend of a root server with two users mapped to two real Unix accounts
// (stintslurma, stintslurmb), against the real test Slurm (test/slurm/cluster.ts) and a real
// `bin/stint server` process. Each job must run under its owner's account (Slurm's UserId), its
// files must be readable by that account alone, secrets must not lie on the shared filesystem,
// and nothing a job plants in its own folders (symlinks, the next attempt's folder) may make the
// root server read or write elsewhere. Needs root (useradd, setpriv) and the build (dist/).
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StintClient } from '../../src/api/client.js';
import { gzipSync } from 'node:zlib';
import { type AttemptRef, type AttemptStatus, attemptKey, type RunAs } from '../../src/backends/backend.js';
import { taskSpec, waitForEnd, waitForLog } from '../../src/backends/contract.js';
import type { SlurmBackend } from '../../src/backends/slurm/backend.js';
import type { TaskSpec } from '../../src/core/spec/types.js';
import { TarWriter } from '../../src/workdir/tar.js';
import { isEnded, REPO, serverProcess, tempHome, waitForJob, type ServerProcess } from '../helpers/server.js';
import { ensureCluster, SLURM_CONF, sharedDir, slurm, testBackend } from '../slurm/cluster.js';

const ACCOUNT_A = 'stintslurma';
const ACCOUNT_B = 'stintslurmb';
const isRoot = process.getuid?.() === 0;

function ensureAccount(name: string): number {
  try {
    execFileSync('getent', ['passwd', name]);
  } catch {
    execFileSync('useradd', ['--create-home', '--shell', '/bin/bash', name]);
  }
  return Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
}

/** Every file under `dir` (not following links) whose bytes contain `needle`. */
function filesContaining(dir: string, needle: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...filesContaining(path, needle));
    else if (entry.isFile() && readFileSync(path).includes(needle)) found.push(path);
  }
  return found;
}

async function logOf(client: StintClient, id: number, text: string, timeoutMs = 90_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const log = (await client.logs(id)).text;
    if (log.includes(text)) return log;
    if (Date.now() > deadline) throw new Error(`job ${id} never logged ${JSON.stringify(text)}; log so far: ${log}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

// Switching accounts needs root (as a lab's server runs); without root there is nothing to attack.
describe.runIf(isRoot)('Slurm: one identity per user on a root server', { timeout: 240_000 }, () => {
  let server: ServerProcess;
  let home: string;
  let workdir: string;
  let alice: StintClient;
  let bob: StintClient;
  let uidA = 0;

  beforeAll(async () => {
    ensureCluster();
    uidA = ensureAccount(ACCOUNT_A);
    ensureAccount(ACCOUNT_B);
    home = await tempHome();
    workdir = sharedDir();
    // The admin's shared folder: other accounts may pass through it (stint keeps each job's folder private).
    chmodSync(workdir, 0o711);
    writeFileSync(join(home, 'stint.yaml'), `backends:\n  - name: hpc\n    type: slurm\n    workdir: ${workdir}\n    finishedJobs: jobcomp\n    slurmConf: ${SLURM_CONF}\n    commandTimeoutSeconds: 60\n    projects: {vision: {account: vision-acct}}\n`);
    server = await serverProcess(home, ['--config', join(home, 'stint.yaml')]);
    const a = await server.client.addUser('slurma');
    await server.client.setUnixUser('slurma', ACCOUNT_A);
    const b = await server.client.addUser('slurmb');
    await server.client.setUnixUser('slurmb', ACCOUNT_B);
    alice = new StintClient(server.url, a.token);
    bob = new StintClient(server.url, b.token);
  }, 180_000);

  afterAll(() => {
    server?.child.kill('SIGKILL');
  });

  it("runs A's job as A in Slurm; B's job reads none of A's secret, log, work or checkpoints; no secret file lies on the shared filesystem", async () => {
    const secret = `S3CR3T-${Math.random().toString(36).slice(2)}`;
    const task = [
      'name: alice-secret',
      'secrets: {API_KEY: null}',
      'resources: {infra: slurm/hpc}',
      'run: |',
      '  echo "user=$(id -un) key=${#API_KEY}"',
      '  echo "$API_KEY" > "$STINT_CHECKPOINT_DIR/ckpt"; echo "$API_KEY" > mine.txt',
      '  echo ready',
      '  while [ ! -e "$STINT_CHECKPOINT_DIR/stop" ]; do sleep 0.5; done',
      '',
    ].join('\n');
    const { id } = await alice.submit({ task, secrets: { API_KEY: secret } });
    const jobDir = join(workdir, 'jobs', String(id));
    try {
      await attackWhileRunning(id!, jobDir, secret);
    } finally {
      if (existsSync(join(jobDir, 'checkpoints'))) writeFileSync(join(jobDir, 'checkpoints', 'stop'), ''); // A's job ends, whatever failed
    }
    expect((await waitForJob(alice, id!, isEnded, 90_000)).state).toBe('SUCCEEDED');
    expect(existsSync(join(jobDir, 'attempt-1', 'env.sh'))).toBe(false);
    expect(filesContaining(jobDir, secret).sort()).toEqual([join(jobDir, 'checkpoints', 'ckpt'), join(jobDir, 'work', 'mine.txt')]);
  });

  async function attackWhileRunning(id: number, jobDir: string, secret: string): Promise<void> {
    const log = await logOf(alice, id, 'ready');
    expect(log).toContain(`user=${ACCOUNT_A} key=${secret.length}`);

    // Slurm itself holds the job as A's uid (job ids restart per server: match the folder too).
    const line = slurm('scontrol', ['show', 'job', '-o']).split('\n').find((l) => l.includes(`JobName=stint-${id}.1-alice-secret `) && l.includes(`WorkDir=${jobDir} `));
    expect(line, "scontrol lists the job").toMatch(new RegExp(`UserId=${ACCOUNT_A}\\(${uidA}\\)`));

    // While A's job runs, the secret is nowhere on the shared filesystem but in what the job wrote itself.
    expect(existsSync(join(jobDir, 'attempt-1', 'env.sh'))).toBe(false);
    expect(filesContaining(jobDir, secret).sort()).toEqual([join(jobDir, 'checkpoints', 'ckpt'), join(jobDir, 'work', 'mine.txt')]);
    // A's folders and files are A's alone.
    for (const dir of ['attempt-1', 'work', 'checkpoints']) {
      const st = statSync(join(jobDir, dir));
      expect([dir, st.uid, (st.mode & 0o777).toString(8)]).toEqual([dir, uidA, '700']);
    }
    const out = lstatSync(join(jobDir, 'attempt-1', 'output.log'));
    expect([out.isFile(), out.uid, out.mode & 0o077]).toEqual([true, uidA, 0]);

    // B's job tries every one of A's files, and A's processes' environment.
    const targets = ['attempt-1/env.sh', 'attempt-1/output.log', 'attempt-1/run.sh', 'work/mine.txt', 'checkpoints/ckpt'].map((p) => join(jobDir, p));
    const probe = [
      'resources: {infra: slurm/hpc}',
      'run: |',
      `  for p in ${targets.join(' ')}; do if cat "$p" >/dev/null 2>&1; then echo "READ $p"; else echo "denied $p"; fi; done`,
      `  for d in ${jobDir}/attempt-1 ${jobDir}/work ${jobDir}/checkpoints; do if ls "$d" >/dev/null 2>&1; then echo "LISTED $d"; else echo "denied $d"; fi; done`,
      `  for p in $(pgrep -u ${ACCOUNT_A}); do if tr '\\0' '\\n' < /proc/$p/environ 2>/dev/null | grep -q '^API_KEY='; then echo "ENVIRON $p"; fi; done`,
      '  echo probed',
      '',
    ].join('\n');
    const b = await bob.submit({ task: probe });
    const ended = await waitForJob(bob, b.id!, isEnded, 90_000);
    const bobLog = (await bob.logs(b.id!)).text;
    expect(ended.state, bobLog).toBe('SUCCEEDED');
    expect(bobLog).toContain('probed');
    expect(bobLog).not.toMatch(/READ|LISTED|ENVIRON/);
    expect(bobLog.match(/^denied /gm)).toHaveLength(targets.length + 3);
  }

  it('serves no file but the job\'s own log when the job swaps its output.log for a symlink to the admin token', async () => {
    const token = join(home, 'token');
    const adminToken = readFileSync(token, 'utf8').trim();
    const task = `resources: {infra: slurm/hpc}\nrun: echo before; ln -sfn ${token} "$(cd .. && pwd)/attempt-1/output.log" && echo swapped\n`;
    const { id } = await alice.submit({ task });
    await waitForJob(alice, id!, isEnded, 90_000);
    const answer = await alice.logs(id!).then((l) => l.text, (e: unknown) => e);
    // Either a clear refusal or the job's own bytes; never the token.
    expect(JSON.stringify(answer)).not.toContain(adminToken);
    if (typeof answer !== 'string') expect(answer).toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/output\.log/) });
    // A FIFO in its place must not hang the server's read.
    const fifo = await alice.submit({ task: 'resources: {infra: slurm/hpc}\nrun: f="$(cd .. && pwd)/attempt-1/output.log"; rm -f "$f"; mkfifo -m 600 "$f"\n' });
    await waitForJob(alice, fifo.id!, isEnded, 90_000);
    await expect(alice.logs(fifo.id!)).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/not a regular file/) });
  });

  it("takes a project's Slurm account only through membership: a non-member's `project: vision` never reaches sbatch", async () => {
    await server.client.addProject('vision');
    await server.client.setProjectMember('vision', 'slurma');
    const task = (name: string) => `name: ${name}\nproject: vision\nresources: {infra: slurm/hpc}\nrun: echo "account=$SLURM_JOB_ACCOUNT"\n`;
    const jobs = (): string[] => (existsSync(join(workdir, 'jobs')) ? readdirSync(join(workdir, 'jobs')) : []);
    const before = jobs();
    await expect(bob.submit({ task: task('bob-vision') })).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/not a member of project vision/) });
    expect(jobs()).toEqual(before);
    expect(slurm('scontrol', ['show', 'job', '-o'])).not.toMatch(new RegExp(`JobName=stint-\\d+\\.1-bob-vision .*WorkDir=${workdir}/`));
    // The member's job does get the project's account.
    const { id } = await alice.submit({ task: task('alice-vision') });
    expect((await waitForJob(alice, id!, isEnded, 90_000)).state).toBe('SUCCEEDED');
    expect((await alice.logs(id!)).text).toBe('account=vision-acct\n');
  });

  it("cannot plant the next attempt's folder for the root server to write into", async () => {
    const target = join(sharedDir(), 'planted');
    execFileSync('mkdir', ['-p', target]);
    chmodSync(target, 0o777);
    const task = [
      'resources: {infra: slurm/hpc}',
      'retries: {max: 1, on: [failure]}',
      'run: |',
      '  up=$(cd .. && pwd)',
      `  if [ "$STINT_ATTEMPT" = 1 ]; then if ln -sfn ${target} "$up/attempt-2" 2>/dev/null || mkdir "$up/attempt-2" 2>/dev/null; then echo planted; else echo "cannot plant"; fi; exit 1; fi`,
      '  echo "second attempt"',
      '',
    ].join('\n');
    const { id } = await alice.submit({ task });
    const ended = await waitForJob(alice, id!, isEnded, 120_000);
    expect((await alice.logs(id!, { attempt: 1 })).text).toBe('cannot plant\n');
    expect(ended.state).toBe('SUCCEEDED');
    expect((await alice.logs(id!, { attempt: 2 })).text).toBe('second attempt\n');
    expect(readdirSync(target)).toEqual([]);
    expect(lstatSync(join(workdir, 'jobs', String(id), 'attempt-2')).isSymbolicLink()).toBe(false);
  });
});

/** The backend itself, launched as the mapped accounts: multi-node, Slurm's own requeue, the workdir snapshot. */
describe.runIf(isRoot)('Slurm backend: submissions under the job owner\'s account', { timeout: 240_000 }, () => {
  let backend: SlurmBackend;
  let asA: RunAs;
  let asB: RunAs;
  let nextJobId = 70_000 + Math.floor(Math.random() * 10_000) * 10;

  beforeAll(async () => {
    ensureCluster();
    asA = runAs(ACCOUNT_A);
    asB = runAs(ACCOUNT_B);
    const workdir = sharedDir();
    chmodSync(workdir, 0o711);
    backend = await testBackend({ workdir });
  }, 180_000);

  async function submitAsA(spec: TaskSpec, extra: { secrets?: Record<string, string>; archive?: string; as?: RunAs; jobId?: number } = {}): Promise<AttemptRef> {
    const jobId = extra.jobId ?? nextJobId++;
    const launched = await backend.launch({
      jobId, attempt: 1, name: spec.name, spec, secrets: extra.secrets ?? {}, node: null, gpus: [], workdirArchive: extra.archive ?? null, env: {}, runAs: extra.as ?? asA,
    });
    return { jobId, attempt: 1, handle: launched.handle };
  }

  /** `scontrol show job ID -o` as root: the job's name, owner and folder. */
  function slurmJob(id: unknown): string {
    return slurm('scontrol', ['show', 'job', String(id), '-o']);
  }

  it("records A's own Slurm job even when A's process writes B's job id into the submission's stdout first (pidfd_getfd), and A's cancel never reaches B's job", async () => {
    const victim = await submitAsA(taskSpec('echo victim running; sleep 300', { name: 'victim' }), { as: asB });
    try {
      await waitForLog(backend, victim, 'victim running', 60_000);
      const victimId = victim.handle.slurmJobId as number;
      expect(slurmJob(victimId)).toMatch(new RegExp(`UserId=${ACCOUNT_B}\\(${asB.uid}\\)`));
      // A's own process (as a login shell of A's would be) waits for the submission of A's next job and injects `VICTIM;`.
      const jobId = nextJobId++;
      const forger = spawn('/usr/bin/setpriv', [`--reuid=${asA.uid}`, `--regid=${asA.gid}`, '--clear-groups', '--', '/usr/bin/python3', '-c', FORGER,
        String(victimId), `${backend.config.workdir}/jobs/${jobId}/`], { stdio: ['ignore', 'pipe', 'pipe'] });
      let forged = '';
      forger.stdout.on('data', (d: Buffer) => (forged += d));
      forger.stderr.on('data', (d: Buffer) => (forged += d));
      const ended = new Promise((r) => forger.on('close', r));
      try {
        for (const deadline = Date.now() + 10_000; !forged.includes('watching'); await new Promise((r) => setTimeout(r, 20))) {
          if (Date.now() > deadline) throw new Error(`the forger did not start: ${forged}`);
        }
        const mine = await submitAsA(taskSpec('echo mine; sleep 300', { name: 'mallory' }), { jobId }).catch((e: unknown) => e);
        await ended;
        expect(forged, 'the forger reached the submission').toMatch(/forged into pid/);
        try {
          // Either a clear refusal or A's own job, never B's.
          if (!(mine instanceof Error)) {
            const line = slurmJob((mine as AttemptRef).handle.slurmJobId);
            expect(line).toMatch(new RegExp(`JobName=stint-${jobId}\\.1-mallory UserId=${ACCOUNT_A}\\(${asA.uid}\\) `));
            expect(line).toContain(`WorkDir=${backend.config.workdir}/jobs/${jobId} `);
          } else expect(mine).toMatchObject({ code: 'BACKEND_ERROR' });
          // A's cancel of the recorded attempt, and of a handle that names B's job outright: B's job runs on.
          if (!(mine instanceof Error)) await backend.signal(mine as AttemptRef, 'SIGKILL');
          const forgedRef: AttemptRef = { jobId, attempt: 1, handle: { slurmJobId: victimId, base: 1, uid: asA.uid } };
          await backend.signal(forgedRef, 'SIGTERM');
          await backend.signal(forgedRef, 'SIGKILL');
          await new Promise((r) => setTimeout(r, 1500));
          expect(slurmJob(victimId)).toMatch(/JobState=RUNNING /);
        } finally {
          slurm('scancel', [`--user=${asA.uid}`, `--name=stint-${jobId}.1-mallory`]);
        }
      } finally {
        forger.kill('SIGKILL');
      }
    } finally {
      await backend.signal(victim, 'SIGKILL');
    }
  });

  it('says it runs each job under its owner\'s identity (root, no SSH), and why not over SSH', async () => {
    expect(backend.identity).toEqual({ perUser: true });
    const overSsh = await testBackend({ ssh: { host: 'login.example', user: 'svc' } });
    expect(overSsh.identity).toMatchObject({ perUser: false, why: expect.stringMatching(/SSH as the one account svc/) });
  });

  it('on a non-root server, says it cannot run each job under its owner\'s identity, and why', () => {
    // The built backend, loaded by a process running as nobody (needs dist/, as the server tests do).
    const module = join(REPO, 'dist', 'src', 'backends', 'slurm', 'backend.js');
    const script = `import(${JSON.stringify(module)}).then(async (m) => console.log(JSON.stringify((await m.createSlurmBackend({ name: 'hpc', workdir: '/tmp/x' })).identity)))`;
    const out = execFileSync('/usr/bin/setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--', process.execPath, '-e', script], { env: { PATH: '/usr/bin:/bin', HOME: '/tmp' }, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ perUser: false, why: expect.stringMatching(/the server is not root, so backend hpc can only submit Slurm jobs as the server's own account; run the server as root/) });
  });

  it('gives every node of a 2-node job its secret and environment, as A, and the job\'s SBATCH_* envs do not steer sbatch', async () => {
    const envs = { MODE: 'x y', SBATCH_ACCOUNT: 'stolen', SBATCH_PARTITION: 'second' };
    const spec = taskSpec('echo "rank=$SKYPILOT_NODE_RANK user=$(id -un) key=$API_KEY mode=$MODE part=$SLURM_JOB_PARTITION acct=$SLURM_JOB_ACCOUNT"', { numNodes: 2, envs });
    const ref = await submitAsA(spec, { secrets: { API_KEY: 'two-node-secret' } });
    expect((await waitForEnd(backend, ref, 90_000)).exitCode).toBe(0);
    const log = (await backend.readLog(ref, 0, 1 << 20)).text.split('\n').filter(Boolean).sort();
    expect(log).toEqual([0, 1].map((r) => expect.stringMatching(new RegExp(`^rank=${r} user=${ACCOUNT_A} key=two-node-secret mode=x y part=debug acct=(?!stolen)`))));
  });

  it('unpacks the workdir snapshot as A\'s own files, links included, without following them', async () => {
    const tar = new TarWriter();
    tar.directory('src', 0o755, 0);
    tar.file('src/data.txt', 0o644, 0, Buffer.from('from the snapshot\n'));
    tar.symlink('data-link', 'src/data.txt', 0);
    const archive = join(sharedDir(), 'work.tar.gz');
    writeFileSync(archive, gzipSync(tar.finish()));
    const ref = await submitAsA(taskSpec('cat data-link; stat -c "%U %a" . src src/data.txt; stat -c %U data-link'), { archive });
    expect((await waitForEnd(backend, ref, 90_000)).exitCode).toBe(0);
    expect((await backend.readLog(ref, 0, 1000)).text).toBe(`from the snapshot\n${ACCOUNT_A} 700\n${ACCOUNT_A} 755\n${ACCOUNT_A} 644\n${ACCOUNT_A}\n`);
  });

  it('requeued by Slurm (node DOWN), the restart runs as A with its secret and logs to its own folder', async () => {
    const spec = taskSpec('echo "attempt=$STINT_ATTEMPT user=$(id -un) key=$API_KEY"; sleep 300', { retries: { max: 2, on: ['node_failure'], exitCodes: [] } });
    spec.resources = spec.resources.map((r) => ({ ...r, infra: 'slurm/hpc/second' }));
    const ref = await submitAsA(spec, { secrets: { API_KEY: 'kept-by-slurm' } });
    await waitForLog(backend, ref, 'attempt=1', 60_000);
    try {
      slurm('scontrol', ['update', 'nodename=n3', 'state=down', 'reason=stint-identity-test']);
      await waitFor(backend, ref, (s) => (s.restarts ?? 0) >= 1);
    } finally {
      slurm('scontrol', ['update', 'nodename=n3', 'state=resume']);
    }
    try {
      const restarted: AttemptRef = { ...ref, attempt: 2 };
      expect(await waitForLog(backend, restarted, 'attempt=2', 120_000)).toBe(`attempt=2 user=${ACCOUNT_A} key=kept-by-slurm\n`);
    } finally {
      await backend.signal(ref, 'SIGKILL');
    }
    await waitForEnd(backend, ref, 60_000);
  }, 300_000);
});

function runAs(account: string): RunAs {
  const uid = ensureAccount(account);
  const [, , , gid, , home] = execFileSync('getent', ['passwd', account], { encoding: 'utf8' }).trim().split(':');
  return { user: account, uid, gid: Number(gid), home: home! };
}

/**
 * The red team's forger, run as the attacker's account: finds its own submission of the job under
 * argv[2] (setpriv → bash → sbatch, all the attacker's processes), stops it, writes `argv[1];` into
 * its stdout with pidfd_getfd (syscall 438 on x86_64), and lets it go on.
 */
const FORGER = `
import ctypes, os, signal, sys, time
libc = ctypes.CDLL(None, use_errno=True)
me, victim, folder = os.getuid(), sys.argv[1].encode(), sys.argv[2].encode()
print('watching', flush=True)
end = time.time() + 60
while time.time() < end:
    for p in os.listdir('/proc'):
        if not p.isdigit() or int(p) == os.getpid(): continue
        try:
            if os.stat('/proc/' + p).st_uid != me: continue
            cmd = open('/proc/%s/cmdline' % p, 'rb').read()
            if folder not in cmd or b'slurm_script' in cmd: continue
            os.kill(int(p), signal.SIGSTOP)
            try:
                fd = libc.syscall(438, os.pidfd_open(int(p)), 1, 0)
                if fd < 0: print('pidfd_getfd errno', ctypes.get_errno(), flush=True); continue
                os.write(fd, victim + b';'); os.close(fd)
            finally:
                os.kill(int(p), signal.SIGCONT)
            print('forged into pid', p, cmd[:60], flush=True); sys.exit(0)
        except OSError: pass
    time.sleep(0.001)
print('no submission seen', flush=True)
`;

async function waitFor(backend: SlurmBackend, ref: AttemptRef, ok: (s: AttemptStatus) => boolean): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (!ok((await backend.poll([ref])).get(attemptKey(ref))!)) {
    if (Date.now() > deadline) throw new Error(`attempt ${attemptKey(ref)} never reached the awaited state`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
