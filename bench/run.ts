// `npm run bench`: runs every benchmark of issue 2 against real server processes, prints each
// result and writes bench/results/<name>.json. Numbers are medians/percentiles of one run on
// whatever machine runs it; compare ratios from the same run, not absolute values across machines.

import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { benchConfineCost } from './confine-cost.js';
import { benchLatency } from './latency.js';
import { benchMemory } from './memory.js';
import { REPO } from './server.js';
import { benchThroughput } from './throughput.js';

const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version, date: new Date().toISOString() };

async function save(name: string, result: Record<string, unknown>): Promise<void> {
  const dir = join(REPO, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const withMachine = { ...result, machine };
  await writeFile(join(dir, `${name}.json`), JSON.stringify(withMachine, null, 2) + '\n');
  process.stdout.write(JSON.stringify(result) + '\n');
}

const only = process.argv[2];
const benches: Record<string, () => Promise<Record<string, unknown>>> = {
  latency: () => benchLatency(),
  throughput: () => benchThroughput(),
  memory: () => benchMemory(),
  // Not in the default run (about 4 minutes): `npm run bench -- confine-cost`.
  'confine-cost': () => benchConfineCost(),
  schedule: async () => JSON.parse(execFileSync(process.execPath, [join(REPO, 'dist', 'bench', 'policy.js')], { encoding: 'utf8' }).trim().split('\n').pop()!),
};
for (const [name, run] of Object.entries(benches)) {
  if (only ? only !== name : name === 'confine-cost') continue;
  await save(name, await run());
}
