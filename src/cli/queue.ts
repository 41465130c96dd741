// `stint queue` (alias `status`): the jobs in the queue, why each pending one waits, and when it
// should start. Invariant: every job that matches is shown; the list is read page by page
// (newest first, each page below the lowest id seen), never cut at the server's page size.

import type { Command } from 'commander';
import { connect, type StintClient } from '../api/client.js';
import type { JobView } from '../api/schemas.js';
import { clientConfig } from '../config.js';
import { elapsed, paintState, relativeTime, table, type Style } from './format.js';

export function registerQueue(program: Command): void {
  program
    .command('queue')
    .alias('status')
    .description('show the queue: active jobs (--all: finished ones too)')
    .option('-a, --all', 'include finished jobs')
    .option('--json', 'print the jobs as a JSON array')
    .action(async (flags: { all?: boolean; json?: boolean }) => {
      const config = clientConfig();
      const jobs = await allJobs(connect(config), flags.all ?? false);
      if (flags.json) {
        process.stdout.write(JSON.stringify(jobs, null, 2) + '\n');
        return;
      }
      process.stdout.write(renderQueue(jobs, Date.now(), { color: config.color }) + '\n');
    });
}

const PAGE = 1000;

/** Every matching job, read in pages of 1,000 by id (new submissions cannot shift the pages). */
async function allJobs(client: StintClient, all: boolean): Promise<JobView[]> {
  const jobs: JobView[] = [];
  let before: number | undefined;
  for (;;) {
    const page = (await client.listJobs({ all, limit: PAGE, before })).jobs;
    jobs.push(...page);
    if (page.length < PAGE) return jobs;
    before = Math.min(...page.map((j) => j.id));
  }
}

export function renderQueue(jobs: readonly JobView[], now: number, style: Style): string {
  if (jobs.length === 0) return 'no jobs in the queue (stint queue --all shows finished ones)';
  const ordered = [...jobs].sort((a, b) => a.id - b.id);
  const rows = ordered.map((job) => [
    String(job.id),
    job.name ?? '-',
    job.owner,
    paintState(style, job.state),
    describePriority(job),
    job.resources,
    job.gpus.length > 0 ? job.gpus.join(',') : '-',
    relativeTime(job.submittedAt, now),
    elapsed(job.startedAt, job.endedAt, now),
    describeWhy(job),
  ]);
  return table(['ID', 'NAME', 'USER', 'STATE', 'PRIO', 'RESOURCES', 'GPUS', 'SUBMITTED', 'RUNTIME', 'REASON'], rows, style);
}

/** "12034 fs.50 a.01 p.50 s.25" for a pending job: the score and its factors (fair share, age, priority, size). */
function describePriority(job: JobView): string {
  const f = job.priorityFactors;
  if (job.priorityScore === null || f === null) return '-';
  const n = (x: number) => x.toFixed(2).replace(/^0/, '');
  return `${Math.round(job.priorityScore)} fs${n(f.fairShare)} a${n(f.age)} p${n(f.explicit)} s${n(f.size)}`;
}

function describeWhy(job: JobView): string {
  if (job.state === 'PENDING') return job.waitReason ?? 'waiting for the next scheduling pass';
  // Handed to an engine that places work (Slurm): its own reason for holding the job.
  if (job.state === 'STARTING' && job.waitReason) return job.waitReason;
  if (job.state === 'FAILED' || job.state === 'SUCCEEDED') {
    return job.exitCode === null ? (job.reason ?? '') : `exit ${job.exitCode}${job.reason && !job.reason.startsWith('exit code') ? `: ${job.reason}` : ''}`;
  }
  return job.onBorrowedGpus ? `${job.reason ?? ''} (on borrowed GPUs: preemptible)` : (job.reason ?? '');
}
