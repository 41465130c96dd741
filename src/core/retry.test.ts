import { describe, expect, it } from 'vitest';
import { retryDecision } from './retry.js';
import { parseTaskFile } from './spec/parse.js';

const policy = { max: 2, on: ['preemption', 'node_failure', 'failure'] as Array<'preemption' | 'node_failure' | 'failure'>, exitCodes: [137], backoffSeconds: 5 };

describe('retry decision', () => {
  it('requeues a preempted job at once and a failed node with doubling backoff', () => {
    expect(retryDecision(policy, 'preemption', 1, 143, 1000)).toEqual({ retry: true, delaySeconds: 0, notBefore: null });
    expect(retryDecision(policy, 'node_failure', 1, null, 1000)).toEqual({ retry: true, delaySeconds: 5, notBefore: 6000 });
    expect(retryDecision(policy, 'node_failure', 2, null, 1000)).toEqual({ retry: true, delaySeconds: 10, notBefore: 11_000 });
    expect(retryDecision(policy, 'node_failure', 3, null, 1000)).toMatchObject({ retry: false, why: 'no retries left (max 2)' });
  });

  it('retries failures only for the listed exit codes', () => {
    expect(retryDecision(policy, 'failure', 1, 137, 0)).toMatchObject({ retry: true });
    expect(retryDecision(policy, 'failure', 1, 1, 0)).toMatchObject({ retry: false, why: expect.stringContaining('exit code 1') });
    expect(retryDecision({ ...policy, on: ['preemption'] }, 'node_failure', 1, null, 0)).toMatchObject({ retry: false });
  });
});

describe('retries syntax', () => {
  it('reads exit_codes inside `on` and a backoff', () => {
    const file = parseTaskFile('run: train\nretries:\n  max: 3\n  on: [preemption, node_failure, exit_codes: [1, 137]]\n  backoff: 30s\ninteractive: true\n');
    expect(file.tasks[0]!.retries).toEqual({ max: 3, on: ['preemption', 'node_failure', 'failure'], exitCodes: [1, 137], backoffSeconds: 30 });
    expect(file.tasks[0]!.interactive).toBe(true);
  });
});
