// `stint sim` as a user runs it: the built bin/stint on a small CSV trace (dist/ must be built).
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO, STINT_BIN } from './helpers/server.js';

let dir: string;
let trace: string;

function stint(args: string[]) {
  const result = spawnSync(process.execPath, [STINT_BIN, ...args], { cwd: REPO, env: { PATH: process.env.PATH, HOME: process.env.HOME }, encoding: 'utf8', timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stint-sim-'));
  trace = join(dir, 'trace.csv');
  // one node of 2 GPUs; row 5 is bad (0 GPUs)
  await writeFile(trace, 'at,secs,n,team\n0,100,2,a\n10,50,1,b\n20,5,1,b\n30,10,0,a\n');
});

const KEYS = ['policy', 'jobs', 'avgJct', 'medianJct', 'avgQueueDelay', 'p50QueueDelay', 'p95QueueDelay', 'p99QueueDelay', 'makespan', 'utilization', 'avgBoundedSlowdown', 'jainIndex', 'tenants'];
const base = () => ['--trace', trace, '--format', 'csv', '--columns', 'submit=at,duration=secs,gpus=n,tenant=team', '--cluster', '1x2'];

describe('stint sim', () => {
  it('--json prints one object with every metric and reports the bad row', () => {
    const out = stint(['sim', ...base(), '--policy', 'fifo', '--json']);
    expect(out.code).toBe(0);
    const result = JSON.parse(out.stdout) as Record<string, unknown>;
    for (const key of KEYS) expect(result).toHaveProperty(key);
    expect(result.policy).toBe('fifo');
    expect(result.jobs).toBe(3);
    expect(result.makespan).toBe(150);
    expect(result.badRows).toBe(1);
    expect(Object.keys(result.tenants as object).sort()).toEqual(['a', 'b']);
    expect((result.tenants as Record<string, Record<string, number>>).a).toEqual(expect.objectContaining({ gpuSeconds: 200 }));
    expect(out.stderr).toMatch(/1 bad rows skipped \(row 5: GPUs must be a whole number/);
  });

  it('compare --json prints an array, one object per policy, and writes the plot', async () => {
    const plot = join(dir, 'out.svg');
    const out = stint(['sim', 'compare', ...base(), '--policies', 'fifo,sjf,srtf,slurm,stint', '--json', '--plot', plot]);
    expect(out.code).toBe(0);
    const results = JSON.parse(out.stdout) as { policy: string }[];
    expect(results.map((r) => r.policy)).toEqual(['fifo', 'sjf', 'srtf', 'slurm', 'stint']);
    const svg = await readFile(plot, 'utf8');
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain('GPUs busy (%)');
    expect(svg).toContain('>stint</text>');
  });

  it('prints a table without --json', () => {
    const out = stint(['sim', ...base(), '--policy', 'sjf']);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/POLICY\s+JOBS\s+AVG JCT/);
    expect(out.stdout).toMatch(/^sjf\s+3\s/m);
  });

  it('a bad flag names the flag, the value and what is accepted', () => {
    const policy = stint(['sim', ...base(), '--policy', 'lottery']);
    expect(policy.code).toBe(2);
    expect(policy.stderr).toContain('--policy: "lottery" is not a policy; expected one of fifo, sjf, srtf, slurm, stint');
    const cluster = stint(['sim', '--trace', trace, '--cluster', '2by8']);
    expect(cluster.code).toBe(2);
    expect(cluster.stderr).toContain('--cluster: "2by8" is neither NODESxGPUS (e.g. 352x8) nor an existing quota file');
    const format = stint(['sim', ...base(), '--format', 'xml']);
    expect(format.code).toBe(2);
    expect(format.stderr).toContain('--format: "xml" is not valid; expected one of philly, dirlab, csv');
  });
});
