// Builders of quota inputs for tests and the simulation: running and pending jobs with defaults.
// Always: builders return fresh objects and use no clock or global random.

import type { QuotaPendingJob, QuotaRunningJob } from './types.js';

export const MINUTE = 60_000;

export function running(id: number, fields: Partial<QuotaRunningJob> = {}): QuotaRunningJob {
  return {
    id,
    user: 'u',
    project: 'p',
    gpuType: 'A100',
    gpus: 1,
    node: 'n1',
    startedAt: 0,
    preemptible: true,
    priority: 0,
    ...fields,
  };
}

export function pending(id: number, fields: Partial<QuotaPendingJob> = {}): QuotaPendingJob {
  return {
    id,
    user: 'u',
    project: 'p',
    gpuType: 'A100',
    gpus: 1,
    priority: 0,
    submittedAt: 0,
    preemptible: true,
    ...fields,
  };
}
