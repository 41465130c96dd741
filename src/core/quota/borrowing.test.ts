import { describe, expect, it } from 'vitest';
import { classifyRunning, guaranteeOf, mayQueue, mayStart, QuotaLedger } from './borrowing.js';
import { pending, running } from './fixtures.js';
import type { QuotaConfig } from './types.js';

const config: QuotaConfig = {
  projects: [
    { project: 'A', guaranteed: { A100: 2 }, maxGpus: 4 },
    { project: 'B', guaranteed: { a100: 2, H100: 1 }, maxQueued: 2 },
  ],
  users: [{ user: 'carol', maxGpus: 3, maxQueued: 1 }],
};

describe('guaranteeOf', () => {
  it('matches GPU types case-insensitively and gives 0 to unlisted projects and types', () => {
    expect(guaranteeOf(config, 'B', 'A100')).toBe(2);
    expect(guaranteeOf(config, 'B', 'h100')).toBe(1);
    expect(guaranteeOf(config, 'A', 'H100')).toBe(0);
    expect(guaranteeOf(config, 'nobody', 'A100')).toBe(0);
  });
});

describe('classifyRunning', () => {
  it('marks the youngest jobs past the guarantee as borrowing, whatever the input order', () => {
    const jobs = [
      running(4, { project: 'B', startedAt: 40 }),
      running(1, { project: 'B', startedAt: 10 }),
      running(3, { project: 'B', startedAt: 30 }),
      running(2, { project: 'B', startedAt: 20 }),
    ];
    const standing = classifyRunning(jobs, config);
    expect([1, 2, 3, 4].map((id) => standing.get(id))).toEqual(['guaranteed', 'guaranteed', 'borrowing', 'borrowing']);
  });

  it('counts each GPU type against its own guarantee', () => {
    const jobs = [
      running(1, { project: 'B', gpus: 2, startedAt: 10 }),
      running(2, { project: 'B', gpuType: 'H100', startedAt: 20 }),
      running(3, { project: 'B', gpuType: 'H100', startedAt: 30 }),
    ];
    const standing = classifyRunning(jobs, config);
    expect([1, 2, 3].map((id) => standing.get(id))).toEqual(['guaranteed', 'guaranteed', 'borrowing']);
  });

  it('makes a job that crosses the guarantee, and every younger one, a borrower', () => {
    const jobs = [running(1, { project: 'A', startedAt: 1 }), running(2, { project: 'A', gpus: 2, startedAt: 2 }), running(3, { project: 'A', startedAt: 3 })];
    const standing = classifyRunning(jobs, config);
    expect([1, 2, 3].map((id) => standing.get(id))).toEqual(['guaranteed', 'borrowing', 'borrowing']);
  });

  it('gives a project without quota no guarantee', () => {
    expect(classifyRunning([running(1, { project: 'C' })], config).get(1)).toBe('borrowing');
  });
});

describe('mayStart', () => {
  it('allows a job within the guarantee without borrowing', () => {
    expect(mayStart(pending(9, { project: 'A', gpus: 2 }), [], config)).toEqual({ allowed: true, borrowing: false });
  });

  it('allows a preemptible job beyond the guarantee as a borrower', () => {
    const held = [running(1, { project: 'A', gpus: 2 })];
    expect(mayStart(pending(9, { project: 'A' }), held, config)).toEqual({ allowed: true, borrowing: true });
  });

  it('limits a non-preemptible job to the guarantee', () => {
    const held = [running(1, { project: 'A' })];
    expect(mayStart(pending(9, { project: 'A', preemptible: false }), held, config).allowed).toBe(true);
    const verdict = mayStart(pending(9, { project: 'A', gpus: 2, preemptible: false }), held, config);
    expect(verdict).toMatchObject({ allowed: false, code: 'NOT_PREEMPTIBLE_BEYOND_GUARANTEE' });
  });

  it('never lets a project or a user pass their GPU cap', () => {
    const held = [running(1, { project: 'A', gpus: 3, user: 'dave' })];
    expect(mayStart(pending(9, { project: 'A', gpus: 2 }), held, config)).toMatchObject({ allowed: false, code: 'PROJECT_GPU_CAP' });
    const carol = [running(1, { project: 'B', user: 'carol', gpus: 2 })];
    const verdict = mayStart(pending(9, { project: 'C', user: 'carol', gpus: 2 }), carol, config);
    expect(verdict).toMatchObject({ allowed: false, code: 'USER_GPU_CAP' });
    if (!verdict.allowed) expect(verdict.reason).toBe('user carol may hold at most 3 GPUs at once (2 held, job needs 2)');
  });
});

describe('QuotaLedger', () => {
  it('counts jobs started earlier in the same pass against the caps', () => {
    const ledger = new QuotaLedger(config, []);
    const first = pending(1, { project: 'C', user: 'carol', gpus: 2 });
    expect(ledger.check(first).allowed).toBe(true);
    ledger.add(first);
    expect(ledger.check(pending(2, { project: 'C', user: 'carol', gpus: 2 }))).toMatchObject({ code: 'USER_GPU_CAP' });
    expect(ledger.held('C', 'a100')).toBe(2);
  });
});

describe('mayQueue', () => {
  it('enforces the project and user queue caps', () => {
    const queued = [pending(1, { project: 'B' }), pending(2, { project: 'B' })];
    expect(mayQueue(pending(3, { project: 'B' }), queued, config)).toMatchObject({ allowed: false, code: 'PROJECT_QUEUE_CAP' });
    expect(mayQueue(pending(3, { project: 'A' }), queued, config).allowed).toBe(true);
    const carol = [pending(1, { user: 'carol', project: 'A' })];
    expect(mayQueue(pending(3, { user: 'carol', project: 'A' }), carol, config)).toMatchObject({ code: 'USER_QUEUE_CAP' });
  });
});
