// `npm run bench:sim`: replays the Philly trace (bench/traces/philly_pollux) with every policy —
// per virtual cluster at Helios' VC sizes (the Helios SC'21 set-up, Oct–Nov 2017), on one shared
// cluster with the VCs as tenants, and both again with every VC at 1/5 of its size so that jobs
// queue — then the whole 82k-job trace for the time budget. Writes bench/results/sim-philly.json
// and prints markdown tables (docs/simulator.md shows them). Seconds are wall time on this machine.

import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { parseQuotas, shapeForQuotas, type TenantQuota } from '../src/sim/cluster-spec.js';
import type { SimResult } from '../src/sim/metrics.js';
import { plotSvg } from '../src/sim/plot.js';
import { POLICIES, simulate, type Simulation } from '../src/sim/simulate.js';
import { readPhilly, type TraceJob } from '../src/sim/trace.js';
import { readTextFile } from '../src/sim/trace-file.js';

const REPO = resolve(import.meta.dirname, '..', '..');
const TRACES = join(REPO, 'bench', 'traces', 'philly_pollux');
const HELIOS = { fifo: { avgJct: 86_072, avgQueueDelay: 56_531 }, sjf: { avgJct: 34_272, avgQueueDelay: 4_731 }, srtf: { avgJct: 30_683, avgQueueDelay: 1_138 }, qssf: { avgJct: 37_324, avgQueueDelay: 7_783 } };
const SCALE = 5;

interface Scenario {
  name: string;
  what: string;
  jobs: readonly TraceJob[];
  quotas: TenantQuota[];
  isolate: boolean;
}

function scaled(quotas: readonly TenantQuota[], by: number): TenantQuota[] {
  return quotas.map((q) => ({ tenant: q.tenant, gpus: 8 * Math.max(1, Math.round(q.gpus / by / 8)) }));
}

function runScenario(s: Scenario): { scenario: string; what: string; gpus: number; jobsInTrace: number; skipped: number; results: SimResult[]; runs: Simulation[] } {
  const shape = shapeForQuotas(s.quotas, 8);
  const runs = POLICIES.map((policy) => simulate({ jobs: s.jobs, shape, quotas: s.quotas, isolate: s.isolate, limits: 'oracle' }, policy));
  for (const r of runs) process.stderr.write(`${s.name} ${r.result.policy}: ${r.result.seconds.toFixed(1)} s wall, ${r.result.cpuSeconds.toFixed(1)} s CPU\n`);
  return { scenario: s.name, what: s.what, gpus: shape.nodes * 8, jobsInTrace: s.jobs.length, skipped: runs[0]!.skipped.length, results: runs.map((r) => r.result), runs };
}

const n = (v: number) => Math.round(v).toLocaleString('en-US');
const j = (v: number | null) => (v === null ? '–' : v.toFixed(3));

function markdown(run: ReturnType<typeof runScenario>): string {
  const head = `### ${run.scenario}: ${run.what}\n${run.jobsInTrace} jobs, ${run.gpus} GPUs, ${run.skipped} jobs not replayed (larger than their cluster or of a VC without one).\n\n`;
  const rows = run.results.map((r) => `| ${r.policy} | ${n(r.avgJct)} | ${n(r.medianJct)} | ${n(r.avgQueueDelay)} | ${n(r.p95QueueDelay)} | ${n(r.p99QueueDelay)} | ${(100 * r.utilization).toFixed(1)}% | ${r.avgBoundedSlowdown.toFixed(2)} | ${j(r.jainIndex)} | ${j(r.jainIndexTotal)} | ${r.preemptions} | ${r.seconds.toFixed(1)} | ${r.cpuSeconds.toFixed(1)} |`);
  return head + ['| policy | avg JCT (s) | median JCT | avg queue (s) | p95 queue | p99 queue | util | avg bounded slowdown | Jain (time avg) | Jain (whole run) | preemptions | wall s | CPU s |', '|---|---|---|---|---|---|---|---|---|---|---|---|---|', ...rows].join('\n');
}

function heliosTable(run: ReturnType<typeof runScenario>): string {
  const rows = (['fifo', 'sjf', 'srtf'] as const).map((p) => {
    const ours = run.results.find((r) => r.policy === p)!;
    const ref = HELIOS[p];
    return `| ${p} | ${n(ours.avgJct)} | ${n(ref.avgJct)} | ${(ref.avgJct / ours.avgJct).toFixed(2)} | ${n(ours.avgQueueDelay)} | ${n(ref.avgQueueDelay)} |`;
  });
  return ['| policy | our avg JCT (s) | Helios avg JCT | Helios / ours | our avg queueing (s) | Helios avg queueing |', '|---|---|---|---|---|---|', ...rows, `| qssf | – | ${n(HELIOS.qssf.avgJct)} | – | – | ${n(HELIOS.qssf.avgQueueDelay)} |`].join('\n');
}

const began = performance.now();
const trace = readPhilly(readTextFile(join(TRACES, 'philly.csv.gz'), '--trace'));
const vcs = parseQuotas('philly_vc_sizes_from_HeliosArtifact.csv', readTextFile(join(TRACES, 'philly_vc_sizes_from_HeliosArtifact.csv'), '--quotas'));
const at = (iso: string) => Date.parse(iso) / 1000 - trace.epoch!;
const from = at('2017-10-01T00:00:00Z');
const to = at('2017-11-30T23:59:00Z');
const window = trace.jobs.filter((job) => job.submit >= from && job.submit <= to);
const small = scaled(vcs, SCALE);

const scenarios: Scenario[] = [
  { name: 'helios', what: 'each VC alone at its Helios size, Oct–Nov 2017 (the Helios set-up)', jobs: window, quotas: vcs, isolate: true },
  { name: 'shared', what: 'one shared cluster of all VCs (guarantee = VC size), Oct–Nov 2017', jobs: window, quotas: vcs, isolate: false },
  { name: 'helios-1/5', what: `each VC alone at 1/${SCALE} of its size, Oct–Nov 2017`, jobs: window, quotas: small, isolate: true },
  { name: 'shared-1/5', what: `one shared cluster, VC guarantees at 1/${SCALE} of their sizes, Oct–Nov 2017`, jobs: window, quotas: small, isolate: false },
  { name: 'whole-helios', what: 'the whole trace (Sep–Dec 2017), each VC alone at its Helios size', jobs: trace.jobs, quotas: vcs, isolate: true },
  { name: 'whole-shared-1/5', what: `the whole trace, one shared cluster at 1/${SCALE} size (the most queueing: the time budget's worst case)`, jobs: trace.jobs, quotas: small, isolate: false },
];
const runs = scenarios.map(runScenario);
const report = {
  trace: { file: 'bench/traces/philly_pollux/philly.csv.gz', jobs: trace.jobs.length, badRows: trace.bad.length, octNovJobs: window.length },
  limits: 'oracle',
  helios: HELIOS,
  scenarios: runs.map(({ runs: _, ...rest }) => rest),
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version, date: new Date().toISOString() },
  totalSeconds: (performance.now() - began) / 1000,
};
await mkdir(join(REPO, 'bench', 'results'), { recursive: true });
await writeFile(join(REPO, 'bench', 'results', 'sim-philly.json'), JSON.stringify(report, null, 2) + '\n');
const plotOf = runs.find((r) => r.scenario === 'shared-1/5')!;
await writeFile(join(REPO, 'bench', 'results', 'sim-philly-shared-1-5.svg'), plotSvg(plotOf.runs.map((r) => ({ name: r.result.policy, samples: r.samples, capacity: r.capacity })), `Philly Oct–Nov 2017, one shared cluster of ${plotOf.gpus} GPUs (VCs at 1/${SCALE})`));
process.stdout.write(`## Against Helios (per-VC, Oct–Nov 2017)\n\n${heliosTable(runs[0]!)}\n\n${runs.map(markdown).join('\n\n')}\n`);
