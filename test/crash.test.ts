// Crash safety with a real server process: kill -9 while a job runs; the job finishes anyway and
// the restarted server reports its true exit code. Needs the build (npm test builds first).
import { afterEach, describe, expect, it } from 'vitest';
import { isEnded, serverProcess, sleep, tempHome, waitForJob, type ServerProcess } from './helpers/server.js';

let servers: ServerProcess[] = [];
afterEach(() => {
  for (const s of servers) s.child.kill('SIGKILL');
  servers = [];
});

async function start(home: string): Promise<ServerProcess> {
  const s = await serverProcess(home, ['--gpus', 'A100:2']);
  servers.push(s);
  return s;
}

async function kill9(s: ServerProcess): Promise<void> {
  const exited = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGKILL');
  await exited;
}

describe('a server killed with kill -9', () => {
  it('leaves a running job running; after restart the job shows its real exit code', async () => {
    const home = await tempHome();
    const first = await start(home);
    const { id } = await first.client.submit({ task: 'resources: {accelerators: A100:1}\nrun: echo started; sleep 1.5; echo finished; exit 3\n' });
    await waitForJob(first.client, id!, (j) => j.state === 'RUNNING');
    await kill9(first);
    await sleep(2500); // the job ends while no server is up
    const second = await start(home);
    const job = await waitForJob(second.client, id!, isEnded);
    expect(job).toMatchObject({ state: 'FAILED', exitCode: 3 });
    expect((await second.client.logs(id!)).text).toBe('started\nfinished\n');
  });

  it('reattaches to a job still running after the restart and keeps its GPUs held', async () => {
    const home = await tempHome();
    const first = await start(home);
    const long = await first.client.submit({ task: 'resources: {accelerators: A100:2}\nrun: sleep 6; exit 0\n' });
    await waitForJob(first.client, long.id!, (j) => j.state === 'RUNNING');
    await kill9(first);
    const second = await start(home);
    const queued = await second.client.submit({ task: 'resources: {accelerators: A100:1}\nrun: "true"\n' });
    await sleep(300);
    expect((await second.client.getJob(queued.id!)).state).toBe('PENDING');
    expect((await second.client.getJob(long.id!)).state).toBe('RUNNING');
    expect(await waitForJob(second.client, long.id!, isEnded)).toMatchObject({ state: 'SUCCEEDED', exitCode: 0 });
    expect((await waitForJob(second.client, queued.id!, isEnded)).state).toBe('SUCCEEDED');
  });

  it('keeps every acknowledged submission', async () => {
    const home = await tempHome();
    const first = await start(home);
    const ids: number[] = [];
    for (let i = 0; i < 50; i++) ids.push((await first.client.submit({ task: 'resources: {accelerators: A100:2}\nrun: sleep 0.05\n' })).id!);
    await kill9(first);
    const second = await start(home);
    const { jobs } = await second.client.listJobs({ all: true, limit: 1000 });
    expect(jobs.map((j) => j.id).sort((a, b) => a - b)).toEqual(ids);
  });
});
