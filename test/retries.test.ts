// Retries: `retries: {max, on: [preemption, node_failure, exit_codes: [..]], backoff}` on real
// processes. A failure with a listed exit code gets a new attempt after a doubling backoff (the
// queue says why it waits), keeps STINT_CHECKPOINT_DIR across attempts and sees STINT_RESTART_COUNT;
// an unlisted exit code or an exhausted policy fails for good.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { observedServer, until, type ObservedServer } from './helpers/observability.js';

let s: ObservedServer;
beforeAll(async () => {
  s = await observedServer({}, 'A100:1');
});
afterAll(async () => {
  await s?.server.stop();
});

const ended = (id: number) => until(`job ${id} to end`, async () => {
  const job = await s.client.getJob(id);
  return ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(job.state) ? job : undefined;
});

// Counts its attempts in the checkpoint directory; fails with 3 until the third attempt.
const flaky = (policy: string) => `name: flaky\nretries: ${policy}\nrun: |\n  n=$(cat "$STINT_CHECKPOINT_DIR/n" 2>/dev/null || echo 0)\n  n=$((n+1)); echo $n > "$STINT_CHECKPOINT_DIR/n"\n  echo "restart=$STINT_RESTART_COUNT n=$n"\n  [ $n -ge 3 ] && exit 0\n  exit 3\n`;

describe('retries on failure', () => {
  it('retries listed exit codes with doubling backoff until the job succeeds', async () => {
    const { id } = await s.client.submit({ task: flaky('{max: 2, on: [preemption, node_failure, exit_codes: [3]], backoff: 1s}') });
    const waiting = await until('the backoff to be explained', async () => {
      const job = await s.client.getJob(id!);
      return job.state === 'PENDING' && job.attempt === 1 && job.waitReason ? job : undefined;
    });
    expect(waiting.waitReason).toMatch(/^retry backoff after attempt 1: may start again in [01] s$/);
    const job = await ended(id!);
    expect(job.state).toBe('SUCCEEDED');
    expect(job.attempts.map((a) => a.exitCode)).toEqual([3, 3, 0]);
    const requeues = job.events.filter((e) => e.to === 'PENDING' && e.from !== null).map((e) => e.reason);
    expect(requeues).toEqual(['failed (exit code 3); requeued for attempt 2 in 1 s (backoff)', 'failed (exit code 3); requeued for attempt 3 in 2 s (backoff)']);
    const gap = (n: number) => Date.parse(job.attempts[n]!.startedAt) - Date.parse(job.attempts[n - 1]!.endedAt!);
    expect(gap(1)).toBeGreaterThanOrEqual(1000);
    expect(gap(2)).toBeGreaterThanOrEqual(2000);
    const log = await s.client.logs(id!, { attempt: 3 });
    expect(log.text.trim()).toBe('restart=2 n=3');
  }, 30_000);

  it('fails for good on an exit code not listed, and when no retries are left', async () => {
    const unlisted = await s.client.submit({ task: 'retries: {max: 3, on: [exit_codes: [137]]}\nrun: exit 1\n' });
    const once = await ended(unlisted.id!);
    expect(once).toMatchObject({ state: 'FAILED', exitCode: 1 });
    expect(once.attempts).toHaveLength(1);
    const exhausted = await s.client.submit({ task: flaky('{max: 1, on: [exit_codes: [3]], backoff: 1s}') });
    const twice = await ended(exhausted.id!);
    expect(twice).toMatchObject({ state: 'FAILED', exitCode: 3, attempt: 2 });
  }, 30_000);

  it('refuses exit codes out of range with the field and line', async () => {
    await expect(s.client.submit({ task: 'run: x\nretries:\n  max: 1\n  on: [exit_codes: [300]]\n' })).rejects.toMatchObject({ code: 'INVALID_SPEC', message: expect.stringMatching(/retries\.on\.exit_codes.*line 4/s) });
  });
});
