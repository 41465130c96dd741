// Confinement of local jobs against the real kernel (cgroups, mount namespaces, device nodes made
// with mknod), through the real local backend as a root server runs it: memory limits end a job
// as out_of_memory with the evidence, `cpus` holds a job to its CPUs, a job opens only its own
// GPUs' nodes, /tmp and `$$` are each job's own, nothing of a job outlives it, and a job cannot
// write its own cgroup's files. Root only: confinement needs it (a non-root run checks that the
// node says it does not confine).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AttemptRef, Backend, RunAs } from '../../src/backends/backend.js';
import { taskSpec, waitForEnd, waitForLog } from '../../src/backends/contract.js';
import { confinementWarning, createLocalBackend, type LocalBackendOptions } from '../../src/backends/local/backend.js';
import { cgroupBase } from '../../src/backends/local/cgroups/attempt-cgroup.js';
import type { ResourceChoice } from '../../src/core/spec/types.js';

const isRoot = process.getuid?.() === 0;
const NOBODY: RunAs = { user: 'nobody', uid: 65534, gid: 65534, home: '/nonexistent', shell: '/usr/sbin/nologin' };
const TIMEOUT = 20_000;

let root: string;
let devices: string;
let nextJob = 1;

beforeAll(async () => {
  // Outside /tmp: a job's private /tmp hides what is under the host's.
  root = await mkdtemp('/var/tmp/stint-sandbox-');
  await chmod(root, 0o711);
  devices = join(root, 'dev');
  execFileSync('mkdir', ['-m', '755', devices]);
  // Stand-ins for /dev/nvidia0 and /dev/nvidia1: harmless existing devices (/dev/full, /dev/random).
  if (isRoot) {
    execFileSync('mknod', ['-m', '666', join(devices, 'nvidia0'), 'c', '1', '7']);
    execFileSync('mknod', ['-m', '666', join(devices, 'nvidia1'), 'c', '1', '8']);
  }
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const backends: Backend[] = [];
afterAll(async () => {
  for (const backend of backends) await backend.close();
});

async function backendAt(home: string, extra: Partial<LocalBackendOptions> = {}): Promise<Backend> {
  const backend = await createLocalBackend({ name: 'local', home, jobsDir: join(home, 'jobs'), fakeGpus: 'A100:2', fakeGpuDevices: devices, ...extra });
  backends.push(backend);
  return backend;
}

async function freshBackend(extra: Partial<LocalBackendOptions> = {}): Promise<{ backend: Backend; home: string }> {
  const home = await mkdtemp(join(root, 'home-'));
  await chmod(home, 0o711);
  return { backend: await backendAt(home, extra), home };
}

async function launch(backend: Backend, run: string, opts: { gpus?: number[]; runAs?: RunAs | null; resources?: Partial<ResourceChoice> } = {}): Promise<AttemptRef> {
  const base = taskSpec(run);
  const spec = { ...base, resources: [{ ...base.resources[0]!, ...opts.resources }] };
  const jobId = nextJob++;
  const launched = await backend.launch({ jobId, attempt: 1, name: null, spec, secrets: {}, node: 'local', gpus: opts.gpus ?? [], workdirArchive: null, env: {}, runAs: opts.runAs === undefined ? NOBODY : opts.runAs });
  return { jobId, attempt: 1, handle: launched.handle };
}

const logOf = async (backend: Backend, ref: AttemptRef) => (await backend.readLog(ref, 0, 100_000)).text;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (not yet reaped) runs no more.
  return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

// Confinement needs root (cgroups, mount namespaces, mknod): a non-root run has none to test.
describe.skipIf(!isRoot)('confinement of local jobs (root)', () => {
  let backend: Backend;
  let home: string;
  beforeAll(async () => {
    ({ backend, home } = await freshBackend());
  });

  it('says on the node that it confines, with the cgroup version', async () => {
    const node = (await backend.inventory()).nodes[0]!;
    expect(node.confinement).toMatchObject({ enforced: true, cgroup: expect.stringMatching(/^v[12]$/), privateTmp: true });
    expect(confinementWarning(node)).toBeNull();
    expect(node.gpus.map((g) => g.devicePath)).toEqual([join(devices, 'nvidia0'), join(devices, 'nvidia1')]);
  });

  it('ends a job that goes over its memory limit as out_of_memory, with peak and limit', async () => {
    const ref = await launch(backend, "python3 -c 'b = b\"x\" * (1 << 30); print(len(b))'", { resources: { memoryGb: { value: 0.25, orMore: false } } });
    const end = await waitForEnd(backend, ref, TIMEOUT);
    expect(end).toMatchObject({ reason: 'out_of_memory', detail: expect.stringMatching(/^peak [\d.]+ [KMG]iB, limit 256 MiB \(\d+ oom kills? in the job's cgroup/) });
    // Recorded before the cgroup went: a server started after it reads the same end back.
    const again = await backendAt(home);
    expect((await again.poll([ref])).get(`${ref.jobId}.1`)).toMatchObject({ reason: 'out_of_memory', detail: end.detail });
  });

  it('holds a job with cpus: 1 to one CPU of time', async () => {
    const burn = [
      'import multiprocessing, os, time',
      'def burn():',
      '    end = time.time() + 1.5',
      '    while time.time() < end: pass',
      'ps = [multiprocessing.Process(target=burn) for _ in range(2)]',
      'start = time.time()',
      'for p in ps: p.start()',
      'for p in ps: p.join()',
      't = os.times()',
      'print(f"cpus={len(os.sched_getaffinity(0))} ratio={(t.children_user + t.children_system) / (time.time() - start):.3f}")',
    ].join('\n');
    const ref = await launch(backend, `python3 -c '${burn}'`, { resources: { cpus: { value: 1, orMore: false } } });
    expect(await waitForEnd(backend, ref, TIMEOUT)).toMatchObject({ exitCode: 0 });
    const match = /cpus=(\d+) ratio=([\d.]+)/.exec(await logOf(backend, ref));
    expect(match?.[1]).toBe('1');
    // Two busy processes for 1.5 s: CPU time over wall time stays near 1 (2 unconfined).
    expect(Number(match?.[2])).toBeLessThan(1.15);
  });

  it('lets a job open only its own GPUs\' device nodes', async () => {
    const run = [
      `head -c 4 ${devices}/nvidia1 | wc -c`,
      `head -c 4 ${devices}/nvidia0 | wc -c`,
      `stat -c 'gpu0=%t:%T' ${devices}/nvidia0`,
      // GPU 0's own device number, wherever its node is: refused by the devices cgroup.
      'exec 7</dev/full && echo opened-gpu0 || echo refused-gpu0',
    ].join('\n');
    const ref = await launch(backend, run, { gpus: [1] });
    await waitForEnd(backend, ref, TIMEOUT);
    const log = await logOf(backend, ref);
    expect(log).toMatch(/^4\n0\ngpu0=1:3\n/);
    expect(log).toMatch(/\/dev\/full: Operation not permitted\nrefused-gpu0\n$/);
    // A job holding GPU 0 opens it.
    const own = await launch(backend, 'exec 7</dev/full && echo opened-gpu0', { gpus: [0] });
    await waitForEnd(backend, own, TIMEOUT);
    expect(await logOf(backend, own)).toBe('opened-gpu0\n');
  });

  it('gives each job its own /tmp (and TMPDIR), removed when it ends', async () => {
    const run = 'echo "$$" > /tmp/x.$$; echo mine > /tmp/shared; sleep 0.5; echo "tmpdir=$TMPDIR files=$(ls /tmp | wc -l) shared=$(cat /tmp/shared) pid=$(cat /tmp/x.$$)"';
    const [a, b] = await Promise.all([launch(backend, run), launch(backend, run)]);
    for (const ref of [a!, b!]) {
      expect(await waitForEnd(backend, ref, TIMEOUT)).toMatchObject({ exitCode: 0 });
      expect(await logOf(backend, ref)).toMatch(/^tmpdir=\/tmp files=2 shared=mine pid=\d+\n$/);
      expect(existsSync(join(home, 'jobs', String(ref.jobId), 'attempt-1', 'tmp'))).toBe(false);
    }
    expect(existsSync('/tmp/shared')).toBe(false);
  });

  for (const [who, runAs] of [['a mapped account', NOBODY], ["the server's own account", null]] as const) {
    it(`ends only the job itself on kill -9 $$ (${who}), and the next job runs`, async () => {
      const ref = await launch(backend, 'echo before; kill -9 $$; echo after', { runAs });
      expect(await waitForEnd(backend, ref, TIMEOUT)).toMatchObject({ reason: 'exit', signal: 'SIGKILL', detail: 'killed by SIGKILL' });
      expect(await logOf(backend, ref)).toBe('before\n');
      const next = await launch(backend, 'echo next', { runAs });
      expect(await waitForEnd(backend, next, TIMEOUT)).toMatchObject({ exitCode: 0 });
      expect(await logOf(backend, next)).toBe('next\n');
    });
  }

  it('kills a setsid escapee when the job ends, and when it is cancelled', async () => {
    const ended = await launch(backend, 'setsid sleep 1000 </dev/null >/dev/null 2>&1 & echo "escapee $!"');
    await waitForEnd(backend, ended, TIMEOUT);
    const cancelled = await launch(backend, 'setsid sleep 1000 </dev/null >/dev/null 2>&1 & echo "escapee $!"; trap "" TERM; sleep 1000');
    await waitForLog(backend, cancelled, 'escapee', TIMEOUT);
    await backend.signal(cancelled, 'SIGTERM');
    await backend.signal(cancelled, 'SIGKILL');
    expect(await waitForEnd(backend, cancelled, TIMEOUT)).toMatchObject({ signal: 'SIGKILL' });
    for (const ref of [ended, cancelled]) {
      const pid = Number(/escapee (\d+)/.exec(await logOf(backend, ref))?.[1]);
      expect(pid).toBeGreaterThan(1);
      expect(alive(pid)).toBe(false);
    }
  });

  it('keeps the exit recorder out of the job\'s cgroup, and the job cannot write its cgroup files', async () => {
    const memory = `/sys/fs/cgroup/memory${cgroupBase(join(home, 'jobs'))}`;
    const run = [
      'grep -E ":memory:" /proc/self/cgroup',
      'for f in memory.limit_in_bytes pids.max; do :; done',
      `echo 999999999999 2>/dev/null > "$(sed -n 's/^[0-9]*:memory://p' /proc/self/cgroup | sed 's|^|/sys/fs/cgroup/memory|')/memory.limit_in_bytes" && echo wrote-limit || echo refused-limit`,
      'echo $$ 2>/dev/null > /sys/fs/cgroup/memory/cgroup.procs && echo escaped || echo refused-escape',
      'sleep 30',
    ].join('\n');
    const ref = await launch(backend, run);
    await waitForLog(backend, ref, 'refused-escape', TIMEOUT);
    const log = await logOf(backend, ref);
    expect(log).toContain(`:memory:${cgroupBase(join(home, 'jobs'))}/job-${ref.jobId}-1\n`);
    expect(log).toContain('refused-limit\nrefused-escape\n');
    const recorder = (ref.handle as { wrapperPid: number }).wrapperPid;
    expect(readFileSync(`/proc/${recorder}/cgroup`, 'utf8')).not.toContain(`job-${ref.jobId}-1`);
    expect(existsSync(`${memory}/job-${ref.jobId}-1`)).toBe(true);
    await backend.signal(ref, 'SIGKILL');
    await waitForEnd(backend, ref, TIMEOUT);
    expect(existsSync(`${memory}/job-${ref.jobId}-1`)).toBe(false);
  });
});

describe('a host that does not confine', () => {
  it('says so on the node and in the start-up warning, and still gives each job its own TMPDIR', async () => {
    const { backend, home } = await freshBackend({ confine: false });
    const node = (await backend.inventory()).nodes[0]!;
    expect(node.confinement).toMatchObject({ enforced: false, cgroup: null, privateTmp: false, reason: expect.stringMatching(/turned off|not root/) });
    expect(confinementWarning(node)).toMatch(/^limits not enforced on this host: /);
    const ref = await launch(backend, 'echo "tmpdir=$TMPDIR"; touch "$TMPDIR/x"', { runAs: null });
    expect(await waitForEnd(backend, ref, TIMEOUT)).toMatchObject({ exitCode: 0 });
    const tmp = join(home, 'jobs', String(ref.jobId), 'attempt-1', 'tmp');
    expect(await logOf(backend, ref)).toBe(`tmpdir=${tmp}\n`);
    expect(existsSync(tmp)).toBe(false);
  });
});
