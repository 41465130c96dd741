// The local backend against real processes: the shared contract (as the server's own account,
// and, when the tests run as root, with every job dropped to `nobody` as a root server runs
// mapped users' jobs), plus what only local does (GPU visibility, surviving the server, the
// files of an attempt that a job cannot turn against the server).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Backend, RunAs } from '../backend.js';
import { backendContract, launchOn, taskSpec, waitForEnd, waitForLog } from '../contract.js';
import { createLocalBackend, readLogFile } from './backend.js';

const isRoot = process.getuid?.() === 0;
const NOBODY: RunAs = { user: 'nobody', uid: 65534, gid: 65534, home: '/nonexistent' };

async function freshHome(): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), 'stint-local-'));
  // As `stint server` leaves it: others may pass through to their own job directories.
  await chmod(home, 0o711);
  return home;
}

const create = async () => {
  const home = await freshHome();
  return createLocalBackend({ name: 'local', home, jobsDir: join(home, 'jobs'), fakeGpus: 'A100:4' });
};

/** The same backend, every launch run as `account` (what the scheduler asks of a root server). */
function droppedTo(backend: Backend, account: RunAs): Backend {
  return {
    name: backend.name, kind: backend.kind, unsupported: backend.unsupported, stintPlaces: backend.stintPlaces, identity: backend.identity,
    inventory: () => backend.inventory(),
    launch: (request) => backend.launch({ ...request, runAs: account }),
    poll: (attempts) => backend.poll(attempts),
    signal: (attempt, signal) => backend.signal(attempt, signal),
    readLog: (attempt, offset, limit) => backend.readLog(attempt, offset, limit),
    onActivity: (listener) => backend.onActivity(listener),
    close: () => backend.close(),
  };
}

backendContract('local', { create, timeoutMs: 10_000 });

// Dropping to another account needs root; a non-root run has only the server's own account.
if (isRoot) backendContract('local, jobs dropped to nobody', { create: async () => droppedTo(await create(), NOBODY), timeoutMs: 10_000 });

describe('local backend', () => {
  it('declares fake GPUs from --gpus', async () => {
    const inventory = await (await create()).inventory();
    expect(inventory.nodes[0]!.gpus.map((g) => [g.index, g.name])).toEqual([[0, 'A100'], [1, 'A100'], [2, 'A100'], [3, 'A100']]);
  });

  it('hands the chosen GPUs to the job through CUDA_VISIBLE_DEVICES', async () => {
    const backend = await create();
    const ref = await launchOn(backend, taskSpec('echo "gpus=$CUDA_VISIBLE_DEVICES"'), [1, 3]);
    await waitForEnd(backend, ref, 10_000);
    expect((await backend.readLog(ref, 0, 1000)).text).toBe('gpus=1,3\n');
  });

  it('does not leak the server environment into jobs', async () => {
    process.env.STINT_LEAK_CHECK = 'leaked';
    const backend = await create();
    const ref = await launchOn(backend, taskSpec('echo "leak=${STINT_LEAK_CHECK:-none}"'));
    await waitForEnd(backend, ref, 10_000);
    expect((await backend.readLog(ref, 0, 1000)).text).toBe('leak=none\n');
    delete process.env.STINT_LEAK_CHECK;
  });

  it('reads an attempt back from its handle alone, as after a restart', async () => {
    const home = await freshHome();
    const first = await createLocalBackend({ name: 'local', home, jobsDir: join(home, 'jobs'), fakeGpus: '2' });
    const ref = await launchOn(first, taskSpec('sleep 0.3; exit 5'));
    await first.close();
    const second = await createLocalBackend({ name: 'local', home, jobsDir: join(home, 'jobs'), fakeGpus: '2' });
    expect((await waitForEnd(second, ref, 10_000)).exitCode).toBe(5);
  });

  it('removes env.sh once the attempt has started, so its secrets are on no disk', async () => {
    const backend = await create();
    const ref = await launchOn(backend, taskSpec('echo "s=$TOKEN"; sleep 0.5'), [], { TOKEN: 'secret-value-42' });
    await waitForLog(backend, ref, 's=secret-value-42', 10_000);
    const dir = (ref.handle as { dir: string }).dir;
    expect(existsSync(join(dir, 'env.sh'))).toBe(false);
    await waitForEnd(backend, ref, 10_000);
    for (const name of readdirSync(dir).filter((n) => n !== 'output.log')) expect(readFileSync(join(dir, name), 'utf8'), name).not.toContain('secret-value-42');
  });

  it('drops NUL characters from envs and scripts, as bash did, losing nothing after them', async () => {
    const backend = await create();
    const ref = await launchOn(backend, taskSpec('echo "[$A] $STINT_JOB_DIR"\0; echo after', { envs: { A: 'x\0y' } }));
    await waitForEnd(backend, ref, 10_000);
    expect((await backend.readLog(ref, 0, 1000)).text).toMatch(new RegExp(`^\\[xy\\] /.*/jobs/${ref.jobId}\nafter\n$`));
  });

  it('never follows a symlink when reading a log, and a FIFO does not block the server', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stint-log-'));
    await symlink('/etc/hostname', join(dir, 'linked.log'));
    await expect(readLogFile(join(dir, 'linked.log'), 0, 100)).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('symbolic link') });
    execFileSync('mkfifo', [join(dir, 'fifo.log')]);
    await expect(readLogFile(join(dir, 'fifo.log'), 0, 100)).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('not a regular file') });
    expect(await readLogFile(join(dir, 'missing.log'), 0, 100)).toMatchObject({ text: '', size: 0 });
  });

  it('refuses a job directory that is not the server\'s (left by an older stint) instead of writing into it', async () => {
    const home = await freshHome();
    const backend = await createLocalBackend({ name: 'local', home, jobsDir: join(home, 'jobs'), fakeGpus: '2' });
    await mkdir(join(home, 'jobs', '77'), { mode: 0o777 });
    await chmod(join(home, 'jobs', '77'), 0o777);
    const request = { jobId: 77, attempt: 1, name: null, spec: taskSpec('true'), secrets: {}, node: null, gpus: [], workdirArchive: null, env: {} };
    await expect(backend.launch(request)).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('not a directory owned by the stint server') });
  });
});

describe.runIf(isRoot)('local backend, a job dropped to another account', () => {
  it('gets no descriptor of the server or the launcher: only stdin, stdout and stderr', async () => {
    const backend = droppedTo(await create(), NOBODY);
    const ref = await launchOn(backend, taskSpec('ls /proc/self/fd | sort -n | tr "\\n" " "'));
    await waitForEnd(backend, ref, 10_000);
    // The fourth is ls's own descriptor of /proc/self/fd.
    expect((await backend.readLog(ref, 0, 1000)).text).toBe('0 1 2 3 ');
  });

  it('owns only work/, checkpoints/ and output.log; the state files are root-only', async () => {
    const backend = droppedTo(await create(), NOBODY);
    const ref = await launchOn(backend, taskSpec('id -u'));
    await waitForEnd(backend, ref, 10_000);
    const dir = (ref.handle as { dir: string }).dir;
    expect(statSync(join(dir, '..'))).toMatchObject({ uid: 0, mode: 0o40711 });
    expect(statSync(dir)).toMatchObject({ uid: 0, mode: 0o40711 });
    expect(statSync(join(dir, '..', 'work'))).toMatchObject({ uid: NOBODY.uid, mode: 0o40700 });
    expect(statSync(join(dir, '..', 'checkpoints'))).toMatchObject({ uid: NOBODY.uid, mode: 0o40700 });
    expect(statSync(join(dir, 'output.log'))).toMatchObject({ uid: NOBODY.uid, mode: 0o100600 });
    for (const name of ['exit', 'pgid', 'run.sh', 'setup.sh']) expect(statSync(join(dir, name)), name).toMatchObject({ uid: 0, mode: 0o100600 });
    expect((await backend.readLog(ref, 0, 100)).text).toBe(`${NOBODY.uid}\n`);
  });
});
