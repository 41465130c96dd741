// Accounting: who used what over a period — GPU-hours, jobs, attempts and queue waits per user or
// per project — from attempt records. Pure: the period's end (`until`) is passed in. GPU-hours
// count only the part of each attempt inside [since, until]; a job's wait is from submission to
// the placement of its first attempt, counted for jobs first placed inside the period.

export interface AttemptRecord {
  jobId: number;
  attempt: number;
  owner: string;
  project: string | null;
  gpus: number;
  submittedAt: number;
  startedAt: number;
  endedAt: number | null;
}

export type UsageGrouping = 'user' | 'project';

export interface UsageSummary {
  name: string;
  gpuHours: number;
  jobs: number;
  attempts: number;
  avgWaitSeconds: number | null;
  maxWaitSeconds: number | null;
}

const HOUR_MS = 3_600_000;
export const NO_PROJECT = '(none)';

export function summarizeUsage(records: readonly AttemptRecord[], by: UsageGrouping, since: number, until: number): UsageSummary[] {
  const groups = new Map<string, { gpuMs: number; jobs: Set<number>; attempts: number; waits: number[] }>();
  for (const record of records) {
    const overlap = Math.min(record.endedAt ?? until, until) - Math.max(record.startedAt, since);
    if (overlap <= 0 && !(record.startedAt >= since && record.startedAt <= until)) continue;
    const name = by === 'user' ? record.owner : (record.project ?? NO_PROJECT);
    let group = groups.get(name);
    if (!group) groups.set(name, (group = { gpuMs: 0, jobs: new Set(), attempts: 0, waits: [] }));
    group.gpuMs += record.gpus * Math.max(0, overlap);
    group.jobs.add(record.jobId);
    group.attempts += 1;
    if (record.attempt === 1 && record.startedAt >= since) group.waits.push((record.startedAt - record.submittedAt) / 1000);
  }
  return [...groups]
    .map(([name, g]) => ({
      name,
      gpuHours: Math.round((g.gpuMs / HOUR_MS) * 1000) / 1000,
      jobs: g.jobs.size,
      attempts: g.attempts,
      avgWaitSeconds: g.waits.length === 0 ? null : Math.round((g.waits.reduce((a, b) => a + b, 0) / g.waits.length) * 10) / 10,
      maxWaitSeconds: g.waits.length === 0 ? null : Math.round(Math.max(...g.waits) * 10) / 10,
    }))
    .sort((a, b) => b.gpuHours - a.gpuHours || a.name.localeCompare(b.name));
}
