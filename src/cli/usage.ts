// `stint usage`: who used what — GPU-hours, jobs and queue waits per user or project.

import type { Command } from 'commander';
import { connect } from '../api/client.js';
import type { UsageReport } from '../api/schemas.js';
import { clientConfig } from '../config.js';
import { StintError } from '../core/errors.js';
import { humanDuration, table, type Style } from './format.js';

export function registerUsage(program: Command): void {
  program
    .command('usage')
    .description('GPU-hours, jobs and queue waits per user or project')
    .option('--by <grouping>', 'user or project', 'user')
    .option('--since <when>', 'a duration (30d, 12h) or an ISO date', '30d')
    .option('--json', 'print the report as JSON')
    .action(async (flags: { by: string; since: string; json?: boolean }) => {
      if (flags.by !== 'user' && flags.by !== 'project') {
        throw new StintError('INVALID_REQUEST', `--by: "${flags.by}" is not valid; expected user or project`, { field: '--by' });
      }
      const config = clientConfig();
      const report = await connect(config).usage({ by: flags.by, since: flags.since });
      process.stdout.write((flags.json ? JSON.stringify(report, null, 2) : renderUsage(report, { color: config.color })) + '\n');
    });
}

export function renderUsage(report: UsageReport, style: Style): string {
  const header = `Usage by ${report.by} from ${report.since} to ${report.until}`;
  if (report.rows.length === 0) return `${header}\nno GPU time used in this period`;
  const wait = (s: number | null) => (s === null ? '-' : humanDuration(s));
  const rows = report.rows.map((r) => [r.name, r.gpuHours.toFixed(2), (r.idleGpuHours ?? 0).toFixed(2), String(r.jobs), String(r.attempts), wait(r.avgWaitSeconds), wait(r.maxWaitSeconds)]);
  return `${header}\n${table([report.by.toUpperCase(), 'GPU-HOURS', 'IDLE GPU-HOURS', 'JOBS', 'ATTEMPTS', 'AVG WAIT', 'MAX WAIT'], rows, style)}`;
}
