// `stint sim` and `stint sim compare`: replay a job trace on a simulated cluster through the same
// scheduling code as the server (src/sim), and print the metrics (a table, or --json), optionally
// with an SVG plot. Runs in-process; needs no server.

import { existsSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { StintError } from '../core/errors.js';
import { parseClusterShape, parseQuotas, shapeForQuotas, DEFAULT_GPUS_PER_NODE, type ClusterShape, type TenantQuota } from '../sim/cluster-spec.js';
import type { RuntimeLimits } from '../sim/core-policies.js';
import type { SimResult } from '../sim/metrics.js';
import { plotSvg } from '../sim/plot.js';
import { parsePolicy, simulate, type PolicyName, type Simulation } from '../sim/simulate.js';
import { parseColumnMap, readTrace, TRACE_FORMATS, type Trace, type TraceFormat } from '../sim/trace.js';
import { readTextFile } from '../sim/trace-file.js';
import { table } from './format.js';

interface SimFlags {
  trace?: string;
  format: string;
  columns?: string;
  cluster?: string;
  quotas?: string;
  isolate?: boolean;
  limits: string;
  json?: boolean;
  plot?: string;
}

function withSimOptions(command: Command): Command {
  return command
    .option('--trace <file>', 'the job trace (plain or .gz)')
    .option('--format <format>', `trace format: ${TRACE_FORMATS.join(', ')}`, 'philly')
    .option('--columns <map>', 'for --format csv: submit=COL,duration=COL,gpus=COL[,tenant=COL][,user=COL]')
    .option('--cluster <spec>', 'NODESxGPUS (e.g. 352x8), or a quota file (the cluster is then the sum of the guarantees)')
    .option('--quotas <file>', 'per-tenant guaranteed GPUs (CSV "tenant,gpus" or "vc,node num"; YAML "tenant: gpus")')
    .option('--isolate', 'one cluster per tenant of --quotas (as Helios replays each Philly VC alone)')
    .option('--limits <kind>', 'what backfill knows of run times: oracle (the true duration) or none', 'oracle')
    .option('--json', 'print the metrics as JSON')
    .option('--plot <file>', 'write an SVG of queue length and utilisation over time');
}

export function registerSim(program: Command): void {
  withSimOptions(program.command('sim [mode]').description('replay a job trace on a simulated cluster with a scheduling policy; `stint sim compare` runs several side by side'))
    .option('--policy <name>', 'fifo, sjf, srtf, slurm or stint', 'stint')
    .option('--policies <names>', 'with compare: comma-separated policies', 'fifo,sjf,srtf,slurm,stint')
    .action((mode: string | undefined, flags: SimFlags & { policy: string; policies: string }) => {
      if (mode !== undefined && mode !== 'compare') {
        throw new StintError('INVALID_REQUEST', `stint sim: "${mode}" is not a sub-command; expected nothing or compare`, { value: mode });
      }
      if (mode === 'compare') {
        const names = flags.policies.split(',').map((name) => parsePolicy(name.trim(), '--policies'));
        run(flags, [...new Set(names)], true);
      } else run(flags, [parsePolicy(flags.policy)], false);
    });
}

interface Setup {
  trace: Trace;
  shape: ClusterShape;
  quotas: TenantQuota[] | null;
  limits: RuntimeLimits;
}

function parseLimits(text: string): RuntimeLimits {
  if (text === 'oracle' || text === 'none') return text;
  throw new StintError('INVALID_REQUEST', `--limits: "${text}" is not valid; expected oracle or none`, { field: '--limits', value: text });
}

function parseFormat(text: string): TraceFormat {
  if ((TRACE_FORMATS as readonly string[]).includes(text)) return text as TraceFormat;
  throw new StintError('INVALID_REQUEST', `--format: "${text}" is not valid; expected one of ${TRACE_FORMATS.join(', ')}`, { field: '--format', value: text });
}

function setup(flags: SimFlags): Setup {
  if (!flags.trace) throw new StintError('INVALID_REQUEST', '--trace is required: the job trace to replay', { field: '--trace' });
  const format = parseFormat(flags.format);
  const limits = parseLimits(flags.limits);
  const columns = flags.columns ? parseColumnMap(flags.columns) : undefined;
  const clusterIsFile = flags.cluster !== undefined && !/^\d+(x\d+)?$/.test(flags.cluster.trim());
  if (clusterIsFile && !existsSync(flags.cluster!)) {
    throw new StintError('INVALID_REQUEST', `--cluster: "${flags.cluster}" is neither NODESxGPUS (e.g. 352x8) nor an existing quota file`, { field: '--cluster', value: flags.cluster });
  }
  const quotaFile = flags.quotas ?? (clusterIsFile ? flags.cluster : undefined);
  if (!flags.cluster && !quotaFile) throw new StintError('INVALID_REQUEST', '--cluster is required: NODESxGPUS (e.g. 352x8) or a quota file', { field: '--cluster' });
  const explicitShape = flags.cluster && !clusterIsFile ? parseClusterShape(flags.cluster) : null;
  const gpusPerNode = explicitShape?.gpusPerNode ?? DEFAULT_GPUS_PER_NODE;
  const quotas = quotaFile ? parseQuotas(quotaFile, readTextFile(quotaFile, flags.quotas ? '--quotas' : '--cluster'), gpusPerNode) : null;
  const shape = explicitShape ?? shapeForQuotas(quotas!, gpusPerNode);
  if (flags.isolate && !quotas) throw new StintError('INVALID_REQUEST', '--isolate needs --quotas FILE: each tenant there gets its own cluster', { field: '--isolate' });
  const trace = readTrace(readTextFile(flags.trace, '--trace'), format, columns);
  return { trace, shape, quotas, limits };
}

export type SimOutput = SimResult & { badRows: number; skippedJobs: number };

function run(flags: SimFlags, policies: PolicyName[], compare: boolean): void {
  const { trace, shape, quotas, limits } = setup(flags);
  const runs: Simulation[] = policies.map((policy) => simulate({ jobs: trace.jobs, shape, quotas, isolate: flags.isolate === true, limits }, policy));
  const outputs: SimOutput[] = runs.map((r) => ({ ...r.result, badRows: trace.bad.length, skippedJobs: r.skipped.length }));
  if (trace.bad.length > 0) process.stderr.write(describeBad(trace) + '\n');
  const skipped = runs[0]?.skipped ?? [];
  if (skipped.length > 0) process.stderr.write(`${skipped.length} jobs not replayed: ${skipped.slice(0, 3).map((s) => `job ${s.id}: ${s.reason}`).join('; ')}${skipped.length > 3 ? '; ...' : ''}\n`);
  if (flags.plot) {
    const where = flags.isolate ? `${quotas!.length} isolated tenant clusters` : `${shape.nodes}x${shape.gpusPerNode}`;
    writeFileSync(flags.plot, plotSvg(runs.map((r, i) => ({ name: policies[i]!, samples: r.samples, capacity: r.capacity })), `${trace.jobs.length} jobs on ${where}`));
  }
  if (flags.json) process.stdout.write(JSON.stringify(compare ? outputs : outputs[0], null, 2) + '\n');
  else process.stdout.write(renderResults(outputs) + '\n');
}

export function describeBad(trace: Trace): string {
  const first = trace.bad.slice(0, 5).map((b) => `row ${b.row}: ${b.reason}`).join('; ');
  return `${trace.bad.length} bad rows skipped (${first}${trace.bad.length > 5 ? '; ...' : ''})`;
}

const fmt = (seconds: number) => Math.round(seconds).toLocaleString('en-US');

export function renderResults(results: readonly SimOutput[]): string {
  const rows = results.map((r) => [
    r.policy,
    String(r.jobs),
    fmt(r.avgJct),
    fmt(r.medianJct),
    fmt(r.avgQueueDelay),
    fmt(r.p50QueueDelay),
    fmt(r.p95QueueDelay),
    fmt(r.p99QueueDelay),
    fmt(r.makespan),
    `${(100 * r.utilization).toFixed(1)}%`,
    r.avgBoundedSlowdown.toFixed(2),
    r.jainIndex === null ? '-' : r.jainIndex.toFixed(3),
    r.seconds.toFixed(1),
  ]);
  const header = ['POLICY', 'JOBS', 'AVG JCT', 'MEDIAN JCT', 'AVG QUEUE', 'P50 QUEUE', 'P95 QUEUE', 'P99 QUEUE', 'MAKESPAN', 'UTIL', 'AVG BSLD', 'JAIN', 'SIM S'];
  return `${table(header, rows, { color: false })}\n(times in seconds; bounded slowdown with a 10 s threshold; JAIN over tenants, time-averaged)`;
}
