// `stint job ID`: one job in full: state and why, resources, GPUs, times, attempts, events. Of an
// exported environment (--export-env) only the count is shown; the server never returns values.

import type { Command } from 'commander';
import { connect } from '../api/client.js';
import type { JobDetailView } from '../api/schemas.js';
import { renderTelemetry } from './telemetry.js';
import { clientConfig } from '../config.js';
import { elapsed, paint, paintState, relativeTime, table, type Style } from './format.js';
import { parseJobId } from './options.js';
import { safeField } from './terminal-safe.js';

export function registerJob(program: Command): void {
  program
    .command('job')
    .argument('<id>', 'job id')
    .description('show one job: state, why it waits or how it ended, attempts and events')
    .option('--json', 'print the job as JSON')
    .action(async (id: string, flags: { json?: boolean }) => {
      const config = clientConfig();
      const client = connect(config);
      const job = await client.getJob(parseJobId(id));
      if (flags.json) {
        process.stdout.write(JSON.stringify(job, null, 2) + '\n');
        return;
      }
      // GPU telemetry is extra: a server without it (or an error) leaves the rest of the job shown.
      const telemetry = await client.jobTelemetry(job.id).catch(() => null);
      const gpuUse = telemetry ? renderTelemetry(telemetry) : '';
      process.stdout.write(renderJob(job, Date.now(), { color: config.color }) + (gpuUse ? `\n\n${gpuUse}` : '') + '\n');
    });
}

export function renderJob(job: JobDetailView, now: number, style: Style): string {
  const lines: Array<[string, string]> = [
    ['Job', `${job.id}${job.name ? ` (${job.name})` : ''}`],
    ['State', `${paintState(style, job.state)}${job.reason ? ` — ${job.reason}` : ''}`],
  ];
  if (job.state === 'PENDING') {
    lines.push(['Waiting', job.waitReason ?? 'for the next scheduling pass']);
    if (job.estimatedStartAt) lines.push(['Expected start', `${relativeTime(job.estimatedStartAt, now)} (${job.estimatedStartAt})`]);
  }
  lines.push(
    ['Owner', job.owner + (job.project ? ` / ${job.project}` : '')],
    ['Resources', job.resources],
    ['Priority', describePriority(job)],
    ['Max runtime', job.maxRuntimeSeconds === null ? 'none' : `${job.maxRuntimeSeconds} s`],
    ['Backend', job.backend ? `${job.backend}${job.node ? ` on ${job.node}` : ''}` : '-'],
    ['GPUs', job.gpus.length > 0 ? job.gpus.join(', ') : '-'],
    ['Submitted', `${relativeTime(job.submittedAt, now)} (${job.submittedAt})`],
    ['Started', job.startedAt ? `${relativeTime(job.startedAt, now)} (${job.startedAt})` : '-'],
    ['Ended', job.endedAt ? `${relativeTime(job.endedAt, now)} (${job.endedAt})` : '-'],
    ['Runtime', elapsed(job.startedAt, job.endedAt, now)],
    ['Exit code', job.exitCode === null ? '-' : `${job.exitCode}${job.signal ? ` (${job.signal})` : ''}`],
    ['Attempt', String(job.attempt)],
  );
  const exported = job.spec.exportedEnvCount;
  if (typeof exported === 'number' && exported > 0) lines.push(['Exported env', `${exported} variable${exported === 1 ? '' : 's'} of the submitter's environment (values not shown)`]);
  const images = job.attempts.filter((a) => a.image);
  for (const a of images) lines.push([images.length === 1 ? 'Image' : `Image #${a.attempt}`, `${a.image!.ref} (${a.image!.digest})`]);
  const log = job.attempts.find((a) => a.attempt === job.attempt)?.logPath;
  if (log) lines.push(['Log file', log]);
  const width = Math.max(...lines.map(([k]) => k.length));
  const head = lines.map(([k, v]) => `${paint(style, 'bold', k.padEnd(width))}  ${safeField(v)}`).join('\n');
  const events = table(
    ['WHEN', 'FROM', 'TO', 'REASON'],
    job.events.map((e) => [relativeTime(e.at, now), e.from ?? '-', paintState(style, e.to), e.reason]),
    style,
  );
  const attempts = job.attempts.length === 0 ? '' : '\n\n' + table(
    ['ATTEMPT', 'NODE', 'GPUS', 'STARTED', 'ENDED', 'EXIT', 'END'],
    job.attempts.map((a) => [String(a.attempt), a.node ?? '-', a.gpus.join(',') || '-', relativeTime(a.startedAt, now), relativeTime(a.endedAt, now), a.exitCode === null ? '-' : String(a.exitCode), a.endReason ?? '-']),
    style,
  );
  return `${head}\n\n${events}${attempts}`;
}

/** "12034 (fair share 0.50, age 0.01, explicit 0.50 from priority 0, size 0.25)" for a pending job. */
function describePriority(job: JobDetailView): string {
  const f = job.priorityFactors;
  if (job.priorityScore === null || f === null) return `${job.priority} (explicit)`;
  const n = (x: number) => x.toFixed(2);
  return `${Math.round(job.priorityScore)} (fair share ${n(f.fairShare)}, age ${n(f.age)}, explicit ${n(f.explicit)} from priority ${job.priority}, size ${n(f.size)})`;
}
