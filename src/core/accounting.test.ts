import { describe, expect, it } from 'vitest';
import { summarizeUsage, type AttemptRecord } from './accounting.js';

const H = 3_600_000;
const rec = (over: Partial<AttemptRecord>): AttemptRecord => ({ jobId: 1, attempt: 1, owner: 'ann', project: 'vision', gpus: 1, submittedAt: 0, startedAt: 0, endedAt: H, ...over });

describe('summarizeUsage', () => {
  it('counts GPU-hours inside the period only, per user and per project', () => {
    const records = [
      rec({ jobId: 1, gpus: 2, startedAt: 0, endedAt: 2 * H }), // 1 h inside [1h, 10h]: 2 GPU-h
      rec({ jobId: 2, owner: 'bob', project: null, gpus: 4, submittedAt: 2 * H, startedAt: 3 * H, endedAt: null }), // running: 7 h × 4
      rec({ jobId: 3, gpus: 1, startedAt: 11 * H, endedAt: 12 * H }), // after the period
    ];
    expect(summarizeUsage(records, 'user', H, 10 * H)).toEqual([
      { name: 'bob', gpuHours: 28, jobs: 1, attempts: 1, avgWaitSeconds: 3600, maxWaitSeconds: 3600 },
      { name: 'ann', gpuHours: 2, jobs: 1, attempts: 1, avgWaitSeconds: null, maxWaitSeconds: null },
    ]);
    expect(summarizeUsage(records, 'project', H, 10 * H).map((r) => r.name)).toEqual(['(none)', 'vision']);
  });

  it('counts a retried job once, its attempts each, and its wait from the first placement', () => {
    const records = [rec({ jobId: 7, attempt: 1, submittedAt: 0, startedAt: 60_000, endedAt: H }), rec({ jobId: 7, attempt: 2, startedAt: 2 * H, endedAt: 3 * H })];
    expect(summarizeUsage(records, 'user', 0, 4 * H)).toEqual([{ name: 'ann', gpuHours: 1.983, jobs: 1, attempts: 2, avgWaitSeconds: 60, maxWaitSeconds: 60 }]);
  });
});
