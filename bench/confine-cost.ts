// Benchmark: what confining every local job costs (issue 12: a cgroup per attempt with memory,
// CPU, pids and device limits, its own mount namespace, the cgroup emptied and removed at the
// end). The same server runs with and without `--no-confine`, alternating, twice each, so the
// machine's drift shows as the spread between runs of one mode rather than as a difference.
// Meaningful only as root (a non-root server cannot confine and both modes are the same).

import { benchLatency } from './latency.js';
import { round } from './server.js';
import { benchThroughput } from './throughput.js';

interface Run {
  mode: 'confined' | 'unconfined';
  submitToRunningP50Ms: unknown;
  submitToRunningP99Ms: unknown;
  submissionsPerSec: unknown;
  endToEndJobsPerSec: unknown;
}

async function once(mode: Run['mode']): Promise<Run> {
  const args = mode === 'confined' ? [] : ['--no-confine'];
  const latency = await benchLatency(200, args);
  const throughput = await benchThroughput(1000, 32, args);
  return {
    mode,
    submitToRunningP50Ms: latency.p50Ms,
    submitToRunningP99Ms: latency.p99Ms,
    submissionsPerSec: throughput.submissionsPerSec,
    endToEndJobsPerSec: throughput.endToEndJobsPerSec,
  };
}

export async function benchConfineCost(): Promise<Record<string, unknown>> {
  const runs: Run[] = [];
  for (let round = 0; round < 2; round++) {
    runs.push(await once('unconfined'));
    runs.push(await once('confined'));
  }
  const median = (mode: Run['mode'], key: keyof Omit<Run, 'mode'>): number => {
    const values = runs.filter((r) => r.mode === mode).map((r) => Number(r[key])).sort((a, b) => a - b);
    return (values[0]! + values[values.length - 1]!) / 2;
  };
  const ratio = (key: keyof Omit<Run, 'mode'>) => round(median('confined', key) / median('unconfined', key), 2);
  return {
    bench: 'confine_cost',
    root: process.getuid?.() === 0,
    runs,
    confinedOverUnconfined: {
      submitToRunningP50: ratio('submitToRunningP50Ms'),
      submissions: ratio('submissionsPerSec'),
      endToEnd: ratio('endToEndJobsPerSec'),
    },
  };
}
