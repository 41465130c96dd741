// Quotas with borrowing and preemption on the real server: project b borrows all 4 GPUs; project
// a, guaranteed 2, submits a 2-GPU job and gets them back within the grace period + 10 s. The
// preempted jobs are real Python scripts that checkpoint on SIGTERM; their next attempt resumes
// from the checkpoint and finishes with the right result.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StintClient } from '../src/api/client.js';
import { inProcessServer, isEnded, waitForJob, type InProcessServer } from './helpers/server.js';

const GRACE_S = 3;
let s: InProcessServer;
beforeAll(async () => {
  s = await inProcessServer({ gpus: 'A100:4', preemptGrace: String(GRACE_S), preemptMinRuntime: '0' });
});
afterAll(async () => {
  await s.server.stop();
});

const CHECKPOINTING = `project: b
resources: {accelerators: A100:1}
run: |
  python3 - <<'PY'
  import json, os, signal, sys, time
  path = os.path.join(os.environ['STINT_CHECKPOINT_DIR'], 'state.json')
  state = {'step': 0, 'total': 0}
  if os.path.exists(path):
      state = json.load(open(path))
      print('resumed from step', state['step'], 'attempt', os.environ['STINT_ATTEMPT'], flush=True)
  stop = []
  signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
  print('working', flush=True)
  while state['step'] < 100:
      if stop:
          json.dump(state, open(path, 'w'))
          print('checkpointed at step', state['step'], flush=True)
          sys.exit(143)
      state['step'] += 1
      state['total'] += state['step']
      time.sleep(0.1)
  print('result', state['total'], flush=True)
  PY
`;

async function member(name: string, project: string): Promise<StintClient> {
  const { token } = await s.client.addUser(name);
  await s.client.setProjectMember(project, name);
  return new StintClient(s.server.url, token);
}

describe('a guaranteed quota taken back from a borrower', () => {
  it('preempts the youngest borrowers, which checkpoint and resume', async () => {
    await s.client.addProject('a');
    await s.client.addProject('b');
    await s.client.setProjectQuota('a', { guaranteed: { A100: 2 } });
    const [alice, bob] = [await member('alice', 'a'), await member('bob', 'b')];
    const borrowed: number[] = [];
    for (let i = 0; i < 4; i++) {
      borrowed.push((await bob.submit({ task: CHECKPOINTING })).id!);
      await waitForJob(bob, borrowed[i]!, (j) => j.state === 'RUNNING');
    }
    // Each script has installed its SIGTERM handler before anything is preempted.
    for (const id of borrowed) {
      while (!(await bob.logs(id)).text.includes('working')) await new Promise((r) => setTimeout(r, 100));
    }
    const listed = (await bob.listJobs()).jobs.filter((j) => borrowed.includes(j.id));
    expect(listed.map((j) => j.onBorrowedGpus)).toEqual([true, true, true, true]);
    const asked = Date.now();
    const wanted = await alice.submit({ task: 'project: a\nresources: {accelerators: A100:2}\nrun: echo "got $CUDA_VISIBLE_DEVICES"\n' });
    const running = await waitForJob(alice, wanted.id!, (j) => j.state === 'RUNNING' || isEnded(j), (GRACE_S + 10) * 1000);
    expect(['RUNNING', 'SUCCEEDED'], `${running.state}: ${running.reason}`).toContain(running.state);
    expect(Date.parse(running.startedAt!) - asked).toBeLessThan((GRACE_S + 10) * 1000);
    const finished = [];
    for (const id of borrowed) finished.push(await waitForJob(bob, id, isEnded, 60_000));
    expect(finished.map((j) => [j.id, j.state, j.attempt, j.reason])).toEqual(finished.map((j) => [j.id, 'SUCCEEDED', j.attempt, j.reason]));
    const preempted = finished.filter((j) => j.attempt > 1);
    expect(preempted).toHaveLength(2);
    // The youngest two were chosen.
    expect(preempted.map((j) => j.id).sort()).toEqual(borrowed.slice(2).sort());
    for (const job of preempted) {
      const first = await bob.logs(job.id, { attempt: 1 });
      const second = await bob.logs(job.id, { attempt: 2 });
      expect(first.text).toMatch(/checkpointed at step (\d+)/);
      const step = /checkpointed at step (\d+)/.exec(first.text)![1];
      expect(second.text).toContain(`resumed from step ${step} attempt 2`);
      expect(second.text).toContain('result 5050');
      const detail = await bob.getJob(job.id);
      expect(detail.attempts.map((a) => a.endReason)).toEqual(['preempted', 'exit']);
      expect(detail.events.some((e) => e.to === 'PENDING' && /preempted/.test(e.reason))).toBe(true);
    }
  });
});

describe('project caps', () => {
  it('refuses a job past the project queue cap, and holds one past its GPU cap with the reason', async () => {
    await s.client.addProject('c');
    await s.client.setProjectQuota('c', { guaranteed: {}, maxQueued: 2, maxGpus: 1 });
    const carol = await member('carol', 'c');
    const first = await carol.submit({ task: 'project: c\nresources: {accelerators: A100:1}\nrun: sleep 2\n' });
    await waitForJob(carol, first.id!, (j) => j.state === 'RUNNING');
    const second = await carol.submit({ task: 'project: c\nresources: {accelerators: A100:1}\nrun: "true"\n' });
    const held = await waitForJob(carol, second.id!, (j) => j.waitReason !== null);
    expect(held.state).toBe('PENDING');
    expect(held.waitReason).toMatch(/held by quota: project c may hold at most 1 GPUs/);
    await carol.submit({ task: 'project: c\nresources: {accelerators: A100:1}\nrun: "true"\n' });
    await expect(carol.submit({ task: 'project: c\nresources: {accelerators: A100:1}\nrun: "true"\n' })).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED', message: expect.stringMatching(/at most 2 jobs queued/) });
    expect((await waitForJob(carol, second.id!, isEnded)).state).toBe('SUCCEEDED');
  });
});

describe('user caps', () => {
  it('holds a user at their GPU cap and refuses a job past their queue cap', async () => {
    const { token } = await s.client.addUser('gina');
    await s.client.setUserCaps('gina', { maxGpus: 1, maxQueued: 1 });
    const gina = new StintClient(s.server.url, token);
    const first = await gina.submit({ task: 'resources: {accelerators: A100:1}\nrun: sleep 2\n' });
    await waitForJob(gina, first.id!, (j) => j.state === 'RUNNING');
    const second = await gina.submit({ task: 'resources: {accelerators: A100:1}\nrun: "true"\n' });
    const held = await waitForJob(gina, second.id!, (j) => j.waitReason !== null);
    expect(held.waitReason).toMatch(/held by quota: user gina may hold at most 1 GPUs/);
    await expect(gina.submit({ task: 'run: "true"\n' })).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED', message: expect.stringMatching(/user gina may have at most 1 jobs queued/) });
    expect((await waitForJob(gina, second.id!, isEnded)).state).toBe('SUCCEEDED');
  });
});
